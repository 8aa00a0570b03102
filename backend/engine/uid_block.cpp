// UidBlock: host-wide uid blocks claimed by flock, clear of the host's own ids.
#include "engine/uid_block.h"

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace surge::engine {
namespace {

namespace fs = std::filesystem;

// Calls `onFields` with the ':'-separated fields of every non-comment line of `path`.
template <typename OnFields> void forEachRecord(const fs::path& path, OnFields onFields) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') continue;
    onFields(std::vector<std::string>(absl::StrSplit(line, ':')));
  }
}

} // namespace

HostIds HostIds::read(const fs::path& etc) {
  HostIds host;
  for (const char* file : {"subuid", "subgid"}) {
    forEachRecord(etc / file, [&host](const std::vector<std::string>& fields) {
      uint64_t first = 0, count = 0;
      if (fields.size() >= 3 && absl::SimpleAtoi(fields[1], &first) && absl::SimpleAtoi(fields[2], &count)) {
        host.subordinateRanges.emplace_back(first, count);
      }
    });
  }
  // passwd: name:password:uid:gid:...; group: name:password:gid:members.
  for (const char* file : {"passwd", "group"}) {
    forEachRecord(etc / file, [&host](const std::vector<std::string>& fields) {
      uint64_t id = 0;
      if (fields.size() >= 3 && absl::SimpleAtoi(fields[2], &id)) host.ids.push_back(id);
    });
  }
  return host;
}

bool HostIds::overlaps(uint64_t first, uint64_t count) const {
  for (const auto& [rangeFirst, rangeCount] : subordinateRanges) {
    if (rangeFirst < first + count && first < rangeFirst + rangeCount) return true;
  }
  for (uint64_t id : ids) {
    if (id >= first && id < first + count) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<UidBlock>> UidBlock::claim(const std::string& holder, const fs::path& lockDir,
                                                          const HostIds& host) {
  std::error_code ec;
  fs::create_directories(lockDir, ec);
  if (ec || !fs::is_directory(lockDir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the uid lock folder ", lockDir.string(), ": ", ec.message()));
  }
  int overlapping = 0;
  for (int index = 0; index < kBlockCount; ++index) {
    const uint64_t first = kFirstUid + uint64_t{kBlockSize} * static_cast<uint64_t>(index);
    if (host.overlaps(first, kBlockSize)) {
      ++overlapping;
      continue;
    }
    const fs::path path = lockDir / absl::StrCat("block-", index, ".lock");
    common::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot open ", path.string(), ": ", std::strerror(errno)));
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue; // another server holds it
    // For a person who looks: who holds the block. Best effort; the lock is what counts.
    const std::string note = absl::StrCat(::getpid(), " ", holder, "\n");
    if (::ftruncate(fd.get(), 0) == 0) {
      [[maybe_unused]] const ssize_t written = ::pwrite(fd.get(), note.data(), note.size(), 0);
    }
    return std::unique_ptr<UidBlock>(new UidBlock(std::move(fd), index));
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("no free block of sandbox uids: of the ", kBlockCount, " blocks of ", kBlockSize, " uids from ",
                   kFirstUid, ", ", overlapping,
                   " overlap ids of this host (/etc/subuid, /etc/subgid, /etc/passwd, /etc/group) and the others "
                   "are held by running servers (see ",
                   lockDir.string(), ")"));
}

} // namespace surge::engine
