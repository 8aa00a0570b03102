// The store's SQLite schema. Append migrations; never edit one that has shipped.
#include "store/schema.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/strings/str_cat.h>

#include <array>

namespace surge::store {
namespace {

// Migration i brings the schema from version i to version i + 1.
constexpr std::array kMigrations = {
    // 1: functions, their environment and their code versions.
    R"sql(
    CREATE TABLE functions (
      id                      INTEGER PRIMARY KEY AUTOINCREMENT,
      namespace               TEXT    NOT NULL,
      name                    TEXT    NOT NULL,
      runtime                 TEXT    NOT NULL CHECK (runtime IN ('python3', 'nodejs', 'custom')),
      handler                 TEXT    NOT NULL,
      initializer             TEXT    NOT NULL DEFAULT '',
      initializer_timeout_s   INTEGER NOT NULL,
      memory_mb               INTEGER NOT NULL,
      timeout_s               INTEGER NOT NULL,
      instance_concurrency    INTEGER NOT NULL,
      max_instances           INTEGER NOT NULL,
      queue_timeout_s         INTEGER NOT NULL,  -- 0: follow timeout_s
      max_queue_length        INTEGER NOT NULL,
      reserved_target         INTEGER NOT NULL DEFAULT 0,
      network_access          INTEGER NOT NULL DEFAULT 0,
      description             TEXT    NOT NULL DEFAULT '',
      active_version          INTEGER NOT NULL DEFAULT 0,  -- 0: no code yet
      next_version            INTEGER NOT NULL DEFAULT 1,  -- version numbers are never reused
      revision                INTEGER NOT NULL DEFAULT 1,
      created_us              INTEGER NOT NULL,
      updated_us              INTEGER NOT NULL,
      UNIQUE (namespace, name)
    );
    CREATE TABLE function_env (
      function_id INTEGER NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
      key         TEXT    NOT NULL,
      value       TEXT    NOT NULL,
      PRIMARY KEY (function_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE code_versions (
      function_id     INTEGER NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
      version         INTEGER NOT NULL,
      sha256          TEXT    NOT NULL CHECK (length(sha256) = 64),
      size_bytes      INTEGER NOT NULL,
      unpacked_bytes  INTEGER NOT NULL,
      file_count      INTEGER NOT NULL,
      uploaded_us     INTEGER NOT NULL,
      PRIMARY KEY (function_id, version)
    ) WITHOUT ROWID;
    CREATE INDEX code_versions_by_sha256 ON code_versions(sha256);
    )sql",
    // 2: API keys (only a salted hash of each secret) and the audit trail.
    R"sql(
    CREATE TABLE api_keys (
      id            TEXT    PRIMARY KEY,
      name          TEXT    NOT NULL,
      role          TEXT    NOT NULL CHECK (role IN ('admin', 'developer', 'invoker', 'viewer')),
      functions     TEXT    NOT NULL DEFAULT '',  -- comma-separated; empty: all
      namespaces    TEXT    NOT NULL DEFAULT '',  -- comma-separated; empty: all
      salt          BLOB    NOT NULL,
      secret_hash   BLOB    NOT NULL,             -- SHA-256(salt || secret)
      created_us    INTEGER NOT NULL,
      last_used_us  INTEGER,
      revoked_us    INTEGER
    ) WITHOUT ROWID;
    -- Names are unique among active keys only, so a revoked name can be reused.
    CREATE UNIQUE INDEX api_keys_active_name ON api_keys(name) WHERE revoked_us IS NULL;
    CREATE TABLE audit_events (
      id        INTEGER PRIMARY KEY AUTOINCREMENT,
      time_us   INTEGER NOT NULL,
      key_id    TEXT    NOT NULL,
      key_name  TEXT    NOT NULL,
      action    TEXT    NOT NULL,
      target    TEXT    NOT NULL,
      detail    TEXT    NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_events_by_time ON audit_events(time_us);
    )sql",
    // 3: server runs, which number each start so that instance ids are unique across restarts.
    R"sql(
    CREATE TABLE server_runs (
      id          INTEGER PRIMARY KEY AUTOINCREMENT,
      started_us  INTEGER NOT NULL
    );
    )sql",
    // 4: reservation windows: a one-off start and end, or a cron with a duration in a time zone.
    R"sql(
    CREATE TABLE reservation_windows (
      id             INTEGER PRIMARY KEY AUTOINCREMENT,
      function_id    INTEGER NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
      count          INTEGER NOT NULL CHECK (count > 0),
      start_us       INTEGER,
      end_us         INTEGER,
      cron           TEXT,
      duration_us    INTEGER,
      time_zone      TEXT,
      lead_us        INTEGER NOT NULL,
      lead_computed  INTEGER NOT NULL,
      description    TEXT    NOT NULL DEFAULT '',
      warning        TEXT    NOT NULL DEFAULT '',
      created_us     INTEGER NOT NULL,
      CHECK ((start_us IS NOT NULL AND end_us IS NOT NULL AND cron IS NULL) OR
             (start_us IS NULL AND end_us IS NULL AND cron IS NOT NULL AND duration_us IS NOT NULL))
    );
    CREATE INDEX reservation_windows_by_function ON reservation_windows(function_id);
    )sql",
    // 5: a target tracking policy of reserved capacity, on the function (tracking_max NULL: none).
    R"sql(
    ALTER TABLE functions ADD COLUMN tracking_min INTEGER;
    ALTER TABLE functions ADD COLUMN tracking_max INTEGER;
    ALTER TABLE functions ADD COLUMN tracking_utilization REAL;
    ALTER TABLE functions ADD COLUMN tracking_cooldown_s INTEGER;
    )sql",
};

int currentVersion(SQLite::Database& db) {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  SQLite::Statement query(db, "SELECT max(version) FROM schema_version");
  if (!query.executeStep() || query.getColumn(0).isNull()) return 0;
  return query.getColumn(0).getInt();
}

} // namespace

int latestSchemaVersion() { return static_cast<int>(kMigrations.size()); }

absl::Status migrate(SQLite::Database& db) {
  try {
    const int from = currentVersion(db);
    if (from > latestSchemaVersion()) {
      return absl::FailedPreconditionError(absl::StrCat("the database has schema version ", from,
                                                        " but this surged knows only up to ", latestSchemaVersion(),
                                                        "; run a newer surged"));
    }
    for (int version = from; version < latestSchemaVersion(); ++version) {
      SQLite::Transaction transaction(db);
      db.exec(kMigrations[static_cast<size_t>(version)]);
      SQLite::Statement record(db, "INSERT INTO schema_version (version) VALUES (?)");
      record.bind(1, version + 1);
      record.exec();
      transaction.commit();
    }
    return absl::OkStatus();
  } catch (const SQLite::Exception& e) {
    return absl::InternalError(absl::StrCat("schema migration failed: ", e.what()));
  }
}

} // namespace surge::store
