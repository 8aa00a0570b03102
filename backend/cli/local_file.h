// Reads the small local files surgectl is pointed at: API key files and TLS certificates.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <absl/status/statusor.h>

namespace surge::cli {

// The whole content of `path`, which may be a regular file or a pipe such as `<(pass show x)`.
// Errors say "cannot read <what> '<path>': <reason>", with the errno text, and have the errno's
// status code (NOT_FOUND for ENOENT). A directory, or a file longer than `maxBytes`, is
// INVALID_ARGUMENT, so that a wrong path never makes surgectl read without bound.
absl::StatusOr<std::string> readSmallFile(const std::filesystem::path& path, std::string_view what, size_t maxBytes);

// `text` without leading and trailing whitespace (spaces, tabs, CR, LF).
std::string_view trimWhitespace(std::string_view text);

} // namespace surge::cli
