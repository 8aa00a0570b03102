// UidBlock: host-wide uid blocks, claimed by flock in a lock folder, clear of the host's ids.
#include "engine/uid_block.h"

#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace surge::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(UidBlock, TwoClaimsGetDisjointBlocksAndAReleasedBlockIsFreeAgain) {
  testing::TempDir dir;
  auto first = UidBlock::claim("first", dir.path(), HostIds{});
  auto second = UidBlock::claim("second", dir.path(), HostIds{});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*first)->first(), UidBlock::kFirstUid);
  EXPECT_EQ((*second)->first(), UidBlock::kFirstUid + UidBlock::kBlockSize);
  const int released = (*first)->index();
  first->reset();
  auto third = UidBlock::claim("third", dir.path(), HostIds{});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ((*third)->index(), released);
}

TEST(UidBlock, SkipsBlocksThatOverlapTheHostsIds) {
  testing::TempDir dir;
  HostIds host;
  host.subordinateRanges.push_back({UidBlock::kFirstUid + 10, 65536}); // inside block 0
  host.ids.push_back(UidBlock::kFirstUid + UidBlock::kBlockSize + 5);  // a passwd uid in block 1
  auto block = UidBlock::claim("test", dir.path(), host);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ((*block)->index(), 2);
}

TEST(UidBlock, ReadsSubordinateRangesAndPasswdAndGroupIds) {
  testing::TempDir etc;
  std::ofstream(etc.path() / "subuid") << "alice:100000:65536\n";
  std::ofstream(etc.path() / "subgid") << "# comment\nalice:100000:65536\nbob:1879048192:10\n";
  std::ofstream(etc.path() / "passwd") << "root:x:0:0:root:/root:/bin/bash\nodd:x:1879050000:1:::\n";
  std::ofstream(etc.path() / "group") << "root:x:0:\n";
  const HostIds host = HostIds::read(etc.path());
  EXPECT_TRUE(host.overlaps(165535, 1));
  EXPECT_FALSE(host.overlaps(165536, 1));
  EXPECT_TRUE(host.overlaps(UidBlock::kFirstUid, UidBlock::kBlockSize)) << "bob's subgid range";
  EXPECT_TRUE(host.overlaps(1879050000, 1)) << "a passwd uid";
  EXPECT_FALSE(host.overlaps(UidBlock::kFirstUid + UidBlock::kBlockSize, UidBlock::kBlockSize));
}

TEST(UidBlock, ThisHostsIdsLieOutsideEveryBlockItClaims) {
  testing::TempDir dir;
  const HostIds host = HostIds::read();
  auto block = UidBlock::claim("test", dir.path(), host);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_FALSE(host.overlaps((*block)->first(), (*block)->size()));
  EXPECT_GE((*block)->first(), 0x70000000u) << "above systemd's container range";
  EXPECT_LT(uint64_t{(*block)->first()} + (*block)->size(), uint64_t{1} << 31);
}

TEST(UidBlock, SaysWhyWhenNoBlockIsFree) {
  testing::TempDir dir;
  HostIds everything;
  everything.subordinateRanges.push_back({0, uint64_t{1} << 32});
  auto block = UidBlock::claim("test", dir.path(), everything);
  EXPECT_EQ(block.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(block.status().message()), HasSubstr("128 overlap ids of this host"));
}

} // namespace
} // namespace surge::engine
