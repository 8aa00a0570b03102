// Small file-system vocabulary shared by the store and the engine.
#include "common/files.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace surge::common {

namespace fs = std::filesystem;

absl::Status removeTree(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return absl::OkStatus();
  if (fs::is_directory(fs::symlink_status(path, ec))) {
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) {
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
      }
    }
  }
  ec.clear();
  fs::remove_all(path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot remove ", path.string(), ": ", ec.message()));
  return absl::OkStatus();
}

void removeTreeOrWarn(const fs::path& path) {
  if (auto status = removeTree(path); !status.ok()) spdlog::warn("{}", status.ToString());
}

absl::Status clearDirectory(const fs::path& dir) {
  std::error_code ec;
  // Listed first, removed after: no removal while the folder is being read.
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(dir, ec)) entries.push_back(entry.path());
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::InternalError(absl::StrCat("cannot list ", dir.string(), ": ", ec.message()));
  }
  for (const fs::path& entry : entries) {
    if (auto status = removeTree(entry); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status makeNewDirectory(const fs::path& path, fs::perms mode) {
  if (::mkdir(path.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(path.string(), " already exists; refusing to reuse it"));
    }
    return absl::InternalError(absl::StrCat("cannot create ", path.string(), ": ", std::strerror(errno)));
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return absl::InternalError(absl::StrCat("cannot set the mode of ", path.string(), ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status checkPassableByAnyone(const fs::path& dir) {
  fs::path walked;
  for (const fs::path& part : fs::absolute(dir).lexically_normal()) {
    if (part.empty()) continue; // a trailing separator
    walked /= part;
    struct stat st {};
    if (::stat(walked.c_str(), &st) != 0) break; // made later, by surged
    if (S_ISDIR(st.st_mode) && (st.st_mode & S_IXOTH) == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(walked.string(), " is mode ", absl::StrFormat("%04o", st.st_mode & 07777),
                       ": the sandboxes' unprivileged uids cannot pass through it to reach ", dir.string(),
                       "; allow it (chmod o+x ", walked.string(), ") or choose a folder elsewhere"));
    }
  }
  return absl::OkStatus();
}

bool isWithin(const fs::path& path, const fs::path& top) {
  return std::mismatch(top.begin(), top.end(), path.begin(), path.end()).first == top.end();
}

} // namespace surge::common
