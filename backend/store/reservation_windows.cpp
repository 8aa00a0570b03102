// Reservation windows in SQLite: times as Unix microseconds, one-off or recurring columns.
#include "store/reservation_windows.h"

#include "store/database.h"
#include "store/sqlite_call.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/strings/str_cat.h>

namespace surge::store {
namespace {

using reservations::OneOff;
using reservations::Recurring;
using reservations::Window;

StoredWindow readWindow(SQLite::Statement& row) {
  StoredWindow stored;
  stored.functionId = row.getColumn(0).getInt64();
  Window& window = stored.window;
  window.id = row.getColumn(1).getInt64();
  window.functionKey = absl::StrCat(row.getColumn(2).getString(), "/", row.getColumn(3).getString());
  window.count = static_cast<uint32_t>(row.getColumn(4).getInt64());
  if (row.getColumn(7).isNull()) {
    window.when =
        OneOff{absl::FromUnixMicros(row.getColumn(5).getInt64()), absl::FromUnixMicros(row.getColumn(6).getInt64())};
  } else {
    window.when = Recurring{row.getColumn(7).getString(), absl::Microseconds(row.getColumn(8).getInt64()),
                            row.getColumn(9).getString()};
  }
  window.lead = absl::Microseconds(row.getColumn(10).getInt64());
  window.leadComputed = row.getColumn(11).getInt() != 0;
  window.description = row.getColumn(12).getString();
  window.warning = row.getColumn(13).getString();
  window.createTime = absl::FromUnixMicros(row.getColumn(14).getInt64());
  return stored;
}

} // namespace

absl::StatusOr<Window> ReservationWindows::add(int64_t functionId, Window window) {
  common::MutexLock lock(db_.writeMutex());
  return sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::StatusOr<Window> {
    SQLite::Statement insert(db_.writer(), R"sql(
      INSERT INTO reservation_windows (function_id, count, start_us, end_us, cron, duration_us, time_zone, lead_us,
                                       lead_computed, description, warning, created_us)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))sql");
    insert.bind(1, functionId);
    insert.bind(2, static_cast<int64_t>(window.count));
    if (const auto* once = std::get_if<OneOff>(&window.when)) {
      insert.bind(3, absl::ToUnixMicros(once->start));
      insert.bind(4, absl::ToUnixMicros(once->end));
    } else {
      const auto& recurring = std::get<Recurring>(window.when);
      insert.bind(5, recurring.cron);
      insert.bind(6, absl::ToInt64Microseconds(recurring.duration));
      insert.bind(7, recurring.timeZone);
    }
    insert.bind(8, absl::ToInt64Microseconds(window.lead));
    insert.bind(9, window.leadComputed ? 1 : 0);
    insert.bind(10, window.description);
    insert.bind(11, window.warning);
    insert.bind(12, absl::ToUnixMicros(window.createTime));
    insert.exec();
    window.id = db_.writer().getLastInsertRowid();
    return window;
  });
}

absl::StatusOr<std::vector<StoredWindow>> ReservationWindows::list(int64_t functionId) const {
  return sqliteCall([&]() -> absl::StatusOr<std::vector<StoredWindow>> {
    auto lease = db_.read();
    SQLite::Statement query(*lease, R"sql(
      SELECT w.function_id, w.id, f.namespace, f.name, w.count, w.start_us, w.end_us, w.cron, w.duration_us,
             w.time_zone, w.lead_us, w.lead_computed, w.description, w.warning, w.created_us
      FROM reservation_windows w JOIN functions f ON f.id = w.function_id
      WHERE ? = 0 OR w.function_id = ? ORDER BY w.id)sql");
    query.bind(1, functionId);
    query.bind(2, functionId);
    std::vector<StoredWindow> windows;
    while (query.executeStep()) windows.push_back(readWindow(query));
    return windows;
  });
}

absl::Status ReservationWindows::remove(int64_t functionId, int64_t id) {
  common::MutexLock lock(db_.writeMutex());
  return sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::Status {
    SQLite::Statement erase(db_.writer(), "DELETE FROM reservation_windows WHERE id = ? AND function_id = ?");
    erase.bind(1, id);
    erase.bind(2, functionId);
    if (erase.exec() == 0) {
      return absl::NotFoundError(absl::StrCat("the function has no reservation window ", id,
                                              "; list its windows with ListReservationSchedules"));
    }
    return absl::OkStatus();
  });
}

absl::Status ReservationWindows::setWarning(int64_t id, const std::string& warning) {
  common::MutexLock lock(db_.writeMutex());
  return sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::Status {
    SQLite::Statement update(db_.writer(), "UPDATE reservation_windows SET warning = ? WHERE id = ?");
    update.bind(1, warning);
    update.bind(2, id);
    update.exec();
    return absl::OkStatus();
  });
}

} // namespace surge::store
