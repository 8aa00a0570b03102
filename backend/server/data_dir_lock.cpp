// An exclusive flock on <data-dir>/surged.lock; the kernel releases it if surged dies.
#include "server/data_dir_lock.h"

#include <absl/strings/str_cat.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

namespace surge::server {

absl::StatusOr<std::unique_ptr<DataDirLock>> DataDirLock::acquire(const std::filesystem::path& dataDir) {
  std::error_code ec;
  std::filesystem::create_directories(dataDir, ec);
  if (ec || !std::filesystem::is_directory(dataDir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot use data dir ", dataDir.string(), ": ", ec ? ec.message() : "not a directory"));
  }
  // Others may pass through (sandboxes, running as per-function uids, reach code/<sha256> by its
  // full path) but not list it; each file below sets its own mode.
  std::filesystem::permissions(dataDir,
                               std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
                                   std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::replace, ec);
  const std::filesystem::path path = dataDir / "surged.lock";
  common::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot use data dir ", dataDir.string(), ": ", std::strerror(errno)));
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    const ssize_t n = ::pread(fd.get(), holder, sizeof(holder) - 1, 0);
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", dataDir.string(), " is in use by another surged",
                     n > 0 ? absl::StrCat(" (pid ", std::string(holder, n), ")") : ""));
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", path.string(), ": ", std::strerror(errno)));
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(std::move(fd)));
}

} // namespace surge::server
