// The API key sources of surgectl, tried in their documented order.
#include "cli/api_key.h"

#include <algorithm>
#include <string_view>
#include <system_error>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>

#include "cli/local_file.h"
#include "common/absl_compat.h"

namespace surge::cli {
namespace {

namespace fs = std::filesystem;
using common::toAbsl;

// A token is "surge_<id>_<secret>"; a file with more than this is surely not a key file.
constexpr size_t kMaxKeyFileBytes = 4096;

// A token travels as an HTTP/2 header value, where spaces and control characters do not belong;
// finding one means the source holds something other than a key.
absl::Status checkToken(std::string_view token, std::string_view source) {
  const bool printable = std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; });
  if (printable) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("the API key from ", toAbsl(source),
                                                 " contains spaces or control characters; a key is one word "
                                                 "like surge_<id>_<secret>"));
}

absl::StatusOr<ResolvedKey> found(std::string_view token, std::string source) {
  if (auto status = checkToken(token, source); !status.ok()) return status;
  return ResolvedKey{std::string(token), std::move(source), {}};
}

// The file's path for people: absolute, since a relative one depends on the working directory.
std::string displayPath(const fs::path& path) {
  std::error_code error;
  fs::path absolute = fs::absolute(path, error);
  return (error ? path : absolute.lexically_normal()).string();
}

} // namespace

absl::StatusOr<ResolvedKey> resolveApiKey(const KeySources& sources) {
  if (sources.flag) {
    const std::string_view token = trimWhitespace(*sources.flag);
    if (token.empty()) return absl::InvalidArgumentError("--key is empty; give a key like surge_<id>_<secret>");
    return found(token, "--key");
  }
  // A --key-file given is checked even when SURGE_API_KEY outranks it, so that a wrong path is
  // reported rather than silently ignored.
  std::optional<ResolvedKey> fromFile;
  if (sources.file) {
    if (sources.file->empty()) return absl::InvalidArgumentError("--key-file is empty; give the path of a key file");
    auto content = readSmallFile(*sources.file, "--key-file", kMaxKeyFileBytes);
    if (!content.ok()) return absl::InvalidArgumentError(content.status().message());
    const std::string_view token = trimWhitespace(*content);
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--key-file '", *sources.file, "' is empty; it should hold a key like surge_<id>_<secret>"));
    }
    auto key = found(token, absl::StrCat("--key-file '", *sources.file, "'"));
    if (!key.ok()) return key.status();
    fromFile = *std::move(key);
  }
  if (std::string_view token = trimWhitespace(sources.env); !token.empty()) return found(token, "SURGE_API_KEY");
  if (fromFile) return *std::move(fromFile);

  const fs::path dataDir = sources.dataDir.empty() ? fs::path(kDefaultDataDir) : sources.dataDir;
  const std::string adminKey = displayPath(dataDir / kAdminKeyFileName);
  auto content = readSmallFile(adminKey, "admin key", kMaxKeyFileBytes);
  std::string note;
  if (content.ok()) {
    const std::string_view token = trimWhitespace(*content);
    if (!token.empty()) return found(token, absl::StrCat("'", adminKey, "'"));
    note = "empty";
  } else if (absl::IsNotFound(content.status())) {
    note = "not found";
  } else if (absl::IsPermissionDenied(content.status())) {
    // E.g. surged runs as another user; say so rather than only "not found".
    note = "not readable by this user";
  } else {
    note = std::string(content.status().message());
  }
  ResolvedKey none;
  none.searched = absl::StrCat("--key, SURGE_API_KEY, --key-file and '", adminKey, "' (", note, ")");
  return none;
}

} // namespace surge::cli
