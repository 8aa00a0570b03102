// The pool of pre-started sandboxes as bookkeeping, with instance ids as fake stems (no
// sandbox), and the hard links that give a taken stem its code.
#include "engine/stem_pool.h"

#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <future>

namespace surge::engine {
namespace {

using common::Runtime;

const StemKey kPython128{Runtime::kPython3, 128, false};
const StemKey kNode128{Runtime::kNodejs, 128, false};
const StemKey kPython128Network{Runtime::kPython3, 128, true};

TEST(StemPool, SizesComeFromTheRuntimesEntryElseTheDefaultAndNeverForCustomOrADisabledPool) {
  StemPool pool(true, 2, {{Runtime::kNodejs, 1}, {Runtime::kPython3, -3}});
  EXPECT_EQ(pool.sizeFor(Runtime::kNodejs), 1);
  EXPECT_EQ(pool.sizeFor(Runtime::kPython3), 0); // less than 0 keeps none
  EXPECT_EQ(pool.sizeFor(Runtime::kCustom), 0);
  StemPool disabled(false, 2, {});
  EXPECT_EQ(disabled.sizeFor(Runtime::kPython3), 0);
  EXPECT_EQ(disabled.reserveLaunches(kPython128), 0);
}

TEST(StemPool, LaunchesOnlyWhatIsMissingCountingThoseStillLaunching) {
  StemPool pool(true, 3, {});
  EXPECT_EQ(pool.reserveLaunches(kPython128), 3);
  EXPECT_EQ(pool.reserveLaunches(kPython128), 0); // three on their way
  EXPECT_TRUE(pool.join(kPython128, 10));
  EXPECT_EQ(pool.reserveLaunches(kPython128), 0); // one ready, two launching
  pool.uncountLaunch(kPython128);                 // one died while loading
  EXPECT_EQ(pool.reserveLaunches(kPython128), 1);
  EXPECT_EQ(pool.reserveLaunches(kNode128), 3); // kinds are counted apart
}

TEST(StemPool, TakesTheOldestReadyStemOfTheRightKindAndCountsItOut) {
  StemPool pool(true, 2, {});
  ASSERT_EQ(pool.reserveLaunches(kPython128), 2);
  ASSERT_EQ(pool.reserveLaunches(kNode128), 2);
  EXPECT_TRUE(pool.join(kPython128, 1));
  EXPECT_TRUE(pool.join(kPython128, 2));
  EXPECT_TRUE(pool.join(kNode128, 3));
  EXPECT_EQ(pool.readyCount(kPython128), 2u);
  EXPECT_EQ(pool.take(kPython128), InstanceId{1});
  EXPECT_EQ(pool.readyCount(kPython128), 1u);
  EXPECT_EQ(pool.reserveLaunches(kPython128), 1); // the taken one's replacement
  EXPECT_EQ(pool.take(kPython128), InstanceId{2});
  EXPECT_EQ(pool.take(kPython128), std::nullopt);
  EXPECT_EQ(pool.take(StemKey{Runtime::kPython3, 256, false}), std::nullopt);
  EXPECT_EQ(pool.readyCount(kNode128), 1u);
}

TEST(StemPool, RemoveTakesOutOneStemAndIgnoresOneThatIsNotThere) {
  StemPool pool(true, 2, {});
  ASSERT_EQ(pool.reserveLaunches(kPython128), 2);
  EXPECT_TRUE(pool.join(kPython128, 1));
  EXPECT_TRUE(pool.join(kPython128, 2));
  pool.remove(kPython128, 1);
  pool.remove(kPython128, 7);
  EXPECT_EQ(pool.readyCount(kPython128), 1u);
  EXPECT_EQ(pool.take(kPython128), InstanceId{2});
}

TEST(StemPool, NetworkStemsAreKeptOnlyForTheWantedKindsAndUnwantedOnesAreHandedBack) {
  StemPool pool(true, 2, {});
  EXPECT_FALSE(pool.wanted(kPython128Network));
  EXPECT_TRUE(pool.wanted(kPython128));
  EXPECT_EQ(pool.reserveLaunches(kPython128Network), 0);
  EXPECT_TRUE(pool.setNetworkKinds({{Runtime::kPython3, 128}}).empty());
  EXPECT_TRUE(pool.wanted(kPython128Network));
  EXPECT_FALSE(pool.wanted(StemKey{Runtime::kPython3, 256, true}));
  ASSERT_EQ(pool.reserveLaunches(kPython128Network), 2);
  EXPECT_TRUE(pool.join(kPython128Network, 5));
  ASSERT_EQ(pool.reserveLaunches(kPython128), 2);
  EXPECT_TRUE(pool.join(kPython128, 8));

  // The kind goes: the ready one is handed back to be retired, the one still loading is refused
  // when it says LOADED.
  EXPECT_EQ(pool.setNetworkKinds({}), std::vector<InstanceId>{5});
  EXPECT_EQ(pool.readyCount(kPython128Network), 0u);
  EXPECT_FALSE(pool.join(kPython128Network, 6));
  EXPECT_EQ(pool.readyCount(kPython128Network), 0u);
  EXPECT_EQ(pool.reserveLaunches(kPython128Network), 0);
  EXPECT_EQ(pool.readyCount(kPython128), 1u); // stems without network stay
}

TEST(StemPool, WaitReadyWakesWhenAnotherThreadsStemJoins) {
  StemPool pool(true, 1, {});
  ASSERT_EQ(pool.reserveLaunches(kPython128), 1);
  EXPECT_FALSE(pool.waitReady(kPython128, 1, std::chrono::milliseconds(1)));
  auto waiter =
      std::async(std::launch::async, [&pool] { return pool.waitReady(kPython128, 1, std::chrono::seconds(30)); });
  EXPECT_TRUE(pool.join(kPython128, 1));
  EXPECT_TRUE(waiter.get());
}

TEST(LinkTree, MirrorsTheTreeWithHardLinksToTheSameFiles) {
  testing::TempDir dir;
  const auto source = dir.path() / "code";
  const auto target = dir.path() / "stem";
  std::filesystem::create_directories(source / "lib");
  std::filesystem::create_directory(target);
  std::ofstream(source / "handler.py") << "def handler(e, c): return e\n";
  std::ofstream(source / "lib" / "util.py") << "X = 1\n";
  ASSERT_TRUE(linkTree(source, target).ok());
  EXPECT_TRUE(std::filesystem::is_directory(target / "lib"));
  EXPECT_TRUE(std::filesystem::equivalent(source / "handler.py", target / "handler.py"));
  EXPECT_TRUE(std::filesystem::equivalent(source / "lib" / "util.py", target / "lib" / "util.py"));
}

TEST(LinkTree, AMissingSourceSaysWhichCodeCouldNotBePrepared) {
  testing::TempDir dir;
  const auto status = linkTree(dir.path() / "missing", dir.path());
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("cannot prepare the code of " + (dir.path() / "missing").string()), std::string::npos)
      << status;
}

TEST(FewEntries, CountsFilesAndFoldersBelowTheFolderUpToTheLimit) {
  testing::TempDir dir;
  std::filesystem::create_directory(dir.path() / "a");
  std::ofstream(dir.path() / "a" / "b") << "b";
  std::ofstream(dir.path() / "c") << "c";
  EXPECT_TRUE(fewEntries(dir.path(), 3));
  EXPECT_FALSE(fewEntries(dir.path(), 2));
  EXPECT_FALSE(fewEntries(dir.path() / "missing", 16)); // unreadable: not few
}

} // namespace
} // namespace surge::engine
