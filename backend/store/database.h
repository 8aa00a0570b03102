// The SQLite database in the data dir, shared by every part that keeps metadata there
// (functions, API keys, the audit trail): one writer connection and a pool of readers.
#pragma once

#include "common/mutex.h"

#include <absl/base/thread_annotations.h>
#include <absl/status/statusor.h>

#include <filesystem>
#include <memory>
#include <vector>

namespace SQLite {
class Database;
} // namespace SQLite

namespace surge::store {

// Thread-safe. Writes are serialised: take writeMutex() and use writer(); every multi-row change
// is the caller's transaction on that connection. Reads run concurrently on leased read-only
// connections (WAL mode lets them proceed while a write is in progress).
class Database {
public:
  // Opens or creates `path` (WAL, foreign keys, synchronous = FULL) and applies migrations.
  // FAILED_PRECONDITION if it cannot be opened or was written by a newer Surge.
  static absl::StatusOr<std::unique_ptr<Database>> open(const std::filesystem::path& path);
  ~Database();

  common::Mutex& writeMutex() ABSL_LOCK_RETURNED(writeMu_) { return writeMu_; }
  SQLite::Database& writer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writeMu_) { return *writer_; }

  // A read-only connection for the lifetime of the lease.
  class ReadLease {
  public:
    ReadLease(Database& db, std::unique_ptr<SQLite::Database> connection);
    ~ReadLease();
    ReadLease(ReadLease&&) = default;
    SQLite::Database& operator*() { return *connection_; }

  private:
    Database* db_;
    std::unique_ptr<SQLite::Database> connection_;
  };
  ReadLease read();

private:
  explicit Database(std::filesystem::path path);
  void release(std::unique_ptr<SQLite::Database> connection);

  const std::filesystem::path path_;
  common::Mutex writeMu_;
  std::unique_ptr<SQLite::Database> writer_ ABSL_GUARDED_BY(writeMu_);
  common::Mutex idleMu_;
  std::vector<std::unique_ptr<SQLite::Database>> idleReaders_ ABSL_GUARDED_BY(idleMu_);
};

} // namespace surge::store
