// UidBlock: a host-wide claim on a block of uids for one engine's sandboxes, so that two surged
// on one host (or a surged and a test) never run functions as the same uid.
#pragma once

#include "common/unique_fd.h"

#include <absl/status/statusor.h>

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace surge::engine {

// Ids the host already hands out, which no block may overlap.
struct HostIds {
  // [first, first + count) ranges from /etc/subuid and /etc/subgid.
  std::vector<std::pair<uint64_t, uint64_t>> subordinateRanges;
  // uids from /etc/passwd and gids from /etc/group.
  std::vector<uint64_t> ids;

  // Reads the files under `etc` (/etc on a real host). Missing files count as empty.
  static HostIds read(const std::filesystem::path& etc = "/etc");
  bool overlaps(uint64_t first, uint64_t count) const;
};

// Blocks lie in 0x70000000-0x7fffffff: above systemd's container range (which ends at
// 0x6fffffff), below 2^31 (uids some tools misread as negative), and far above the subordinate
// ids Debian gives users (100000 on). Each is claimed by an exclusive flock on
// <lockDir>/block-<n>.lock, held for the life of the object: the kernel drops it when the
// process dies, so a crashed server's block is free again at once. Thread-safe (immutable).
class UidBlock {
public:
  static constexpr uid_t kFirstUid = 0x70000000;
  static constexpr uid_t kBlockSize = uid_t{1} << 21;
  static constexpr int kBlockCount = 128;
  static constexpr const char* kDefaultLockDir = "/run/surge/uid-blocks";

  // Claims the first free block that overlaps none of `host`. `holder` (e.g. the data dir) is
  // written into the lock file for whoever wonders who holds it. RESOURCE_EXHAUSTED when every
  // block is held or overlaps the host's ids; FAILED_PRECONDITION when the lock dir is unusable.
  static absl::StatusOr<std::unique_ptr<UidBlock>> claim(const std::string& holder,
                                                         const std::filesystem::path& lockDir = kDefaultLockDir,
                                                         const HostIds& host = HostIds::read());
  UidBlock(const UidBlock&) = delete;
  UidBlock& operator=(const UidBlock&) = delete;

  uid_t first() const { return first_; }
  uid_t size() const { return kBlockSize; }
  int index() const { return index_; }

private:
  UidBlock(common::UniqueFd fd, int index)
      : fd_(std::move(fd)), index_(index), first_(kFirstUid + static_cast<uid_t>(index) * kBlockSize) {}
  common::UniqueFd fd_; // holds the flock
  int index_;
  uid_t first_;
};

} // namespace surge::engine
