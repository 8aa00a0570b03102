// Content-addressed storage of code archives: one file per SHA-256, written crash-safely.
#pragma once

#include "common/unique_fd.h"

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace surge::common {
class Sha256;
}

namespace surge::store {

// Receives an archive as it streams in: appends to a private temp file and hashes on the way.
// The temp file is removed when the writer is destroyed unless BlobStore::commit() took it.
// Not thread-safe; one writer per upload.
class BlobWriter {
public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  // INVALID_ARGUMENT once the total would pass the size limit; INTERNAL on a write error.
  absl::Status append(std::string_view bytes);
  // fsyncs and closes the file and returns the SHA-256 of everything appended. Call once.
  absl::StatusOr<std::string> finish();

  int64_t size() const { return size_; }
  const std::filesystem::path& tempPath() const { return tempPath_; }

private:
  friend class BlobStore;
  BlobWriter(std::filesystem::path tempPath, common::UniqueFd fd, int64_t maxBytes);

  std::filesystem::path tempPath_;
  common::UniqueFd fd_; // closed by finish()
  int64_t size_ = 0;
  int64_t maxBytes_ = 0;
  bool committed_ = false;
  std::unique_ptr<common::Sha256> hasher_;
};

// Layout: <root>/sha256/<first two hex digits>/<sha256>. Temp files live in a sibling temp dir
// on the same filesystem, so that placing a blob is one atomic rename.
// Thread-safe for concurrent writers; placing and removing blobs is serialised by the caller
// (FunctionStore's writer lock) so that a blob is never removed while a commit references it.
class BlobStore {
public:
  // Creates the folders if needed.
  static absl::StatusOr<std::unique_ptr<BlobStore>> open(std::filesystem::path root, std::filesystem::path tempDir);

  // A writer whose appends past maxBytes fail.
  absl::StatusOr<std::unique_ptr<BlobWriter>> newWriter(int64_t maxBytes);

  // Moves a finished writer's file into place under `sha256` (atomic rename, then fsync of the
  // folder). If that blob exists already the temp file is simply dropped: identical uploads are
  // stored once.
  absl::Status commit(BlobWriter& writer, const std::string& sha256);

  bool contains(const std::string& sha256) const;
  std::filesystem::path pathFor(const std::string& sha256) const;
  // Removing an absent blob is OK.
  absl::Status remove(const std::string& sha256);
  // Every stored blob's SHA-256.
  std::vector<std::string> list() const;

private:
  BlobStore(std::filesystem::path root, std::filesystem::path tempDir);

  std::filesystem::path root_;
  std::filesystem::path tempDir_;
};

// fsync of a directory, so that a rename or unlink in it survives a power cut.
absl::Status syncDirectory(const std::filesystem::path& dir);

} // namespace surge::store
