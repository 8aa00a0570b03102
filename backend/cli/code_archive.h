// Turns the --code PATH of surgectl into a zip archive: a zip file is taken as is, a folder is
// zipped so that the same folder always gives the same bytes (the server treats an upload
// equal to the active version as a no-op, so redeploying unchanged code creates nothing).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <absl/status/statusor.h>

namespace surge::cli {

struct CodeArchive {
  // The zip archive.
  std::string bytes;
  // Lowercase hex SHA-256 of `bytes`, as UploadCode wants it.
  std::string sha256;
};

// A directory is zipped with zipDirectory(); a regular file (symlinks to one are followed) is
// read as is and must start with the zip magic "PK". Errors name the path: NOT_FOUND if it
// does not exist; INVALID_ARGUMENT if it is a file that is not a zip, neither a file nor a
// directory, or a directory holding a symlink or special file; other codes for I/O failures.
// Every error is the user's to fix locally, before anything is sent.
absl::StatusOr<CodeArchive> buildCodeArchive(const std::filesystem::path& path);

// Zips the contents of `dir` (not `dir` itself) deterministically: entries in sorted order with
// names relative to `dir`, directories as entries ending in '/', files deflated, the unix mode
// in the external attributes, and every modification time fixed at 1980-01-01 00:00. Entries
// for which isSkippedName() holds are left out with everything below them. Symlinks and special
// files are INVALID_ARGUMENT naming the path, since the server refuses them too.
absl::StatusOr<std::string> zipDirectory(const std::filesystem::path& dir);

// True for ".git" and "__pycache__": version control and bytecode caches, never code to deploy.
bool isSkippedName(std::string_view name);

} // namespace surge::cli
