// Reading and deterministic zipping of function code for upload.
#include "cli/code_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <system_error>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>

#include "common/sha256.h"
#include "common/unique_fd.h"

namespace surge::cli {
namespace {

namespace fs = std::filesystem;

struct ArchiveDeleter {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct SourceDeleter {
  void operator()(zip_source_t* source) const { zip_source_free(source); }
};
struct ErrorFinalizer {
  zip_error_t* error;
  ~ErrorFinalizer() { zip_error_fini(error); }
};
using ArchivePtr = std::unique_ptr<zip_t, ArchiveDeleter>;
using SourcePtr = std::unique_ptr<zip_source_t, SourceDeleter>;

struct Entry {
  fs::path path;    // on disk, for reading and for messages
  std::string name; // in the archive; directories end in '/'
  mode_t mode = 0;  // st_mode: type and permission bits
};

absl::Status errnoError(int error, const std::string& what, const fs::path& path) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat("cannot ", what, " '", path.string(), "': ", std::strerror(error)));
}

absl::Status zipError(const std::string& what, zip_error_t* error) {
  return absl::InternalError(absl::StrCat("cannot build the code archive: ", what, ": ", zip_error_strerror(error)));
}

absl::Status zipError(const std::string& what, zip_t* archive) { return zipError(what, zip_get_error(archive)); }

absl::StatusOr<std::string> readFile(const fs::path& path) {
  const common::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoError(errno, "open", path);
  std::string data;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoError(errno, "read", path);
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

// Appends the entries below `dir` in sorted order, depth first. Sorting by byte value keeps the
// order independent of the locale and of the order the file system lists names in.
absl::Status collectEntries(const fs::path& dir, const std::string& prefix, std::vector<Entry>& entries) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    names.push_back(it->path().filename().string());
  }
  if (error) return errnoError(error.value(), "list directory", dir);
  std::sort(names.begin(), names.end());

  for (const std::string& name : names) {
    if (isSkippedName(name)) continue;
    fs::path path = dir / name;
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) return errnoError(errno, "inspect", path);
    if (S_ISLNK(info.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", path.string(), "' is a symlink: symlinks are not allowed in function code; copy the target instead"));
    }
    if (S_ISDIR(info.st_mode)) {
      std::string dirName = absl::StrCat(prefix, name, "/");
      entries.push_back({path, dirName, info.st_mode});
      if (auto status = collectEntries(path, dirName, entries); !status.ok()) return status;
    } else if (S_ISREG(info.st_mode)) {
      entries.push_back({path, absl::StrCat(prefix, name), info.st_mode});
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path.string(),
                       "' is a special file (device, FIFO or socket): function code may hold "
                       "only regular files and directories"));
    }
  }
  return absl::OkStatus();
}

// DOS times are local times, and libzip converts with localtime(); building the time_t from a
// local 1980-01-01 00:00 gives that exact DOS time, and so the same bytes, in every time zone.
time_t fixedModificationTime() {
  std::tm local{};
  local.tm_year = 80;
  local.tm_mon = 0;
  local.tm_mday = 1;
  local.tm_isdst = -1;
  return std::mktime(&local);
}

absl::StatusOr<std::string> readSource(zip_source_t* source) {
  if (zip_source_open(source) != 0) return zipError("open result", zip_source_error(source));
  std::string bytes;
  char buffer[64 * 1024];
  for (;;) {
    zip_int64_t n = zip_source_read(source, buffer, sizeof buffer);
    if (n < 0) {
      absl::Status status = zipError("read result", zip_source_error(source));
      zip_source_close(source);
      return status;
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  zip_source_close(source);
  return bytes;
}

} // namespace

bool isSkippedName(std::string_view name) { return name == ".git" || name == "__pycache__"; }

absl::StatusOr<std::string> zipDirectory(const fs::path& dir) {
  std::vector<Entry> entries;
  if (auto status = collectEntries(dir, "", entries); !status.ok()) return status;

  zip_error_t error;
  zip_error_init(&error);
  ErrorFinalizer finalizer{&error};
  // The archive is written into this in-memory source; we hold our own reference so that the
  // bytes outlive zip_close().
  SourcePtr output(zip_source_buffer_create(nullptr, 0, 0, &error));
  if (!output) return zipError("create buffer", &error);
  ArchivePtr archive(zip_open_from_source(output.get(), ZIP_TRUNCATE, &error));
  if (!archive) return zipError("open archive", &error);
  // On success the archive took over our reference; take a new one for ourselves.
  zip_source_keep(output.get());

  const time_t mtime = fixedModificationTime();
  // libzip reads file data only in zip_close(), so the contents must live until then; a deque
  // never moves its elements.
  std::deque<std::string> contents;
  for (const Entry& entry : entries) {
    zip_int64_t index = -1;
    const bool isDir = S_ISDIR(entry.mode);
    if (isDir) {
      index = zip_dir_add(archive.get(), entry.name.c_str(), ZIP_FL_ENC_GUESS);
    } else {
      auto data = readFile(entry.path);
      if (!data.ok()) return data.status();
      contents.push_back(*std::move(data));
      zip_source_t* source = zip_source_buffer(archive.get(), contents.back().data(), contents.back().size(), 0);
      if (source == nullptr) return zipError(entry.name, archive.get());
      index = zip_file_add(archive.get(), entry.name.c_str(), source, ZIP_FL_ENC_GUESS);
      if (index < 0) zip_source_free(source);
    }
    if (index < 0) return zipError(entry.name, archive.get());
    const auto zipIndex = static_cast<zip_uint64_t>(index);
    const auto attributes = static_cast<zip_uint32_t>(entry.mode & 0xffff) << 16;
    if ((!isDir && zip_set_file_compression(archive.get(), zipIndex, ZIP_CM_DEFLATE, 0) != 0) ||
        zip_file_set_external_attributes(archive.get(), zipIndex, 0, ZIP_OPSYS_UNIX, attributes) != 0 ||
        zip_file_set_mtime(archive.get(), zipIndex, mtime, 0) != 0) {
      return zipError(entry.name, archive.get());
    }
  }

  if (zip_close(archive.get()) != 0) return zipError("write archive", archive.get());
  // zip_close() freed the archive.
  (void)archive.release();
  return readSource(output.get());
}

absl::StatusOr<CodeArchive> buildCodeArchive(const fs::path& path) {
  std::error_code error;
  // Follows a symlink given on the command line: only links inside the code are refused.
  const fs::file_status status = fs::status(path, error);
  if (status.type() == fs::file_type::not_found) {
    return absl::NotFoundError(absl::StrCat("code path '", path.string(), "' does not exist"));
  }
  if (error) return errnoError(error.value(), "inspect", path);

  CodeArchive archive;
  if (fs::is_directory(status)) {
    auto bytes = zipDirectory(path);
    if (!bytes.ok()) return bytes.status();
    archive.bytes = *std::move(bytes);
  } else if (fs::is_regular_file(status)) {
    auto bytes = readFile(path);
    if (!bytes.ok()) return bytes.status();
    if (!bytes->starts_with("PK")) {
      return absl::InvalidArgumentError(
          absl::StrCat("code file '", path.string(), "' is not a zip archive; pass a .zip file or a directory to zip"));
    }
    archive.bytes = *std::move(bytes);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "code path '", path.string(), "' is neither a directory nor a regular file; pass a directory or a .zip"));
  }
  archive.sha256 = common::Sha256::of(archive.bytes);
  return archive;
}

} // namespace surge::cli
