// Where surgectl finds the API key it sends as "authorization: Bearer <token>": a flag, the
// environment, a key file, or the admin key that surged writes into its data dir.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <absl/status/statusor.h>

namespace surge::cli {

// The data dir surged uses when started without --data-dir, relative to the working directory.
inline constexpr const char* kDefaultDataDir = "surge-data";
// The file in the data dir where surged leaves the bootstrap admin token.
inline constexpr const char* kAdminKeyFileName = "admin.key";

// The places a key may come from, in the order they are tried. The caller reads the flags and
// the environment; resolveApiKey() reads the files.
struct KeySources {
  // --key TOKEN; nullopt if the flag was not given.
  std::optional<std::string> flag;
  // SURGE_API_KEY; empty if unset.
  std::string env;
  // --key-file PATH; nullopt if the flag was not given.
  std::optional<std::string> file;
  // SURGE_DATA_DIR, or kDefaultDataDir if unset or empty; admin.key is looked for there.
  std::filesystem::path dataDir;
};

struct ResolvedKey {
  // The bearer token, trimmed; empty if no source held one, and then calls carry no key.
  std::string token;
  // Where `token` came from, for messages: "--key", "SURGE_API_KEY", "--key-file '<path>'" or
  // "'<absolute path of admin.key>'". Empty when there is no token.
  std::string source;
  // Every place looked at, for the hint shown when the server wants a key, e.g. "--key,
  // SURGE_API_KEY, --key-file and '/srv/surge-data/admin.key' (not found)".
  std::string searched;
};

// Takes the first source that yields a key: --key, SURGE_API_KEY, --key-file, then
// <dataDir>/admin.key. Leading and trailing whitespace is trimmed from every source.
// INVALID_ARGUMENT (a usage error) for an explicit --key or --key-file that is empty or
// unreadable (a --key-file is checked even when SURGE_API_KEY wins), and for a key holding spaces
// or control characters. A missing or unreadable
// admin.key is not an error: the call goes without a key and `searched` says why.
absl::StatusOr<ResolvedKey> resolveApiKey(const KeySources& sources);

} // namespace surge::cli
