// The audit trail, an append-only SQLite table.
#include "auth/audit_log.h"

#include "auth/principal.h"
#include "common/clock.h"
#include "store/database.h"
#include "store/sqlite_call.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

namespace surge::auth {

absl::Status AuditLog::record(const Principal& who, const std::string& action, const std::string& target,
                              const std::string& detail) {
  common::MutexLock lock(db_.writeMutex());
  auto recorded = store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::Status {
    SQLite::Statement insert(db_.writer(), R"sql(
      INSERT INTO audit_events (time_us, key_id, key_name, action, target, detail) VALUES (?, ?, ?, ?, ?, ?))sql");
    insert.bind(1, absl::ToUnixMicros(clock_.now()));
    insert.bind(2, who.keyId);
    insert.bind(3, who.keyName);
    insert.bind(4, action);
    insert.bind(5, target);
    insert.bind(6, detail);
    insert.exec();
    return absl::OkStatus();
  });
  if (!recorded.ok()) {
    spdlog::error("audit: cannot record {} {} by {}: {}", action, target, who.keyName, recorded.ToString());
  }
  return recorded;
}

absl::StatusOr<AuditPage> AuditLog::list(absl::Time since, int pageSize, const std::string& pageToken) const {
  if (pageSize == 0) pageSize = 100;
  if (pageSize < 1 || pageSize > 1000) {
    return absl::InvalidArgumentError(absl::StrCat("page_size ", pageSize, " is out of range: allowed 1-1000"));
  }
  int64_t after = 0;
  if (!pageToken.empty() && !absl::SimpleAtoi(pageToken, &after)) {
    return absl::InvalidArgumentError("page_token is not one this server issued; start again without it");
  }
  return store::sqliteCall([&]() -> absl::StatusOr<AuditPage> {
    auto lease = db_.read();
    SQLite::Statement query(*lease, R"sql(
      SELECT id, time_us, key_id, key_name, action, target, detail FROM audit_events
      WHERE time_us >= ? AND id > ? ORDER BY id LIMIT ?)sql");
    query.bind(1, since == absl::InfinitePast() ? int64_t{0} : absl::ToUnixMicros(since));
    query.bind(2, after);
    query.bind(3, pageSize + 1);
    AuditPage page;
    while (query.executeStep()) {
      AuditEvent event;
      event.id = query.getColumn(0).getInt64();
      event.time = absl::FromUnixMicros(query.getColumn(1).getInt64());
      event.keyId = query.getColumn(2).getString();
      event.keyName = query.getColumn(3).getString();
      event.action = query.getColumn(4).getString();
      event.target = query.getColumn(5).getString();
      event.detail = query.getColumn(6).getString();
      page.events.push_back(std::move(event));
    }
    if (static_cast<int>(page.events.size()) > pageSize) {
      page.events.pop_back();
      page.nextPageToken = absl::StrCat(page.events.back().id);
    }
    return page;
  });
}

} // namespace surge::auth
