// The audit trail: every change to functions, code, keys and reservations, with who made it.
#pragma once

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include <cstdint>
#include <string>
#include <vector>

namespace surge::common {
class Clock;
}
namespace surge::store {
class Database;
}

namespace surge::auth {

struct Principal;

struct AuditEvent {
  int64_t id = 0;
  absl::Time time;
  std::string keyId;
  std::string keyName;
  std::string action; // e.g. "function.create"
  std::string target; // e.g. "default/hello"
  std::string detail; // e.g. "version=3"
};

struct AuditPage {
  std::vector<AuditEvent> events;
  std::string nextPageToken;
};

// Thread-safe; writes block on SQLite, so call it from a worker thread.
class AuditLog {
public:
  AuditLog(store::Database& db, const common::Clock& clock) : db_(db), clock_(clock) {}

  // Appends one event. A failure is logged and returned; the change it describes has happened.
  absl::Status record(const Principal& who, const std::string& action, const std::string& target,
                      const std::string& detail = "");
  // Oldest first, from `since`; pageSize 1-1000 (0: 100); pageToken from a previous page.
  absl::StatusOr<AuditPage> list(absl::Time since, int pageSize, const std::string& pageToken) const;

private:
  store::Database& db_;
  const common::Clock& clock_;
};

} // namespace surge::auth
