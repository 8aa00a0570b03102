// Validates an uploaded zip archive against the platform's rules and unpacks it.
#pragma once

#include "store/function_config.h"

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace surge::store {

struct ArchiveLimits {
  // Most entries (files and directories) an archive may have. While unpacking, the directories
  // that entry paths imply ("a/" for "a/b") count too, so deep names cannot imply millions.
  int64_t maxEntries = 10000;
  // Most bytes all entries may decompress to, counted from the real decompressed bytes.
  int64_t maxUnpackedBytes = 512ll << 20;
  // An entry whose decompressed size passes ratioCheckMinBytes may be at most this many times
  // its compressed size.
  double maxCompressionRatio = 200.0;
  int64_t ratioCheckMinBytes = 1ll << 20;
};

struct UnpackedArchive {
  int64_t fileCount = 0;     // regular files, directories not counted
  int64_t unpackedBytes = 0; // sum of the files' sizes
};

// Checks every rule while unpacking `zipPath` into `destDir`, which must not exist yet and
// whose parent must exist. Rules, each refused with INVALID_ARGUMENT naming the entry and rule:
// a path that escapes the root ("../", absolute), a symlink, a device or other special entry,
// too many entries, too many decompressed bytes, a compression ratio above the maximum, and a
// corrupt or truncated archive. Sizes are counted from bytes actually decompressed, so a zip
// bomb fails as soon as it passes a limit. On any error nothing is left at destDir.
// Files are written read-only (0444, or 0555 when the archive marks them executable) and
// directories 0555, since instances must never change their code.
// Thread-safe: independent calls may run concurrently.
absl::StatusOr<UnpackedArchive> unpackArchive(const std::filesystem::path& zipPath,
                                              const std::filesystem::path& destDir, const ArchiveLimits& limits);

// OK if the unpacked code at `codeRoot` has the file `handler` needs on `runtime` (see
// handlerFile()); for custom it must be an executable regular file. Otherwise
// FAILED_PRECONDITION naming the missing file, or INVALID_ARGUMENT when
// `missingIsInvalidArgument` (an upload is a bad argument; a config change is a bad state).
absl::Status checkHandlerFile(const std::filesystem::path& codeRoot, common::Runtime runtime, std::string_view handler,
                              bool missingIsInvalidArgument);

} // namespace surge::store
