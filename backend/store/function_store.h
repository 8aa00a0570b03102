// The function store: functions and code versions in SQLite, archives as content-addressed
// blobs, and each accepted version unpacked once into a folder keyed by its SHA-256.
#pragma once

#include "store/archive_unpacker.h"
#include "store/database.h" // the lock annotations name db_.writeMutex()
#include "store/function_config.h"

#include <absl/base/thread_annotations.h>
#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace SQLite {
class Database;
}

namespace surge::common {
class Clock;
}

namespace surge::store {

class BlobStore;
class BlobWriter;

struct StoreOptions {
  // Holds surge.db, blobs/, code/ and tmp/.
  std::filesystem::path dataDir;
  // Code versions kept per function; older ones and their unshared blobs are deleted.
  int keepVersions = 10;
  ArchiveLimits archiveLimits;
};

struct FunctionRecord {
  int64_t id = 0; // the store's key; never reused, so it tells a recreated function apart
  std::string ns;
  std::string name;
  FunctionConfig config;
  int64_t activeVersion = 0; // 0: no code yet
  std::string activeSha256;  // empty while activeVersion is 0
  int64_t revision = 0;
  absl::Time createTime;
  absl::Time updateTime;
};

struct CodeVersionRecord {
  int64_t version = 0;
  std::string sha256;
  int64_t sizeBytes = 0;
  int64_t unpackedBytes = 0;
  int64_t fileCount = 0;
  absl::Time uploadTime;
  bool active = false; // whether it is the function's active version when read
};

struct FunctionPage {
  std::vector<FunctionRecord> functions;
  std::string nextPageToken; // empty on the last page
};

struct UploadResult {
  CodeVersionRecord version;
  bool created = false; // false: the archive equalled the active version's
  FunctionRecord function;
};

// An upload in progress: the caller appends the streamed chunks, then hands it to
// FunctionStore::commitUpload(). Dropping it discards the bytes. Not thread-safe.
class CodeUpload {
public:
  ~CodeUpload();
  absl::Status append(std::string_view chunk);
  const std::string& ns() const { return ns_; }
  const std::string& name() const { return name_; }

private:
  friend class FunctionStore;
  CodeUpload(std::string ns, std::string name, std::unique_ptr<BlobWriter> writer);
  std::string ns_;
  std::string name_;
  std::unique_ptr<BlobWriter> writer_;
};

// Every call returns absl::Status codes that map one to one onto gRPC's: INVALID_ARGUMENT,
// NOT_FOUND, ALREADY_EXISTS, ABORTED (stale revision), FAILED_PRECONDITION, INTERNAL.
// Thread-safe. Reads run concurrently on pooled read connections (SQLite WAL); writes are
// serialised on one connection, and every multi-row change is one transaction. Calls block on
// disk I/O, so callers on latency-sensitive threads (gRPC reactors) must hand them off.
class FunctionStore {
public:
  // Opens the store in options.dataDir, keeping metadata in `db` (which must outlive it), and
  // removes what a crash may have left: temp files, and blobs and unpacked folders that no
  // version references.
  static absl::StatusOr<std::unique_ptr<FunctionStore>> open(StoreOptions options, Database& db,
                                                             const common::Clock& clock);
  ~FunctionStore();

  // `config` is resolved with defaults and validated; ALREADY_EXISTS for a taken name.
  absl::StatusOr<FunctionRecord> createFunction(const std::string& ns, const std::string& name, FunctionConfig config);
  absl::StatusOr<FunctionRecord> getFunction(const std::string& ns, const std::string& name) const;
  // Name order. pageSize 1–1000; pageToken is a previous page's nextPageToken or empty.
  absl::StatusOr<FunctionPage> listFunctions(const std::string& ns, const std::string& prefix, int pageSize,
                                             const std::string& pageToken) const;

  // Every function, in any namespace, with a reserved target or a tracking policy, with or
  // without code: what to warm at start-up, and what counts against the instance memory budget.
  absl::StatusOr<std::vector<FunctionRecord>> listReservedFunctions() const;
  // The distinct (runtime, memory size) of functions with network on and code to run.
  absl::StatusOr<std::vector<std::pair<common::Runtime, uint32_t>>> listNetworkKinds() const;

  // Changes a config under the writer lock: `mutate` edits a copy of the current config, which
  // is then resolved and validated. A changed runtime or handler must be served by the active
  // code (FAILED_PRECONDITION otherwise). expectedRevision 0 means unconditional.
  using ConfigMutator = std::function<absl::Status(FunctionConfig&)>;
  absl::StatusOr<FunctionRecord> updateConfig(const std::string& ns, const std::string& name, int64_t expectedRevision,
                                              const ConfigMutator& mutate);

  // Deletes the function, its versions, and the blobs and folders no other version uses.
  // Returns the deleted function's id.
  absl::StatusOr<int64_t> deleteFunction(const std::string& ns, const std::string& name, int64_t expectedRevision);

  // Starts an upload for an existing function (NOT_FOUND otherwise).
  absl::StatusOr<std::unique_ptr<CodeUpload>> beginUpload(const std::string& ns, const std::string& name);
  // Verifies the declared SHA-256, validates and unpacks the archive, stores the blob, records
  // the version as active and prunes versions beyond keepVersions. An archive equal to the
  // active version's creates nothing. On any error nothing is stored.
  absl::StatusOr<UploadResult> commitUpload(std::unique_ptr<CodeUpload> upload, const std::string& declaredSha256,
                                            int64_t expectedRevision);

  // Retained versions, newest first, the active one marked.
  absl::StatusOr<std::vector<CodeVersionRecord>> listVersions(const std::string& ns, const std::string& name) const;
  // Makes a retained version active (rollback). NOT_FOUND for an unknown version.
  absl::StatusOr<FunctionRecord> setActiveVersion(const std::string& ns, const std::string& name, int64_t version,
                                                  int64_t expectedRevision);

  // The read-only folder holding a version's unpacked code.
  std::filesystem::path codeDir(const std::string& sha256) const;
  const StoreOptions& options() const { return options_; }

private:
  FunctionStore(StoreOptions options, Database& db, const common::Clock& clock);

  absl::Status initialise();
  // Removes temp files and every blob and code folder that no version references.
  absl::Status collectGarbage() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex());
  // Removes the blobs and code folders of `shas` that no version references any more.
  void removeIfUnreferenced(const std::vector<std::string>& shas) ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex());
  absl::StatusOr<FunctionRecord> updateFunctionRow(const std::string& ns, const std::string& name,
                                                   int64_t expectedRevision,
                                                   const std::function<absl::Status(FunctionRecord&)>& change)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex());

  const StoreOptions options_;
  const common::Clock& clock_;
  std::unique_ptr<BlobStore> blobs_;
  Database& db_;
};

} // namespace surge::store
