// The store's SQLite schema and its migrations, applied in order at start-up.
#pragma once

#include <absl/status/status.h>

namespace SQLite {
class Database;
}

namespace surge::store {

// The schema version this build writes. A database with a newer version is refused.
int latestSchemaVersion();

// Brings the database up to latestSchemaVersion(), each migration in its own transaction.
// FAILED_PRECONDITION if the database was written by a newer Surge.
absl::Status migrate(SQLite::Database& db);

} // namespace surge::store
