// A temporary directory for one test (mode 0711), removed with everything in it when the test ends.
#pragma once

#include <filesystem>

namespace surge::testing {

class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

} // namespace surge::testing
