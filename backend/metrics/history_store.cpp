// HistoryStore: the seconds and minutes tables, the minute roll-up, retention and queries.
#include "metrics/history_store.h"

#include "metrics/sample_codec.h"
#include "store/sqlite_call.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/strings/str_cat.h>

#include <algorithm>
#include <map>

namespace surge::metrics {
namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr int64_t kMinute = 60;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS seconds(
  series TEXT NOT NULL, t INTEGER NOT NULL, sample BLOB NOT NULL,
  PRIMARY KEY(series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS minutes(
  series TEXT NOT NULL, t INTEGER NOT NULL, sample BLOB NOT NULL,
  peak_in_flight INTEGER NOT NULL, in_flight_seconds REAL NOT NULL,
  PRIMARY KEY(series, t)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rolled(until INTEGER NOT NULL);
)sql";

int64_t floorTo(int64_t t, int64_t step) { return t >= 0 ? t / step * step : -((-t + step - 1) / step) * step; }

// Adds `from` into `into`: counters and histograms add up, gauges are the later ones'.
void accumulate(HistoryPoint& into, const Sample& from, uint32_t peak, double inFlightSeconds) {
  into.sample.counters.add(from.counters);
  into.sample.latency.merge(from.latency);
  into.sample.gauges = from.gauges;
  into.peakInFlight = std::max(into.peakInFlight, peak);
  into.meanInFlight += inFlightSeconds; // a total until the caller divides by the step
}

} // namespace

HistoryStore::HistoryStore(HistoryOptions options) : options_(std::move(options)) {}

HistoryStore::~HistoryStore() = default;

absl::StatusOr<std::unique_ptr<HistoryStore>> HistoryStore::open(HistoryOptions options) {
  std::unique_ptr<HistoryStore> store(new HistoryStore(std::move(options)));
  common::MutexLock lock(store->mu_);
  try {
    store->db_ = std::make_unique<SQLite::Database>(store->options_.file.string(),
                                                    SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, kBusyTimeoutMs);
    // Admin-level data (docs/security.md): for surged's user alone. SQLite gives the -wal and
    // -shm files the database file's mode, so this comes before WAL mode.
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::path file = store->options_.file;
      file += suffix;
      std::error_code ec;
      std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                   std::filesystem::perm_options::replace, ec);
    }
    store->db_->exec("PRAGMA journal_mode = WAL");
    // Losing the last second of metrics in a power cut is acceptable; a sync per second is not.
    store->db_->exec("PRAGMA synchronous = NORMAL");
    store->db_->exec(kSchema);
  } catch (const SQLite::Exception& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the metrics history ", store->options_.file.string(), ": ", e.what()));
  }
  return store;
}

absl::Status HistoryStore::append(const std::vector<std::pair<std::string, Sample>>& second) {
  common::MutexLock lock(mu_);
  return store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    SQLite::Transaction transaction(*db_);
    SQLite::Statement insert(*db_, "INSERT OR REPLACE INTO seconds(series, t, sample) VALUES (?, ?, ?)");
    for (const auto& [series, sample] : second) {
      const std::string blob = encodeSample(sample);
      insert.bind(1, series);
      insert.bind(2, static_cast<int64_t>(sample.second));
      insert.bind(3, blob.data(), static_cast<int>(blob.size()));
      insert.exec();
      insert.reset();
    }
    transaction.commit();
    return absl::OkStatus();
  });
}

absl::Status HistoryStore::compact(int64_t now) {
  common::MutexLock lock(mu_);
  const int64_t currentMinute = floorTo(now, kMinute);
  return store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    SQLite::Transaction transaction(*db_);
    int64_t rolledUntil = 0;
    {
      SQLite::Statement last(*db_, "SELECT until FROM rolled");
      if (last.executeStep()) {
        rolledUntil = last.getColumn(0).getInt64();
      } else {
        SQLite::Statement first(*db_, "SELECT MIN(t) FROM seconds");
        if (first.executeStep() && !first.getColumn(0).isNull()) {
          rolledUntil = floorTo(first.getColumn(0).getInt64(), kMinute);
        } else {
          rolledUntil = currentMinute;
        }
      }
    }
    if (rolledUntil < currentMinute) {
      // Every series' seconds of the finished minutes, merged per (series, minute).
      std::map<std::pair<std::string, int64_t>, HistoryPoint> minutes;
      SQLite::Statement rows(*db_, "SELECT series, t, sample FROM seconds WHERE t >= ? AND t < ?");
      rows.bind(1, rolledUntil);
      rows.bind(2, currentMinute);
      while (rows.executeStep()) {
        const SQLite::Column blob = rows.getColumn(2);
        auto sample = decodeSample(std::string_view(static_cast<const char*>(blob.getBlob()), blob.getBytes()));
        if (!sample.ok()) continue; // a row this version cannot read: left out of the minute
        const int64_t minute = floorTo(rows.getColumn(1).getInt64(), kMinute);
        HistoryPoint& point = minutes[{rows.getColumn(0).getString(), minute}];
        point.sample.second = minute;
        accumulate(point, *sample, sample->gauges.inFlight, sample->gauges.inFlight);
      }
      SQLite::Statement insert(*db_, "INSERT OR REPLACE INTO minutes(series, t, sample, peak_in_flight, "
                                     "in_flight_seconds) VALUES (?, ?, ?, ?, ?)");
      for (const auto& [key, point] : minutes) {
        const std::string blob = encodeSample(point.sample);
        insert.bind(1, key.first);
        insert.bind(2, key.second);
        insert.bind(3, blob.data(), static_cast<int>(blob.size()));
        insert.bind(4, static_cast<int64_t>(point.peakInFlight));
        insert.bind(5, point.meanInFlight);
        insert.exec();
        insert.reset();
      }
      db_->exec("DELETE FROM rolled");
      SQLite::Statement mark(*db_, "INSERT INTO rolled(until) VALUES (?)");
      mark.bind(1, currentMinute);
      mark.exec();
    }
    SQLite::Statement forgetSeconds(*db_, "DELETE FROM seconds WHERE t < ?");
    forgetSeconds.bind(1, now - options_.secondsKept);
    forgetSeconds.exec();
    SQLite::Statement forgetMinutes(*db_, "DELETE FROM minutes WHERE t < ?");
    forgetMinutes.bind(1, now - options_.minutesKept);
    forgetMinutes.exec();
    transaction.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<HistoryRange> HistoryStore::query(const std::string& series, int64_t from, int64_t to, int64_t step,
                                                 int64_t now) const {
  if (from >= to) return absl::InvalidArgumentError("the range is empty: 'from' must be before 'to'");
  if (step < 0) return absl::InvalidArgumentError("the step must be 0 (the finest) or a number of seconds");
  const bool bySeconds = step < kMinute && from >= now - options_.secondsKept;
  HistoryRange range;
  range.step = bySeconds ? std::max<int64_t>(step, 1) : std::max<int64_t>((step + kMinute - 1) / kMinute, 1) * kMinute;
  const int64_t first = floorTo(from, range.step);
  if (static_cast<uint64_t>((to - first + range.step - 1) / range.step) > options_.maxPoints) {
    return absl::InvalidArgumentError(
        absl::StrCat("a step of ", range.step, " s gives more than ", options_.maxPoints, " points; raise the step"));
  }
  common::MutexLock lock(mu_);
  const absl::Status read = store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    SQLite::Statement rows(*db_, bySeconds
                                     ? "SELECT t, sample, 0, 0 FROM seconds WHERE series = ? AND t >= ? AND t < ? "
                                       "ORDER BY t"
                                     : "SELECT t, sample, peak_in_flight, in_flight_seconds FROM minutes "
                                       "WHERE series = ? AND t >= ? AND t < ? ORDER BY t");
    rows.bind(1, series);
    rows.bind(2, first);
    rows.bind(3, to);
    while (rows.executeStep()) {
      const SQLite::Column blob = rows.getColumn(1);
      auto sample = decodeSample(std::string_view(static_cast<const char*>(blob.getBlob()), blob.getBytes()));
      if (!sample.ok()) return absl::DataLossError(absl::StrCat("metrics history: ", sample.status().message()));
      const int64_t start = floorTo(rows.getColumn(0).getInt64(), range.step);
      if (range.points.empty() || range.points.back().sample.second != start) {
        range.points.emplace_back().sample.second = start;
      }
      const uint32_t peak = bySeconds ? sample->gauges.inFlight : static_cast<uint32_t>(rows.getColumn(2).getInt64());
      const double inFlightSeconds = bySeconds ? sample->gauges.inFlight : rows.getColumn(3).getDouble();
      accumulate(range.points.back(), *sample, peak, inFlightSeconds);
    }
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  for (HistoryPoint& point : range.points) point.meanInFlight /= static_cast<double>(range.step);
  return range;
}

absl::StatusOr<std::vector<std::string>> HistoryStore::seriesBetween(int64_t from, int64_t to) const {
  std::vector<std::string> names;
  common::MutexLock lock(mu_);
  const absl::Status read = store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    SQLite::Statement rows(*db_, "SELECT series FROM seconds WHERE t >= ?1 AND t < ?2 "
                                 "UNION SELECT series FROM minutes WHERE t >= ?1 - 59 AND t < ?2 ORDER BY 1");
    rows.bind(1, from);
    rows.bind(2, to);
    while (rows.executeStep()) names.push_back(rows.getColumn(0).getString());
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  return names;
}

absl::StatusOr<std::vector<Frame>> HistoryStore::framesBetween(int64_t from, int64_t to) const {
  std::vector<Frame> frames;
  common::MutexLock lock(mu_);
  const absl::Status read = store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    SQLite::Statement rows(*db_, "SELECT t, series, sample FROM seconds WHERE t >= ? AND t < ? ORDER BY t, series");
    rows.bind(1, from);
    rows.bind(2, to);
    while (rows.executeStep()) {
      const SQLite::Column blob = rows.getColumn(2);
      auto sample = decodeSample(std::string_view(static_cast<const char*>(blob.getBlob()), blob.getBytes()));
      if (!sample.ok()) continue; // a row this version cannot read: left out, as in compact()
      const int64_t second = rows.getColumn(0).getInt64();
      if (frames.empty() || frames.back().second != second) frames.emplace_back().second = second;
      frames.back().series.emplace_back(rows.getColumn(1).getString(), std::move(*sample));
    }
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  return frames;
}

} // namespace surge::metrics
