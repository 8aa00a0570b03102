// Server runs, numbered by SQLite's AUTOINCREMENT, which never hands out a number twice.
#include "store/server_runs.h"

#include "store/database.h"
#include "store/sqlite_call.h"

#include <SQLiteCpp/SQLiteCpp.h>

namespace surge::store {

absl::StatusOr<int64_t> beginServerRun(Database& db, absl::Time now) {
  common::MutexLock lock(db.writeMutex());
  return sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db.writeMutex()) -> absl::StatusOr<int64_t> {
    SQLite::Statement insert(db.writer(), "INSERT INTO server_runs (started_us) VALUES (?)");
    insert.bind(1, absl::ToUnixMicros(now));
    insert.exec();
    return db.writer().getLastInsertRowid();
  });
}

} // namespace surge::store
