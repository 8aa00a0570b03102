// The file-system vocabulary: new folders are new, trees go even when read-only.
#include "common/files.h"

#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace surge::common {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr auto kMode = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                       fs::perms::others_exec;

TEST(Files, MakeNewDirectoryRefusesAnyExistingNameAndSetsTheModeWhateverTheUmask) {
  testing::TempDir dir;
  const fs::path fresh = dir.path() / "fresh";
  const mode_t old = ::umask(077);
  EXPECT_TRUE(makeNewDirectory(fresh, kMode).ok());
  ::umask(old);
  EXPECT_EQ(fs::status(fresh).permissions() & fs::perms::mask, kMode);

  std::ofstream(fresh / "left-over") << "another function's code";
  const absl::Status again = makeNewDirectory(fresh, kMode);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(again.message()), HasSubstr("already exists"));
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_EQ(makeNewDirectory(dir.path() / "file", kMode).code(), absl::StatusCode::kAlreadyExists);
  fs::create_symlink(dir.path() / "elsewhere", dir.path() / "link");
  EXPECT_EQ(makeNewDirectory(dir.path() / "link", kMode).code(), absl::StatusCode::kAlreadyExists)
      << "a dangling link is a name too";
}

TEST(Files, ClearDirectoryRemovesEverythingInsideAlsoReadOnlyTreesAndKeepsTheFolder) {
  testing::TempDir dir;
  const fs::path root = dir.path() / "sandboxes";
  fs::create_directories(root / "i-1" / "code" / "lib");
  std::ofstream(root / "i-1" / "code" / "lib" / "x.py") << "x";
  fs::permissions(root / "i-1" / "code" / "lib", fs::perms::owner_read | fs::perms::owner_exec);
  fs::permissions(root / "i-1" / "code", fs::perms::owner_read | fs::perms::owner_exec);
  std::ofstream(root / "loose-file") << "y";
  ASSERT_TRUE(clearDirectory(root).ok());
  EXPECT_TRUE(fs::is_directory(root));
  EXPECT_TRUE(fs::is_empty(root));
  EXPECT_TRUE(clearDirectory(dir.path() / "missing").ok());
}

TEST(Files, RemoveTreeOrWarnRemovesReadOnlyTreesAndIgnoresMissingOnes) {
  testing::TempDir dir;
  const fs::path code = dir.path() / "code" / "abc";
  fs::create_directories(code / "lib");
  std::ofstream(code / "lib" / "x.py") << "x";
  fs::permissions(code / "lib", fs::perms::owner_read | fs::perms::owner_exec);
  fs::permissions(code, fs::perms::owner_read | fs::perms::owner_exec);
  removeTreeOrWarn(code);
  EXPECT_FALSE(fs::exists(code));
  EXPECT_TRUE(fs::is_directory(dir.path() / "code"));
  removeTreeOrWarn(dir.path() / "missing");
}

TEST(Files, CheckPassableByAnyoneNamesTheFirstFolderThatKeepsOthersOut) {
  testing::TempDir dir;
  fs::create_directories(dir.path() / "a" / "b");
  fs::permissions(dir.path(), fs::perms(0755));
  fs::permissions(dir.path() / "a", fs::perms(0700));
  const absl::Status closed = checkPassableByAnyone(dir.path() / "a" / "b" / "not-yet");
  EXPECT_EQ(closed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(closed.message()), HasSubstr((dir.path() / "a").string() + " is mode 0700"));
  EXPECT_THAT(std::string(closed.message()), HasSubstr("chmod o+x"));
  fs::permissions(dir.path() / "a", fs::perms(0711));
  EXPECT_TRUE(checkPassableByAnyone(dir.path() / "a" / "b" / "not-yet").ok());
}

} // namespace
} // namespace surge::common
