// The shared SQLite database: one writer, pooled readers, migrations at open.
#include "store/database.h"

#include "store/schema.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/strings/str_cat.h>

namespace surge::store {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr size_t kMaxIdleReaders = 8;

std::unique_ptr<SQLite::Database> openConnection(const std::filesystem::path& path, int flags) {
  auto db = std::make_unique<SQLite::Database>(path.string(), flags, kBusyTimeoutMs);
  db->exec("PRAGMA foreign_keys = ON");
  return db;
}

} // namespace

Database::Database(std::filesystem::path path) : path_(std::move(path)) {}

Database::~Database() = default;

absl::StatusOr<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path) {
  std::unique_ptr<Database> db(new Database(path));
  common::MutexLock lock(db->writeMu_);
  try {
    db->writer_ = openConnection(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    // Function environments may hold secrets: the database is for surged's user alone. SQLite
    // gives the -wal and -shm files the database file's mode, so this comes before WAL mode.
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::path file = path;
      file += suffix;
      std::error_code ec;
      std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                   std::filesystem::perm_options::replace, ec);
    }
    db->writer_->exec("PRAGMA journal_mode = WAL");
    // Control-plane writes are rare and must survive a power cut, so every commit is synced.
    db->writer_->exec("PRAGMA synchronous = FULL");
  } catch (const SQLite::Exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("cannot open ", path.string(), ": ", e.what()));
  }
  if (auto status = migrate(*db->writer_); !status.ok()) return status;
  return db;
}

Database::ReadLease::ReadLease(Database& db, std::unique_ptr<SQLite::Database> connection)
    : db_(&db), connection_(std::move(connection)) {}

Database::ReadLease::~ReadLease() {
  if (connection_) db_->release(std::move(connection_));
}

Database::ReadLease Database::read() {
  {
    common::MutexLock lock(idleMu_);
    if (!idleReaders_.empty()) {
      auto connection = std::move(idleReaders_.back());
      idleReaders_.pop_back();
      return ReadLease(*this, std::move(connection));
    }
  }
  return ReadLease(*this, openConnection(path_, SQLite::OPEN_READONLY));
}

void Database::release(std::unique_ptr<SQLite::Database> connection) {
  common::MutexLock lock(idleMu_);
  if (idleReaders_.size() < kMaxIdleReaders) idleReaders_.push_back(std::move(connection));
}

} // namespace surge::store
