// Bounded reads of the small files named on surgectl's command line.
#include "cli/local_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>

#include "common/absl_compat.h"
#include "common/unique_fd.h"

namespace surge::cli {
namespace {

using common::toAbsl;

absl::Status readError(int error, std::string_view what, const std::filesystem::path& path) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat("cannot read ", toAbsl(what), " '", path.string(), "': ", std::strerror(error)));
}

} // namespace

absl::StatusOr<std::string> readSmallFile(const std::filesystem::path& path, std::string_view what, size_t maxBytes) {
  const common::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return readError(errno, what, path);
  struct stat info {};
  if (::fstat(fd.get(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", toAbsl(what), " '", path.string(), "': it is a directory; give a file"));
  }
  std::string data;
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return readError(errno, what, path);
    }
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > maxBytes) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read ", toAbsl(what), " '", path.string(),
                                                     "': it is larger than ", maxBytes,
                                                     " bytes, too large to be one; is it the right file?"));
    }
  }
  return data;
}

std::string_view trimWhitespace(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r\n";
  const size_t begin = text.find_first_not_of(kBlanks);
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(kBlanks);
  return text.substr(begin, end - begin + 1);
}

} // namespace surge::cli
