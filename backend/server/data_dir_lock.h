// An exclusive lock on a data dir, so that two surged processes never share one store.
#pragma once

#include "common/unique_fd.h"

#include <absl/status/statusor.h>

#include <filesystem>
#include <memory>
#include <utility>

namespace surge::server {

class DataDirLock {
public:
  // Creates the data dir if needed and takes <dir>/surged.lock. FAILED_PRECONDITION, naming
  // the holder's pid, if another process holds it; FAILED_PRECONDITION if the dir is unusable.
  static absl::StatusOr<std::unique_ptr<DataDirLock>> acquire(const std::filesystem::path& dataDir);

private:
  explicit DataDirLock(common::UniqueFd fd) : fd_(std::move(fd)) {}
  common::UniqueFd fd_; // the flock lasts as long as it is open
};

} // namespace surge::server
