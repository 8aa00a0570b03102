// Unpacks uploaded code archives with libzip, refusing anything that could escape the function
// root, plant links or devices, or blow up on decompression.
#include "store/archive_unpacker.h"

#include "common/absl_compat.h"
#include "common/files.h"
#include "common/unique_fd.h"

#include <absl/strings/ascii.h>
#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

#include <zip.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace surge::store {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadChunkBytes = 64 << 10;
// Linux's NAME_MAX and PATH_MAX - 1: longer names could only fail later with a less clear error.
constexpr size_t kMaxComponentBytes = 255;
constexpr size_t kMaxNameBytes = 4095;

struct ZipDiscarder {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscarder>;

struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileCloser>;

using common::toAbsl;
using common::UniqueFd;

// Entry names come from the uploader; escape them so a message never carries control bytes.
std::string shown(std::string_view name) { return absl::CHexEscape(toAbsl(name)); }

absl::Status refuse(std::string_view name, std::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("code archive entry '", shown(name), "' ", toAbsl(rule)));
}

absl::Status corrupt(std::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("code archive is corrupt or truncated: ", toAbsl(reason)));
}

absl::Status corruptEntry(std::string_view name, std::string_view reason) {
  return corrupt(absl::StrCat("entry '", shown(name), "': ", toAbsl(reason)));
}

std::string libzipReason(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string reason = zip_error_strerror(&error);
  zip_error_fini(&error);
  return reason;
}

absl::Status ioError(std::string_view what, const fs::path& path, int error) {
  const std::string message = absl::StrCat("cannot ", toAbsl(what), " ", path.string(), ": ", std::strerror(error));
  if (error == ENOSPC || error == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

// The relative path an entry name stands for, with no trailing '/', or a refusal. Empty and "."
// components are dropped ("./a" and "a//b" are a and a/b): archivers such as `zip -r x.zip ./`
// write such names and they cannot leave the root. Everything else that could resolve outside
// the root, or differently on another system, is refused rather than repaired. An empty result
// is the root itself.
absl::StatusOr<std::string> normalisedPath(std::string_view name) {
  if (name.empty()) return refuse(name, "has an empty name");
  if (name.size() > kMaxNameBytes) {
    return refuse(name, absl::StrCat("has a name longer than ", kMaxNameBytes, " bytes"));
  }
  if (name.front() == '/') return refuse(name, "is an absolute path, which escapes the function root");
  if (name.size() >= 2 && name[1] == ':' && absl::ascii_isalpha(static_cast<unsigned char>(name[0]))) {
    return refuse(name, "starts with a drive letter, which escapes the function root");
  }
  for (const char c : name) {
    if (c == '\\') {
      return refuse(name, "contains a backslash, which could escape the function root; separate "
                          "directories with '/'");
    }
    // libzip turns a NUL in a stored name into a space, so this only guards other ways in.
    if (c == '\0') return refuse(name, "contains a NUL byte");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return refuse(name, "contains a control character; names must be printable");
    }
  }
  std::string path;
  for (const absl::string_view component : absl::StrSplit(toAbsl(name), '/')) {
    if (component.empty() || component == ".") continue;
    if (component == "..") return refuse(name, "escapes the function root with a '..' component");
    if (component.size() > kMaxComponentBytes) {
      return refuse(name, absl::StrCat("has a path component longer than ", kMaxComponentBytes, " bytes"));
    }
    if (!path.empty()) path += '/';
    path.append(component.data(), component.size());
  }
  return path;
}

// What the external attributes say an entry is, refusing every type but files and directories.
// Only a Unix "made by" system has a meaningful st_mode in the upper 16 bits; for any other
// system, the name alone decides (a trailing '/' is a directory) and files are not executable.
struct EntryType {
  bool directory = false;
  bool executable = false;
};

absl::StatusOr<EntryType> entryType(std::string_view name, zip_uint8_t opsys, zip_uint32_t attributes) {
  EntryType type;
  type.directory = name.back() == '/';
  if (opsys != ZIP_OPSYS_UNIX) return type;
  const auto mode = static_cast<mode_t>(attributes >> 16);
  switch (mode & S_IFMT) {
  case 0: // some archivers record only permission bits
  case S_IFREG: break;
  case S_IFDIR:
    if (!type.directory) {
      return refuse(name, "is marked as a directory but its name does not end in '/'");
    }
    break;
  case S_IFLNK: return refuse(name, "is a symlink; symlinks are not allowed");
  case S_IFCHR: return refuse(name, "is a character device; device and other special entries are not allowed");
  case S_IFBLK: return refuse(name, "is a block device; device and other special entries are not allowed");
  case S_IFIFO: return refuse(name, "is a FIFO; device and other special entries are not allowed");
  case S_IFSOCK: return refuse(name, "is a socket; device and other special entries are not allowed");
  default: {
    char octal[8] = {};
    std::to_chars(octal, octal + sizeof(octal) - 1, mode & S_IFMT, 8);
    return refuse(name,
                  absl::StrCat("has unknown file type 0", octal, "; only regular files and directories are allowed"));
  }
  }
  type.executable = (mode & 0111) != 0;
  return type;
}

struct FileEntry {
  zip_uint64_t index = 0;
  std::string name; // as stored, for messages
  std::string path; // normalised, relative to the root
  bool executable = false;
  uint64_t compressedSize = 1;          // from the header; 0 counts as 1
  std::optional<uint64_t> declaredSize; // from the header, if libzip has it
};

struct Plan {
  std::vector<FileEntry> files;      // in archive order, which is the cheapest order to read
  std::set<std::string> directories; // explicit and implied, sorted so parents come first
};

double ratio(uint64_t bytes, uint64_t compressedSize) {
  return static_cast<double>(bytes) / static_cast<double>(compressedSize);
}

// One decimal is plenty for a person comparing a ratio with its limit.
std::string shownRatio(double value) { return absl::StrCat(std::round(value * 10) / 10); }

// Reads the central directory and checks every rule that does not need the data: names, types,
// duplicates, and the sizes and ratios the headers declare. Declared sizes are only ever used to
// refuse: an honest zip bomb is refused here before a byte is written, and unpacking refuses an
// entry as soon as it yields more than it declared, so a header that lies low gains nothing.
absl::StatusOr<Plan> planArchive(zip_t* archive, zip_int64_t entryCount, const ArchiveLimits& limits) {
  Plan plan;
  std::map<std::string, bool> seen; // normalised path -> is a directory
  uint64_t declaredTotal = 0;
  for (zip_int64_t i = 0; i < entryCount; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t st;
    if (zip_stat_index(archive, index, 0, &st) < 0) {
      return corrupt(absl::StrCat("entry ", i, ": ", zip_strerror(archive)));
    }
    const std::string name = (st.valid & ZIP_STAT_NAME) != 0 && st.name != nullptr ? st.name : "";
    auto path = normalisedPath(name);
    if (!path.ok()) return path.status();

    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    if (zip_file_get_external_attributes(archive, index, 0, &opsys, &attributes) < 0) {
      return corruptEntry(name, zip_strerror(archive));
    }
    auto type = entryType(name, opsys, attributes);
    if (!type.ok()) return type.status();

    if (path->empty()) {
      // "./" names the root, which exists already; a file cannot be the root.
      if (type->directory) continue;
      return refuse(name, "names the function root itself, not a file inside it");
    }
    if (const auto [it, added] = seen.emplace(*path, type->directory); !added) {
      if (it->second == type->directory) {
        return refuse(name,
                      absl::StrCat("appears more than once (as '", shown(*path), "'); entry paths must be unique"));
      }
      return refuse(name, absl::StrCat("makes '", shown(*path), "' both a file and a directory"));
    }
    // Deepest first, stopping at a directory already known: its parents are known too. Paths
    // imply directories, and each costs an inode and a mkdir, so they count towards maxEntries;
    // otherwise 10,000 deep names could imply millions of them.
    if (type->directory) plan.directories.insert(*path);
    for (size_t slash = path->rfind('/'); slash != std::string::npos && slash > 0;
         slash = path->rfind('/', slash - 1)) {
      if (!plan.directories.insert(path->substr(0, slash)).second) break;
    }
    const size_t nodes = plan.files.size() + plan.directories.size() + (type->directory ? 0 : 1);
    if (nodes > static_cast<uint64_t>(limits.maxEntries)) {
      return refuse(name, absl::StrCat("takes the archive past ", limits.maxEntries,
                                       " files and directories, counting the directories that paths "
                                       "imply; at most ",
                                       limits.maxEntries, " are allowed"));
    }
    if (type->directory) continue;

    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && st.encryption_method != ZIP_EM_NONE) {
      return refuse(name, "is encrypted; encrypted archives are not supported");
    }
    if ((st.valid & ZIP_STAT_COMP_METHOD) != 0 && zip_compression_method_supported(st.comp_method, 0) == 0) {
      return refuse(name, absl::StrCat("uses compression method ", st.comp_method,
                                       ", which is not supported; use deflate or store"));
    }
    FileEntry file;
    file.index = index;
    file.name = name;
    file.path = *path;
    file.executable = type->executable;
    if ((st.valid & ZIP_STAT_COMP_SIZE) != 0 && st.comp_size > 0) file.compressedSize = st.comp_size;
    if ((st.valid & ZIP_STAT_SIZE) != 0) {
      file.declaredSize = st.size;
      declaredTotal += st.size;
      if (declaredTotal > static_cast<uint64_t>(limits.maxUnpackedBytes)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "code archive unpacks to more than ", limits.maxUnpackedBytes, " bytes (limit ", limits.maxUnpackedBytes,
            " bytes): entry '", shown(name), "' declares ", st.size, " bytes, taking the total to ", declaredTotal));
      }
      if (st.size > static_cast<uint64_t>(limits.ratioCheckMinBytes) &&
          ratio(st.size, file.compressedSize) > limits.maxCompressionRatio) {
        return refuse(name,
                      absl::StrCat("declares a compression ratio of ", shownRatio(ratio(st.size, file.compressedSize)),
                                   " (", st.size, " bytes from ", file.compressedSize,
                                   " compressed bytes); the limit is ", limits.maxCompressionRatio));
      }
    }
    plan.files.push_back(std::move(file));
  }

  // Checked once all entries are known, so the order of entries does not matter.
  for (const FileEntry& file : plan.files) {
    if (plan.directories.contains(file.path)) {
      return refuse(file.name,
                    absl::StrCat("is a file, but other entries use '", shown(file.path), "' as a directory"));
    }
  }
  return plan;
}

// ZIP_CHECKCONS makes libzip refuse duplicate names without saying which; open the archive
// again without it, only to name the entry.
absl::Status duplicateNameError(const fs::path& zipPath) {
  int openError = 0;
  ZipPtr archive(zip_open(zipPath.c_str(), ZIP_RDONLY, &openError));
  const zip_int64_t entryCount = archive != nullptr ? zip_get_num_entries(archive.get(), 0) : 0;
  std::set<std::string> names;
  for (zip_int64_t i = 0; i < entryCount; ++i) {
    const char* name = zip_get_name(archive.get(), static_cast<zip_uint64_t>(i), 0);
    if (name != nullptr && !names.insert(name).second) {
      return refuse(name, "appears more than once; entry names must be unique");
    }
  }
  return absl::InvalidArgumentError("code archive has two entries with the same name; entry names must be unique");
}

absl::Status writeAll(int fd, const char* data, size_t size, const fs::path& path) {
  while (size > 0) {
    const ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return ioError("write", path, errno);
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return absl::OkStatus();
}

// Streams one entry into a new file under `rootFd`, counting the bytes libzip really produces
// and stopping at the first chunk that passes a limit, before that chunk is written. The first
// limit is the entry's declared size, which planArchive() held to the ratio and total limits, so a
// zip bomb whose headers lie stops within one chunk. The real-byte ratio and total checks after
// it then cannot fire while libzip reports sizes; they stay so that the limits never depend on
// a header being present or on planArchive() being right.
absl::Status unpackFile(zip_t* archive, const FileEntry& entry, int rootFd, const fs::path& destDir,
                        const ArchiveLimits& limits, std::vector<char>& buffer, int64_t& totalBytes) {
  ZipFilePtr in(zip_fopen_index(archive, entry.index, 0));
  if (in == nullptr) return corruptEntry(entry.name, zip_strerror(archive));
  const fs::path outPath = destDir / entry.path;
  // O_EXCL and O_NOFOLLOW: nothing already there, link or not, can redirect the write. The
  // directories on the way were all created by this call and the archive has no links.
  UniqueFd out(
      ::openat(rootFd, entry.path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR));
  if (!out.valid()) return ioError("create", outPath, errno);

  int64_t entryBytes = 0;
  for (;;) {
    const zip_int64_t n = zip_fread(in.get(), buffer.data(), buffer.size());
    if (n < 0) return corruptEntry(entry.name, zip_error_strerror(zip_file_get_error(in.get())));
    if (n == 0) break;
    entryBytes += n;
    totalBytes += n;
    if (entry.declaredSize && static_cast<uint64_t>(entryBytes) > *entry.declaredSize) {
      return corruptEntry(entry.name, absl::StrCat("it decompresses to more than the ", *entry.declaredSize,
                                                   " bytes its header declares"));
    }
    if (totalBytes > limits.maxUnpackedBytes) {
      return absl::InvalidArgumentError(absl::StrCat("code archive unpacks to more than ", limits.maxUnpackedBytes,
                                                     " bytes (limit ", limits.maxUnpackedBytes, " bytes): entry '",
                                                     shown(entry.name), "' takes the total to at least ", totalBytes));
    }
    if (entryBytes > limits.ratioCheckMinBytes &&
        ratio(static_cast<uint64_t>(entryBytes), entry.compressedSize) > limits.maxCompressionRatio) {
      return refuse(entry.name, absl::StrCat("decompresses to more than ", limits.maxCompressionRatio,
                                             " times its compressed size (ratio ",
                                             shownRatio(ratio(static_cast<uint64_t>(entryBytes), entry.compressedSize)),
                                             " after ", entryBytes, " bytes from ", entry.compressedSize,
                                             " compressed bytes; the limit is ", limits.maxCompressionRatio, ")"));
    }
    if (auto status = writeAll(out.get(), buffer.data(), static_cast<size_t>(n), outPath); !status.ok()) {
      return status;
    }
  }
  // The CRC is checked on the read that reaches the end, so a clean loop exit means the data is
  // intact; zip_fclose() only frees.
  if (::fchmod(out.get(), entry.executable ? 0555 : 0444) != 0) return ioError("chmod", outPath, errno);
  if (out.close() != 0) return ioError("close", outPath, errno);
  return absl::OkStatus();
}

absl::StatusOr<UnpackedArchive> unpackPlan(zip_t* archive, const Plan& plan, const fs::path& destDir,
                                           const ArchiveLimits& limits) {
  UniqueFd root(::open(destDir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return ioError("open", destDir, errno);
  for (const std::string& directory : plan.directories) {
    if (::mkdirat(root.get(), directory.c_str(), S_IRWXU) != 0) {
      const int error = errno;
      return ioError("create directory", destDir / directory, error);
    }
  }

  UnpackedArchive result;
  std::vector<char> buffer(kReadChunkBytes);
  for (const FileEntry& file : plan.files) {
    if (auto status = unpackFile(archive, file, root.get(), destDir, limits, buffer, result.unpackedBytes);
        !status.ok()) {
      return status;
    }
    ++result.fileCount;
  }

  // Read-only only now that every file is in place; children before their parents, which
  // reverse lexicographic order guarantees since a parent is a prefix of its children.
  for (auto it = plan.directories.rbegin(); it != plan.directories.rend(); ++it) {
    if (::fchmodat(root.get(), it->c_str(), 0555, 0) != 0) {
      const int error = errno;
      return ioError("chmod", destDir / *it, error);
    }
  }
  if (::fchmod(root.get(), 0555) != 0) return ioError("chmod", destDir, errno);
  return result;
}

} // namespace

absl::StatusOr<UnpackedArchive> unpackArchive(const fs::path& zipPath, const fs::path& destDir,
                                              const ArchiveLimits& limits) {
  int openError = 0;
  ZipPtr archive(zip_open(zipPath.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &openError));
  if (archive == nullptr) {
    if (openError == ZIP_ER_NOENT) {
      return absl::NotFoundError(absl::StrCat("code archive ", zipPath.string(), " does not exist"));
    }
    if (openError == ZIP_ER_OPEN || openError == ZIP_ER_MEMORY) {
      return absl::InternalError(
          absl::StrCat("cannot open code archive ", zipPath.string(), ": ", libzipReason(openError)));
    }
    if (openError == ZIP_ER_EXISTS) return duplicateNameError(zipPath);
    return corrupt(libzipReason(openError));
  }
  const zip_int64_t entryCount = zip_get_num_entries(archive.get(), 0);
  if (entryCount < 0) return corrupt(zip_strerror(archive.get()));
  if (entryCount > limits.maxEntries) {
    return absl::InvalidArgumentError(
        absl::StrCat("code archive has ", entryCount, " entries; at most ", limits.maxEntries, " are allowed"));
  }
  auto plan = planArchive(archive.get(), entryCount, limits);
  if (!plan.ok()) return plan.status();

  // Created here, not earlier, so that archives refused from their headers leave no trace, and
  // with mkdir() so that an existing directory, which is not ours to remove, is never touched.
  if (::mkdir(destDir.c_str(), S_IRWXU) != 0) {
    const int error = errno;
    if (error == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("code directory ", destDir.string(), " already exists"));
    }
    if (error == ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat("parent of code directory ", destDir.string(), " does not exist"));
    }
    return ioError("create directory", destDir, error);
  }
  auto unpacked = unpackPlan(archive.get(), *plan, destDir, limits);
  if (!unpacked.ok()) (void)common::removeTree(destDir); // a partial unpack; its folders may be read-only
  return unpacked;
}

absl::Status checkHandlerFile(const fs::path& codeRoot, common::Runtime runtime, std::string_view handler,
                              bool missingIsInvalidArgument) {
  const std::string file = handlerFile(runtime, handler);
  const auto fail = [&](std::string message) {
    return missingIsInvalidArgument ? absl::InvalidArgumentError(std::move(message))
                                    : absl::FailedPreconditionError(std::move(message));
  };
  // validateHandlerSyntax() already keeps handlers inside the code; this guards callers that
  // skipped it, since the path is joined onto a real directory below.
  const fs::path relative(file);
  if (file.empty() || relative.is_absolute() ||
      std::any_of(relative.begin(), relative.end(), [](const fs::path& part) { return part == ".."; })) {
    return absl::InvalidArgumentError(
        absl::StrCat("handler '", toAbsl(handler), "' does not name a file inside the code"));
  }
  const auto needsFile = [&] {
    return absl::StrCat("handler '", toAbsl(handler), "' needs a regular file there on ",
                        toAbsl(common::runtimeName(runtime)));
  };

  struct stat st;
  // lstat: a link would not be code that was unpacked from the archive.
  if (::lstat((codeRoot / relative).c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return fail(absl::StrCat("code has no ", file, ", which handler '", toAbsl(handler), "' needs on ",
                               toAbsl(common::runtimeName(runtime))));
    }
    const int error = errno;
    return ioError("inspect", codeRoot / relative, error);
  }
  if (S_ISDIR(st.st_mode)) return fail(absl::StrCat(file, " in the code is a directory; ", needsFile()));
  if (!S_ISREG(st.st_mode)) return fail(absl::StrCat(file, " in the code is not a regular file; ", needsFile()));
  if (runtime == common::Runtime::kCustom && (st.st_mode & 0111) == 0) {
    return fail(absl::StrCat(file, " is not executable; the custom runtime runs it"));
  }
  return absl::OkStatus();
}

} // namespace surge::store
