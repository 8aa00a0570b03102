// Content-addressed storage of code archives.
#include "store/blob_store.h"

#include "common/sha256.h"

#include <absl/strings/str_cat.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace surge::store {
namespace fs = std::filesystem;

namespace {

absl::Status errnoError(absl::string_view what, const fs::path& path) {
  return absl::InternalError(absl::StrCat(what, " ", path.string(), ": ", std::strerror(errno)));
}

} // namespace

absl::Status syncDirectory(const fs::path& dir) {
  const common::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errnoError("cannot open folder", dir);
  if (::fsync(fd.get()) != 0) return errnoError("cannot fsync folder", dir);
  return absl::OkStatus();
}

BlobWriter::BlobWriter(fs::path tempPath, common::UniqueFd fd, int64_t maxBytes)
    : tempPath_(std::move(tempPath)), fd_(std::move(fd)), maxBytes_(maxBytes),
      hasher_(std::make_unique<common::Sha256>()) {}

BlobWriter::~BlobWriter() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(tempPath_, ec);
  }
}

absl::Status BlobWriter::append(std::string_view bytes) {
  if (!fd_.valid()) return absl::FailedPreconditionError("upload already finished");
  if (size_ + static_cast<int64_t>(bytes.size()) > maxBytes_) {
    return absl::InvalidArgumentError(absl::StrCat("code archive is larger than the limit of ", maxBytes_, " bytes"));
  }
  const char* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(fd_.get(), data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      return errnoError("cannot write", tempPath_);
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
  hasher_->update(bytes);
  size_ += static_cast<int64_t>(bytes.size());
  return absl::OkStatus();
}

absl::StatusOr<std::string> BlobWriter::finish() {
  if (!fd_.valid()) return absl::FailedPreconditionError("upload already finished");
  if (::fsync(fd_.get()) != 0) return errnoError("cannot fsync", tempPath_);
  fd_.reset();
  return hasher_->hexDigest();
}

BlobStore::BlobStore(fs::path root, fs::path tempDir) : root_(std::move(root)), tempDir_(std::move(tempDir)) {}

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::open(fs::path root, fs::path tempDir) {
  std::error_code ec;
  fs::create_directories(root / "sha256", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", root.string(), ": ", ec.message()));
  fs::create_directories(tempDir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", tempDir.string(), ": ", ec.message()));
  // Archives and uploads in progress are surged's alone.
  fs::permissions(root, fs::perms::owner_all, fs::perm_options::replace, ec);
  fs::permissions(tempDir, fs::perms::owner_all, fs::perm_options::replace, ec);
  return std::unique_ptr<BlobStore>(new BlobStore(std::move(root), std::move(tempDir)));
}

absl::StatusOr<std::unique_ptr<BlobWriter>> BlobStore::newWriter(int64_t maxBytes) {
  std::string pattern = (tempDir_ / "upload-XXXXXX").string();
  common::UniqueFd fd(::mkostemp(pattern.data(), O_CLOEXEC));
  if (!fd.valid()) return errnoError("cannot create a temp file in", tempDir_);
  return std::unique_ptr<BlobWriter>(new BlobWriter(fs::path(pattern), std::move(fd), maxBytes));
}

fs::path BlobStore::pathFor(const std::string& sha256) const { return root_ / "sha256" / sha256.substr(0, 2) / sha256; }

bool BlobStore::contains(const std::string& sha256) const {
  std::error_code ec;
  return fs::is_regular_file(pathFor(sha256), ec);
}

absl::Status BlobStore::commit(BlobWriter& writer, const std::string& sha256) {
  if (!common::isSha256Hex(sha256)) return absl::InternalError("blob key is not a SHA-256");
  if (contains(sha256)) return absl::OkStatus(); // the writer's destructor drops the temp file
  const fs::path target = pathFor(sha256);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", target.parent_path().string(), ": ", ec.message()));
  if (::rename(writer.tempPath().c_str(), target.c_str()) != 0) return errnoError("cannot place blob", target);
  writer.committed_ = true;
  return syncDirectory(target.parent_path());
}

absl::Status BlobStore::remove(const std::string& sha256) {
  std::error_code ec;
  fs::remove(pathFor(sha256), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot remove blob ", sha256, ": ", ec.message()));
  return absl::OkStatus();
}

std::vector<std::string> BlobStore::list() const {
  std::vector<std::string> shas;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_ / "sha256", ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) shas.push_back(it->path().filename().string());
  }
  return shas;
}

} // namespace surge::store
