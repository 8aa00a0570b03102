// A temporary directory for one test.
#include "support/temp_dir.h"

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

namespace surge::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "surge-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
  // 0711, like surged's data dir: sandboxes, running as unprivileged per-function uids, must be
  // able to pass through to the code folders a test puts here (mkdtemp makes 0700).
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
                                          std::filesystem::perms::others_exec);
}

TempDir::~TempDir() {
  // Unpacked code is written read-only; make it writable again so it can be removed.
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all, std::filesystem::perm_options::add,
                                   ec);
    }
  }
  std::filesystem::remove_all(path_, ec);
}

} // namespace surge::testing
