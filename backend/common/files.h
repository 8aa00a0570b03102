// Small file-system vocabulary shared by the store and the engine.
#pragma once

#include <absl/status/status.h>

#include <filesystem>

namespace surge::common {

// Removes `path` and everything below it, also folders made read-only on purpose (unpacked
// code). Missing is fine. Returns what stopped the removal, if anything.
absl::Status removeTree(const std::filesystem::path& path);

// removeTree() for clean-ups that a later sweep repeats: a failure is logged as a warning.
void removeTreeOrWarn(const std::filesystem::path& path);

// Removes everything inside `dir`, keeping `dir` itself. Missing is fine.
absl::Status clearDirectory(const std::filesystem::path& dir);

// Creates the folder `path` (mode `mode`, whatever the umask), failing with ALREADY_EXISTS if
// anything already has that name: the caller then knows the folder is new and empty.
absl::Status makeNewDirectory(const std::filesystem::path& path, std::filesystem::perms mode);

// OK when every folder from / down to `dir` lets any user pass through it (o+x), as the
// unprivileged uids of sandboxes must; FAILED_PRECONDITION naming the first folder that does not.
// A part that does not exist yet is not checked (it will be made).
absl::Status checkPassableByAnyone(const std::filesystem::path& dir);

// Whether `path` is `top` or below it, comparing their elements as written (neither is resolved
// or normalised).
bool isWithin(const std::filesystem::path& path, const std::filesystem::path& top);

} // namespace surge::common
