// The function store: SQLite metadata, content-addressed blobs and unpacked code folders.
//
// Crash safety rests on one ordering: files first, then the row that points at them. A blob or
// code folder is placed by an atomic rename before the transaction that references it commits,
// so a crash can leave an unreferenced file (removed at the next start) but never a row that
// points at a missing or half-written file.
#include "store/function_store.h"

#include "common/clock.h"
#include "common/failpoint.h"
#include "common/files.h"
#include "common/function_ref.h"
#include "common/names.h"
#include "store/blob_store.h"
#include "store/database.h"
#include "store/schema.h"
#include "store/sqlite_call.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/cleanup/cleanup.h>
#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <cstdio>
#include <random>
#include <set>
#include <system_error>

namespace surge::store {
namespace fs = std::filesystem;

namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

constexpr const char* kSelectFunction = R"sql(
  SELECT f.id, f.namespace, f.name, f.runtime, f.handler, f.initializer, f.initializer_timeout_s,
         f.memory_mb, f.timeout_s, f.instance_concurrency, f.max_instances, f.queue_timeout_s,
         f.max_queue_length, f.reserved_target, f.network_access, f.description,
         f.active_version, f.revision, f.created_us, f.updated_us, coalesce(v.sha256, ''),
         f.tracking_min, f.tracking_max, f.tracking_utilization, f.tracking_cooldown_s
  FROM functions f
  LEFT JOIN code_versions v ON v.function_id = f.id AND v.version = f.active_version
)sql";

struct FunctionRow {
  int64_t id = 0;
  FunctionRecord record;
};

std::string qualified(const std::string& ns, const std::string& name) { return common::FunctionRef{ns, name}.key(); }

absl::Status notFound(const std::string& ns, const std::string& name) {
  return absl::NotFoundError(absl::StrCat("function '", qualified(ns, name), "' not found"));
}

// A function is addressed by (namespace, name); both follow the naming rule.
absl::Status validateRef(const std::string& ns, const std::string& name) {
  if (auto status = common::validateName("namespace", ns); !status.ok()) return status;
  return common::validateName("function name", name);
}

absl::Status checkRevision(const FunctionRecord& record, int64_t expectedRevision) {
  if (expectedRevision == 0 || expectedRevision == record.revision) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("function '", qualified(record.ns, record.name), "' is at revision ",
                                         record.revision, ", not the expected ", expectedRevision,
                                         "; read it again and retry"));
}

FunctionRow readFunctionRow(SQLite::Statement& query) {
  FunctionRow row;
  FunctionRecord& r = row.record;
  row.id = query.getColumn(0).getInt64();
  r.id = row.id;
  r.ns = query.getColumn(1).getString();
  r.name = query.getColumn(2).getString();
  r.config.runtime = common::parseRuntime(query.getColumn(3).getString()).value_or(common::Runtime::kPython3);
  r.config.handler = query.getColumn(4).getString();
  r.config.initializer = query.getColumn(5).getString();
  r.config.initializerTimeoutSeconds = query.getColumn(6).getUInt();
  r.config.memoryMb = query.getColumn(7).getUInt();
  r.config.timeoutSeconds = query.getColumn(8).getUInt();
  r.config.instanceConcurrency = query.getColumn(9).getUInt();
  r.config.maxInstances = query.getColumn(10).getUInt();
  r.config.queueTimeoutSeconds = query.getColumn(11).getUInt();
  r.config.maxQueueLength = query.getColumn(12).getUInt();
  r.config.reservedTarget = query.getColumn(13).getUInt();
  r.config.networkAccess = query.getColumn(14).getInt() != 0;
  r.config.description = query.getColumn(15).getString();
  r.activeVersion = query.getColumn(16).getInt64();
  r.revision = query.getColumn(17).getInt64();
  r.createTime = absl::FromUnixMicros(query.getColumn(18).getInt64());
  r.updateTime = absl::FromUnixMicros(query.getColumn(19).getInt64());
  r.activeSha256 = query.getColumn(20).getString();
  if (!query.getColumn(22).isNull()) {
    r.config.tracking = common::TrackingPolicy{.minReserved = query.getColumn(21).getUInt(),
                                               .maxReserved = query.getColumn(22).getUInt(),
                                               .targetUtilization = query.getColumn(23).getDouble(),
                                               .cooldown = absl::Seconds(query.getColumn(24).getInt64())};
  }
  return row;
}

void loadEnvironment(SQLite::Database& db, int64_t functionId, FunctionConfig& config) {
  SQLite::Statement query(db, "SELECT key, value FROM function_env WHERE function_id = ?");
  query.bind(1, functionId);
  while (query.executeStep()) config.environment[query.getColumn(0).getString()] = query.getColumn(1).getString();
}

std::optional<FunctionRow> loadFunction(SQLite::Database& db, const std::string& ns, const std::string& name) {
  SQLite::Statement query(db, absl::StrCat(kSelectFunction, " WHERE f.namespace = ? AND f.name = ?"));
  query.bind(1, ns);
  query.bind(2, name);
  if (!query.executeStep()) return std::nullopt;
  FunctionRow row = readFunctionRow(query);
  loadEnvironment(db, row.id, row.record.config);
  return row;
}

// Writes every mutable column and the environment of an existing function.
void saveFunction(SQLite::Database& db, int64_t id, const FunctionRecord& r) {
  SQLite::Statement update(db, R"sql(
    UPDATE functions SET runtime = ?, handler = ?, initializer = ?, initializer_timeout_s = ?,
      memory_mb = ?, timeout_s = ?, instance_concurrency = ?, max_instances = ?, queue_timeout_s = ?,
      max_queue_length = ?, reserved_target = ?, network_access = ?, description = ?,
      active_version = ?, revision = ?, updated_us = ?
    WHERE id = ?)sql");
  const FunctionConfig& c = r.config;
  update.bind(1, std::string(common::runtimeName(c.runtime)));
  update.bind(2, c.handler);
  update.bind(3, c.initializer);
  update.bind(4, c.initializerTimeoutSeconds);
  update.bind(5, c.memoryMb);
  update.bind(6, c.timeoutSeconds);
  update.bind(7, c.instanceConcurrency);
  update.bind(8, c.maxInstances);
  update.bind(9, c.queueTimeoutSeconds);
  update.bind(10, c.maxQueueLength);
  update.bind(11, c.reservedTarget);
  update.bind(12, c.networkAccess ? 1 : 0);
  update.bind(13, c.description);
  update.bind(14, r.activeVersion);
  update.bind(15, r.revision);
  update.bind(16, absl::ToUnixMicros(r.updateTime));
  update.bind(17, id);
  update.exec();

  SQLite::Statement tracking(db, R"sql(
    UPDATE functions SET tracking_min = ?, tracking_max = ?, tracking_utilization = ?, tracking_cooldown_s = ?
    WHERE id = ?)sql");
  if (c.tracking) {
    tracking.bind(1, c.tracking->minReserved);
    tracking.bind(2, c.tracking->maxReserved);
    tracking.bind(3, c.tracking->targetUtilization);
    tracking.bind(4, absl::ToInt64Seconds(c.tracking->cooldown));
  } else {
    for (int column = 1; column <= 4; ++column) tracking.bind(column); // NULL
  }
  tracking.bind(5, id);
  tracking.exec();

  SQLite::Statement clear(db, "DELETE FROM function_env WHERE function_id = ?");
  clear.bind(1, id);
  clear.exec();
  SQLite::Statement insert(db, "INSERT INTO function_env (function_id, key, value) VALUES (?, ?, ?)");
  for (const auto& [key, value] : c.environment) {
    insert.bind(1, id);
    insert.bind(2, key);
    insert.bind(3, value);
    insert.exec();
    insert.reset();
  }
}

CodeVersionRecord readVersion(SQLite::Statement& query) {
  CodeVersionRecord v;
  v.version = query.getColumn(0).getInt64();
  v.sha256 = query.getColumn(1).getString();
  v.sizeBytes = query.getColumn(2).getInt64();
  v.unpackedBytes = query.getColumn(3).getInt64();
  v.fileCount = query.getColumn(4).getInt64();
  v.uploadTime = absl::FromUnixMicros(query.getColumn(5).getInt64());
  return v;
}

constexpr const char* kSelectVersion =
    "SELECT version, sha256, size_bytes, unpacked_bytes, file_count, uploaded_us FROM code_versions ";

std::optional<CodeVersionRecord> loadVersion(SQLite::Database& db, int64_t functionId, int64_t version) {
  SQLite::Statement query(db, absl::StrCat(kSelectVersion, "WHERE function_id = ? AND version = ?"));
  query.bind(1, functionId);
  query.bind(2, version);
  if (!query.executeStep()) return std::nullopt;
  return readVersion(query);
}

// Whether the code at `code` has the files the config's handler and initializer name (a custom
// runtime's initializer names no file). A missing file is INVALID_ARGUMENT for code being
// uploaded, FAILED_PRECONDITION for code already stored.
absl::Status checkEntryPoints(const fs::path& code, const FunctionConfig& config, bool missingIsInvalidArgument) {
  if (auto status = checkHandlerFile(code, config.runtime, config.handler, missingIsInvalidArgument); !status.ok()) {
    return status;
  }
  if (config.initializer.empty() || config.runtime == common::Runtime::kCustom) return absl::OkStatus();
  return checkHandlerFile(code, config.runtime, config.initializer, missingIsInvalidArgument);
}

bool isValidPrefix(const std::string& prefix) {
  if (prefix.size() > 63) return false;
  for (char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::string randomSuffix() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return absl::StrCat(generator());
}

} // namespace

CodeUpload::CodeUpload(std::string ns, std::string name, std::unique_ptr<BlobWriter> writer)
    : ns_(std::move(ns)), name_(std::move(name)), writer_(std::move(writer)) {}

CodeUpload::~CodeUpload() = default;

absl::Status CodeUpload::append(std::string_view chunk) { return writer_->append(chunk); }

FunctionStore::FunctionStore(StoreOptions options, Database& db, const common::Clock& clock)
    : options_(std::move(options)), clock_(clock), db_(db) {}

FunctionStore::~FunctionStore() = default;

absl::StatusOr<std::unique_ptr<FunctionStore>> FunctionStore::open(StoreOptions options, Database& db,
                                                                   const common::Clock& clock) {
  if (options.keepVersions < 1) return absl::InvalidArgumentError("keep-versions must be at least 1");
  std::unique_ptr<FunctionStore> store(new FunctionStore(std::move(options), db, clock));
  if (auto status = store->initialise(); !status.ok()) return status;
  return store;
}

absl::Status FunctionStore::initialise() {
  const fs::path& dir = options_.dataDir;
  std::error_code ec;
  for (const char* sub : {"code", "tmp"}) {
    fs::create_directories(dir / sub, ec);
    if (ec)
      return absl::FailedPreconditionError(absl::StrCat("cannot create ", (dir / sub).string(), ": ", ec.message()));
  }
  auto blobs = BlobStore::open(dir / "blobs", dir / "tmp");
  if (!blobs.ok()) return blobs.status();
  blobs_ = std::move(*blobs);

  common::MutexLock lock(db_.writeMutex());
  return collectGarbage();
}

fs::path FunctionStore::codeDir(const std::string& sha256) const { return options_.dataDir / "code" / sha256; }

absl::Status FunctionStore::collectGarbage() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.dataDir / "tmp", ec)) common::removeTreeOrWarn(entry.path());

  std::set<std::string> referenced;
  auto listed = sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::Status {
    SQLite::Statement query(db_.writer(), "SELECT DISTINCT sha256 FROM code_versions");
    while (query.executeStep()) referenced.insert(query.getColumn(0).getString());
    return absl::OkStatus();
  });
  if (!listed.ok()) return listed;
  int removed = 0;
  for (const std::string& sha : blobs_->list()) {
    if (!referenced.contains(sha)) {
      (void)blobs_->remove(sha);
      ++removed;
    }
  }
  for (const auto& entry : fs::directory_iterator(options_.dataDir / "code", ec)) {
    if (!referenced.contains(entry.path().filename().string())) {
      common::removeTreeOrWarn(entry.path());
      ++removed;
    }
  }
  if (removed > 0) spdlog::info("store: removed {} unreferenced blobs and code folders", removed);
  return absl::OkStatus();
}

void FunctionStore::removeIfUnreferenced(const std::vector<std::string>& shas) {
  for (const std::string& sha : shas) {
    try {
      SQLite::Statement query(db_.writer(), "SELECT 1 FROM code_versions WHERE sha256 = ? LIMIT 1");
      query.bind(1, sha);
      if (query.executeStep()) continue;
    } catch (const SQLite::Exception& e) {
      spdlog::warn("store: cannot check references of {}: {}", sha, e.what());
      continue; // left for the start-up collection
    }
    (void)blobs_->remove(sha);
    common::removeTreeOrWarn(codeDir(sha));
  }
}

absl::StatusOr<FunctionRecord> FunctionStore::createFunction(const std::string& ns, const std::string& name,
                                                             FunctionConfig config) {
  if (auto status = validateRef(ns, name); !status.ok()) return status;
  resolveDefaults(config);
  if (auto status = validateConfig(config); !status.ok()) return status;

  common::MutexLock lock(db_.writeMutex());
  return sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::StatusOr<FunctionRecord> {
    SQLite::Transaction transaction(db_.writer());
    if (loadFunction(db_.writer(), ns, name)) {
      return absl::AlreadyExistsError(absl::StrCat("function '", qualified(ns, name), "' already exists"));
    }
    const int64_t now = absl::ToUnixMicros(clock_.now());
    SQLite::Statement insert(db_.writer(), R"sql(
      INSERT INTO functions (namespace, name, runtime, handler, initializer_timeout_s, memory_mb, timeout_s,
        instance_concurrency, max_instances, queue_timeout_s, max_queue_length, created_us, updated_us)
      VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, ?, ?))sql");
    insert.bind(1, ns);
    insert.bind(2, name);
    insert.bind(3, std::string(common::runtimeName(config.runtime)));
    insert.bind(4, config.handler);
    insert.bind(5, now);
    insert.bind(6, now);
    insert.exec();
    FunctionRecord record;
    record.id = db_.writer().getLastInsertRowid();
    record.ns = ns;
    record.name = name;
    record.config = std::move(config);
    record.revision = 1;
    record.createTime = record.updateTime = absl::FromUnixMicros(now);
    saveFunction(db_.writer(), record.id, record);
    transaction.commit();
    return record;
  });
}

absl::StatusOr<FunctionRecord> FunctionStore::getFunction(const std::string& ns, const std::string& name) const {
  if (auto status = validateRef(ns, name); !status.ok()) return status;
  return sqliteCall([&]() -> absl::StatusOr<FunctionRecord> {
    auto lease = db_.read();
    auto row = loadFunction(*lease, ns, name);
    if (!row) return notFound(ns, name);
    return std::move(row->record);
  });
}

absl::StatusOr<std::vector<FunctionRecord>> FunctionStore::listReservedFunctions() const {
  return sqliteCall([&]() -> absl::StatusOr<std::vector<FunctionRecord>> {
    auto lease = db_.read();
    SQLite::Statement query(*lease, absl::StrCat(kSelectFunction, R"sql(
        WHERE f.reserved_target > 0 OR f.tracking_max IS NOT NULL ORDER BY f.id)sql"));
    std::vector<FunctionRecord> functions;
    while (query.executeStep()) functions.push_back(readFunctionRow(query).record);
    for (FunctionRecord& function : functions) loadEnvironment(*lease, function.id, function.config);
    return functions;
  });
}

absl::StatusOr<std::vector<std::pair<common::Runtime, uint32_t>>> FunctionStore::listNetworkKinds() const {
  return sqliteCall([&]() -> absl::StatusOr<std::vector<std::pair<common::Runtime, uint32_t>>> {
    auto lease = db_.read();
    SQLite::Statement query(*lease, R"sql(
        SELECT DISTINCT runtime, memory_mb FROM functions
        WHERE network_access != 0 AND active_version > 0 ORDER BY runtime, memory_mb)sql");
    std::vector<std::pair<common::Runtime, uint32_t>> kinds;
    while (query.executeStep()) {
      auto runtime = common::parseRuntime(query.getColumn(0).getString());
      if (runtime) kinds.emplace_back(*runtime, query.getColumn(1).getUInt());
    }
    return kinds;
  });
}

absl::StatusOr<FunctionPage> FunctionStore::listFunctions(const std::string& ns, const std::string& prefix,
                                                          int pageSize, const std::string& pageToken) const {
  if (auto status = common::validateName("namespace", ns); !status.ok()) return status;
  if (!isValidPrefix(prefix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prefix '", prefix, "' can match no function name: names hold only lowercase letters, digits and '-'"));
  }
  if (pageSize == 0) pageSize = kDefaultPageSize;
  if (pageSize < 1 || pageSize > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size ", pageSize, " is out of range: allowed 1-", kMaxPageSize));
  }
  if (!pageToken.empty() && !common::isValidName(pageToken)) {
    return absl::InvalidArgumentError("page_token is not one this server issued; start again without it");
  }
  return sqliteCall([&]() -> absl::StatusOr<FunctionPage> {
    auto lease = db_.read();
    // Names hold only [a-z0-9-], all below '~', so [prefix, prefix + "~") is exactly the prefix
    // range, and the (namespace, name) index serves the whole query.
    SQLite::Statement query(*lease, absl::StrCat(kSelectFunction, R"sql(
        WHERE f.namespace = ? AND f.name >= ? AND f.name < ? AND f.name > ?
        ORDER BY f.name LIMIT ?)sql"));
    query.bind(1, ns);
    query.bind(2, prefix);
    query.bind(3, prefix + "~");
    query.bind(4, pageToken);
    query.bind(5, pageSize + 1);
    FunctionPage page;
    std::vector<int64_t> ids;
    while (query.executeStep()) {
      FunctionRow row = readFunctionRow(query);
      ids.push_back(row.id);
      page.functions.push_back(std::move(row.record));
    }
    if (static_cast<int>(page.functions.size()) > pageSize) {
      page.functions.pop_back();
      ids.pop_back();
      page.nextPageToken = page.functions.back().name;
    }
    for (size_t i = 0; i < ids.size(); ++i) loadEnvironment(*lease, ids[i], page.functions[i].config);
    return page;
  });
}

absl::StatusOr<FunctionRecord>
FunctionStore::updateFunctionRow(const std::string& ns, const std::string& name, int64_t expectedRevision,
                                 const std::function<absl::Status(FunctionRecord&)>& change) {
  SQLite::Transaction transaction(db_.writer());
  auto row = loadFunction(db_.writer(), ns, name);
  if (!row) return notFound(ns, name);
  if (auto status = checkRevision(row->record, expectedRevision); !status.ok()) return status;
  FunctionRecord updated = row->record;
  if (auto status = change(updated); !status.ok()) return status;
  if (updated.config == row->record.config && updated.activeVersion == row->record.activeVersion) {
    return row->record; // nothing changed: keep the revision
  }
  updated.revision = row->record.revision + 1;
  updated.updateTime = clock_.now();
  saveFunction(db_.writer(), row->id, updated);
  if (updated.activeVersion != row->record.activeVersion) {
    updated.activeSha256 = loadVersion(db_.writer(), row->id, updated.activeVersion)->sha256;
  }
  transaction.commit();
  return updated;
}

absl::StatusOr<FunctionRecord> FunctionStore::updateConfig(const std::string& ns, const std::string& name,
                                                           int64_t expectedRevision, const ConfigMutator& mutate) {
  if (auto status = validateRef(ns, name); !status.ok()) return status;
  common::MutexLock lock(db_.writeMutex());
  return sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::StatusOr<FunctionRecord> {
    return updateFunctionRow(ns, name, expectedRevision, [&](FunctionRecord& record) -> absl::Status {
      FunctionConfig config = record.config;
      if (auto status = mutate(config); !status.ok()) return status;
      resolveDefaults(config);
      if (auto status = validateConfig(config); !status.ok()) return status;
      const bool entryChanged = config.runtime != record.config.runtime || config.handler != record.config.handler ||
                                config.initializer != record.config.initializer;
      if (entryChanged && record.activeVersion != 0) {
        const fs::path code = codeDir(record.activeSha256);
        if (auto status = checkEntryPoints(code, config, false); !status.ok()) return status;
      }
      record.config = std::move(config);
      return absl::OkStatus();
    });
  });
}

absl::StatusOr<int64_t> FunctionStore::deleteFunction(const std::string& ns, const std::string& name,
                                                      int64_t expectedRevision) {
  if (auto status = validateRef(ns, name); !status.ok()) return status;
  common::MutexLock lock(db_.writeMutex());
  std::vector<std::string> shas;
  auto id = sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::StatusOr<int64_t> {
    SQLite::Transaction transaction(db_.writer());
    auto row = loadFunction(db_.writer(), ns, name);
    if (!row) return notFound(ns, name);
    if (auto status = checkRevision(row->record, expectedRevision); !status.ok()) return status;
    SQLite::Statement query(db_.writer(), "SELECT DISTINCT sha256 FROM code_versions WHERE function_id = ?");
    query.bind(1, row->id);
    while (query.executeStep()) shas.push_back(query.getColumn(0).getString());
    SQLite::Statement remove(db_.writer(), "DELETE FROM functions WHERE id = ?"); // cascades
    remove.bind(1, row->id);
    remove.exec();
    transaction.commit();
    return row->id;
  });
  if (id.ok()) removeIfUnreferenced(shas);
  return id;
}

absl::StatusOr<std::unique_ptr<CodeUpload>> FunctionStore::beginUpload(const std::string& ns, const std::string& name) {
  auto function = getFunction(ns, name);
  if (!function.ok()) return function.status();
  // An archive larger than what it may unpack to can only fail, so refuse it while streaming.
  auto writer = blobs_->newWriter(options_.archiveLimits.maxUnpackedBytes);
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<CodeUpload>(new CodeUpload(ns, name, std::move(*writer)));
}

absl::StatusOr<UploadResult> FunctionStore::commitUpload(std::unique_ptr<CodeUpload> upload,
                                                         const std::string& declaredSha256, int64_t expectedRevision) {
  const std::string& ns = upload->ns();
  const std::string& name = upload->name();
  BlobWriter& blob = *upload->writer_;
  auto sha = blob.finish();
  if (!sha.ok()) return sha.status();
  if (*sha != declaredSha256) {
    return absl::InvalidArgumentError(absl::StrCat("code archive SHA-256 mismatch: declared ", declaredSha256,
                                                   " but the ", blob.size(), " bytes received hash to ", *sha,
                                                   "; the upload was corrupted or hashed from another file"));
  }

  // Validate and unpack outside the writer lock: it is the slow part.
  fs::path staged;
  const fs::path finalCode = codeDir(*sha);
  std::optional<UnpackedArchive> unpacked;
  absl::Cleanup removeStaged = [&] {
    if (!staged.empty()) common::removeTreeOrWarn(staged);
  };
  {
    auto current = getFunction(ns, name);
    if (!current.ok()) return current.status();
    if (auto status = checkRevision(*current, expectedRevision); !status.ok()) return status;
    if (current->activeSha256 != *sha) {
      staged = options_.dataDir / "tmp" / absl::StrCat("stage-", randomSuffix());
      auto result = unpackArchive(blob.tempPath(), staged, options_.archiveLimits);
      if (!result.ok()) {
        staged.clear(); // the unpacker leaves nothing behind
        return result.status();
      }
      unpacked = *result;
    }
  }

  common::MutexLock lock(db_.writeMutex());
  bool blobPlaced = false;
  try {
    SQLite::Transaction transaction(db_.writer());
    auto row = loadFunction(db_.writer(), ns, name);
    if (!row) return notFound(ns, name);
    FunctionRecord& function = row->record;
    if (auto status = checkRevision(function, expectedRevision); !status.ok()) return status;
    if (function.activeSha256 == *sha) {
      CodeVersionRecord active = *loadVersion(db_.writer(), row->id, function.activeVersion);
      active.active = true;
      return UploadResult{active, false, function};
    }
    if (!unpacked) return absl::AbortedError("the function changed during the upload; retry it");
    const FunctionConfig& config = function.config;
    if (auto status = checkEntryPoints(staged, config, true); !status.ok()) return status;

    const bool blobExisted = blobs_->contains(*sha);
    if (auto status = blobs_->commit(blob, *sha); !status.ok()) return status;
    blobPlaced = !blobExisted;
    common::failpoint("upload.after_blob");
    std::error_code ec;
    if (!fs::exists(finalCode, ec)) {
      // Moving a directory rewrites its "..", which needs write permission on it when surged
      // is not root; the code folder is read-only again once in place.
      fs::permissions(staged, fs::perms::owner_write, fs::perm_options::add, ec);
      fs::rename(staged, finalCode, ec);
      if (ec) return absl::InternalError(absl::StrCat("cannot place unpacked code: ", ec.message()));
      staged.clear();
      fs::permissions(finalCode, fs::perms::owner_write, fs::perm_options::remove, ec);
      if (auto status = syncDirectory(finalCode.parent_path()); !status.ok()) return status;
    }
    common::failpoint("upload.after_unpack");

    CodeVersionRecord version;
    SQLite::Statement nextVersion(db_.writer(), "SELECT next_version FROM functions WHERE id = ?");
    nextVersion.bind(1, row->id);
    nextVersion.executeStep();
    version.version = nextVersion.getColumn(0).getInt64();
    version.sha256 = *sha;
    version.sizeBytes = blob.size();
    version.unpackedBytes = unpacked->unpackedBytes;
    version.fileCount = unpacked->fileCount;
    version.uploadTime = clock_.now();
    version.active = true;
    SQLite::Statement insert(db_.writer(), R"sql(
      INSERT INTO code_versions (function_id, version, sha256, size_bytes, unpacked_bytes, file_count, uploaded_us)
      VALUES (?, ?, ?, ?, ?, ?, ?))sql");
    insert.bind(1, row->id);
    insert.bind(2, version.version);
    insert.bind(3, version.sha256);
    insert.bind(4, version.sizeBytes);
    insert.bind(5, version.unpackedBytes);
    insert.bind(6, version.fileCount);
    insert.bind(7, absl::ToUnixMicros(version.uploadTime));
    insert.exec();

    function.activeVersion = version.version;
    function.activeSha256 = version.sha256;
    function.revision += 1;
    function.updateTime = version.uploadTime;
    saveFunction(db_.writer(), row->id, function);
    SQLite::Statement bump(db_.writer(), "UPDATE functions SET next_version = ? WHERE id = ?");
    bump.bind(1, version.version + 1);
    bump.bind(2, row->id);
    bump.exec();

    // Keep the newest keepVersions versions; the active one is always among them.
    std::vector<std::string> pruned;
    SQLite::Statement old(db_.writer(), R"sql(
      SELECT version, sha256 FROM code_versions WHERE function_id = ? AND version != ?
      ORDER BY version DESC LIMIT -1 OFFSET ?)sql");
    old.bind(1, row->id);
    old.bind(2, function.activeVersion);
    old.bind(3, options_.keepVersions - 1);
    std::vector<int64_t> prunedVersions;
    while (old.executeStep()) {
      prunedVersions.push_back(old.getColumn(0).getInt64());
      pruned.push_back(old.getColumn(1).getString());
    }
    SQLite::Statement drop(db_.writer(), "DELETE FROM code_versions WHERE function_id = ? AND version = ?");
    for (int64_t v : prunedVersions) {
      drop.bind(1, row->id);
      drop.bind(2, v);
      drop.exec();
      drop.reset();
    }
    transaction.commit();
    common::failpoint("upload.after_commit");
    removeIfUnreferenced(pruned);
    return UploadResult{version, true, function};
  } catch (const SQLite::Exception& e) {
    if (blobPlaced) removeIfUnreferenced({*sha});
    return sqliteError(e);
  }
}

absl::StatusOr<std::vector<CodeVersionRecord>> FunctionStore::listVersions(const std::string& ns,
                                                                           const std::string& name) const {
  if (auto status = validateRef(ns, name); !status.ok()) return status;
  return sqliteCall([&]() -> absl::StatusOr<std::vector<CodeVersionRecord>> {
    auto lease = db_.read();
    auto row = loadFunction(*lease, ns, name);
    if (!row) return notFound(ns, name);
    SQLite::Statement query(*lease, absl::StrCat(kSelectVersion, "WHERE function_id = ? ORDER BY version DESC"));
    query.bind(1, row->id);
    std::vector<CodeVersionRecord> versions;
    while (query.executeStep()) {
      versions.push_back(readVersion(query));
      versions.back().active = versions.back().version == row->record.activeVersion;
    }
    return versions;
  });
}

absl::StatusOr<FunctionRecord> FunctionStore::setActiveVersion(const std::string& ns, const std::string& name,
                                                               int64_t version, int64_t expectedRevision) {
  if (auto status = validateRef(ns, name); !status.ok()) return status;
  if (version < 1)
    return absl::InvalidArgumentError(absl::StrCat("version ", version, " is not valid: versions start at 1"));
  common::MutexLock lock(db_.writeMutex());
  return sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::StatusOr<FunctionRecord> {
    // updateFunctionRow() calls it with the write lock held.
    auto activate = [&](FunctionRecord& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::Status {
      SQLite::Statement query(db_.writer(), R"sql(
        SELECT v.sha256 FROM code_versions v JOIN functions f ON f.id = v.function_id
        WHERE f.namespace = ? AND f.name = ? AND v.version = ?)sql");
      query.bind(1, ns);
      query.bind(2, name);
      query.bind(3, version);
      if (!query.executeStep()) {
        return absl::NotFoundError(absl::StrCat("function '", qualified(ns, name), "' has no version ", version,
                                                "; list the retained versions with ListCodeVersions"));
      }
      const fs::path code = codeDir(query.getColumn(0).getString());
      // The version must serve the config as it is now: its handler and its initializer.
      if (auto status = checkEntryPoints(code, record.config, false); !status.ok()) return status;
      record.activeVersion = version;
      return absl::OkStatus();
    };
    return updateFunctionRow(ns, name, expectedRevision, activate);
  });
}

} // namespace surge::store
