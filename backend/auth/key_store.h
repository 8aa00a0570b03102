// API keys: creation, listing, revocation, and the per-call authentication check.
#pragma once

#include "auth/principal.h"
#include "common/mutex.h"

#include <absl/base/thread_annotations.h>
#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace surge::common {
class Clock;
}
namespace surge::store {
class Database;
}

namespace surge::auth {

// A key as listed: never its secret.
struct ApiKey {
  std::string id;
  std::string name;
  Role role = Role::kViewer;
  std::vector<std::string> functions;
  std::vector<std::string> namespaces;
  absl::Time createTime;
  std::optional<absl::Time> lastUsedTime;
  std::optional<absl::Time> revokeTime;
};

struct CreatedKey {
  ApiKey key;
  // "surge_<id>_<secret>": shown once; only a salted hash of the secret is stored.
  std::string token;
};

// Thread-safe. Active keys are cached in memory (id -> salt, hash, principal), so that
// authenticate() is one hash-map lookup plus one SHA-256 and a constant-time comparison:
// microseconds, safe on a gRPC reactor thread. Create and revoke write SQLite and the cache
// together, so a revoked key is refused from the next call on.
class KeyStore {
public:
  // `runInBackground` runs blocking work (persisting last-used times) off the caller's thread.
  using BackgroundRunner = std::function<void(std::function<void()>)>;

  // Loads the keys from `db`, which must outlive the store.
  static absl::StatusOr<std::unique_ptr<KeyStore>> open(store::Database& db, const common::Clock& clock,
                                                        BackgroundRunner runInBackground);
  ~KeyStore();

  // Receives a new key's token after the key is written and before it is committed. A failure
  // (or a crash) in it leaves no key behind, so a caller can persist the token first and never
  // hold a committed key whose token nobody has.
  using TokenWriter = std::function<absl::Status(const std::string& token)>;

  // INVALID_ARGUMENT for a bad name, role use or scope; ALREADY_EXISTS for a name an active key has.
  absl::StatusOr<CreatedKey> create(const std::string& name, Role role, std::vector<std::string> functions,
                                    std::vector<std::string> namespaces, const TokenWriter& beforeCommit = {});
  // Creates an admin key named `name` and, in the same transaction, revokes the active key of
  // that name if there is one (the last-admin rule does not apply: an admin key replaces it).
  // Returns the new key and, when one was revoked, its id.
  struct ReplacedKey {
    CreatedKey created;
    std::optional<std::string> revokedId;
  };
  absl::StatusOr<ReplacedKey> replaceAdmin(const std::string& name, const TokenWriter& beforeCommit);
  // By creation time; last-used times are current.
  absl::StatusOr<std::vector<ApiKey>> list(bool includeRevoked) const;
  // Revokes the active key with this name (or id). NOT_FOUND if none; FAILED_PRECONDITION for
  // the last active admin key.
  absl::StatusOr<ApiKey> revoke(const std::string& nameOrId);
  // Whether a key was ever created (the first start creates the bootstrap admin key).
  bool hasAnyKey() const;

  // Checks an "authorization" header value, "Bearer surge_<id>_<secret>". UNAUTHENTICATED for a
  // missing, malformed, unknown or revoked key, with a message saying which.
  absl::StatusOr<std::shared_ptr<const Principal>> authenticate(std::string_view authorization);

  // Writes last-used times that changed since the last flush. Blocks on SQLite.
  void flushLastUsed();

private:
  // Immutable once cached, but for the atomics. Shared, so that authenticate() can check the
  // secret outside the lock.
  struct CachedKey {
    std::string salt;
    std::string secretHash;
    std::shared_ptr<const Principal> principal;
    std::atomic<int64_t> lastUsedUs{0};  // 0: never
    std::atomic<int64_t> persistedUs{0}; // last value written to SQLite
  };

  KeyStore(store::Database& db, const common::Clock& clock, BackgroundRunner runInBackground);
  absl::Status load();
  // create() and replaceAdmin(): validates, writes and commits one key.
  absl::StatusOr<ReplacedKey> insertKey(const std::string& name, Role role, std::vector<std::string> functions,
                                        std::vector<std::string> namespaces, bool replaceActive,
                                        const TokenWriter& beforeCommit);
  // Records a use; true when the persisted last-used time is stale enough to write.
  bool noteUse(CachedKey& key);

  store::Database& db_;
  const common::Clock& clock_;
  BackgroundRunner runInBackground_;
  std::atomic<bool> flushQueued_{false};

  mutable common::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<CachedKey>> active_ ABSL_GUARDED_BY(mu_);
  bool anyKey_ ABSL_GUARDED_BY(mu_) = false;
};

} // namespace surge::auth
