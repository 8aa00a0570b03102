// API keys in SQLite, with an in-memory cache of the active ones for the per-call check.
#include "auth/key_store.h"

#include "common/absl_compat.h"
#include "common/clock.h"
#include "common/names.h"
#include "store/database.h"
#include "store/sqlite_call.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace surge::auth {
namespace {

constexpr std::string_view kTokenPrefix = "surge_";
constexpr std::string_view kBearer = "Bearer ";
constexpr size_t kKeyIdLength = 16;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSaltBytes = 16;
// Last-used times are persisted at this granularity, so a busy key costs no write per call.
constexpr int64_t kLastUsedResolutionUs = 60'000'000;

std::string randomBytes(size_t count) {
  std::string bytes(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1) std::abort();
  return bytes;
}

// Lowercase letters and digits: a key id never contains the token's '_' separator.
std::string randomKeyId() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  for (unsigned char byte : randomBytes(kKeyIdLength)) id.push_back(kAlphabet[byte % 36]);
  return id;
}

// URL-safe base64 without padding.
std::string base64Url(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;
}

std::string hashSecret(std::string_view salt, std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, salt.data(), salt.size()) != 1 ||
      EVP_DigestUpdate(ctx, secret.data(), secret.size()) != 1 || EVP_DigestFinal_ex(ctx, digest, &length) != 1) {
    std::abort();
  }
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<char*>(digest), length);
}

std::vector<std::string> splitList(const std::string& text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, ',');
}

std::optional<absl::Time> optionalTime(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return absl::FromUnixMicros(column.getInt64());
}

constexpr const char* kSelectKey =
    "SELECT id, name, role, functions, namespaces, created_us, last_used_us, revoked_us, salt, secret_hash "
    "FROM api_keys ";

ApiKey readKey(SQLite::Statement& query) {
  ApiKey key;
  key.id = query.getColumn(0).getString();
  key.name = query.getColumn(1).getString();
  key.role = parseRole(query.getColumn(2).getString()).value_or(Role::kViewer);
  key.functions = splitList(query.getColumn(3).getString());
  key.namespaces = splitList(query.getColumn(4).getString());
  key.createTime = absl::FromUnixMicros(query.getColumn(5).getInt64());
  key.lastUsedTime = optionalTime(query.getColumn(6));
  key.revokeTime = optionalTime(query.getColumn(7));
  return key;
}

std::shared_ptr<const Principal> principalOf(const ApiKey& key) {
  auto principal = std::make_shared<Principal>();
  principal->keyId = key.id;
  principal->keyName = key.name;
  principal->role = key.role;
  principal->functions = key.functions;
  principal->namespaces = key.namespaces;
  return principal;
}

absl::Status unauthenticated(std::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat(common::toAbsl(why)));
}

} // namespace

KeyStore::KeyStore(store::Database& db, const common::Clock& clock, BackgroundRunner runInBackground)
    : db_(db), clock_(clock), runInBackground_(std::move(runInBackground)) {}

KeyStore::~KeyStore() = default;

absl::StatusOr<std::unique_ptr<KeyStore>> KeyStore::open(store::Database& db, const common::Clock& clock,
                                                         BackgroundRunner runInBackground) {
  std::unique_ptr<KeyStore> store(new KeyStore(db, clock, std::move(runInBackground)));
  if (auto status = store->load(); !status.ok()) return status;
  return store;
}

absl::Status KeyStore::load() {
  return store::sqliteCall([&]() -> absl::Status {
    auto lease = db_.read();
    SQLite::Statement query(*lease, absl::StrCat(kSelectKey, "ORDER BY created_us"));
    common::MutexLock lock(mu_);
    while (query.executeStep()) {
      anyKey_ = true;
      ApiKey key = readKey(query);
      if (key.revokeTime) continue;
      auto cached = std::make_shared<CachedKey>();
      cached->salt = query.getColumn(8).getString();
      cached->secretHash = query.getColumn(9).getString();
      const int64_t lastUsed = key.lastUsedTime ? absl::ToUnixMicros(*key.lastUsedTime) : 0;
      cached->lastUsedUs = lastUsed;
      cached->persistedUs = lastUsed;
      cached->principal = principalOf(key);
      active_[key.id] = std::move(cached);
    }
    return absl::OkStatus();
  });
}

bool KeyStore::hasAnyKey() const {
  common::MutexLock lock(mu_);
  return anyKey_;
}

absl::StatusOr<CreatedKey> KeyStore::create(const std::string& name, Role role, std::vector<std::string> functions,
                                            std::vector<std::string> namespaces, const TokenWriter& beforeCommit) {
  auto inserted = insertKey(name, role, std::move(functions), std::move(namespaces), false, beforeCommit);
  if (!inserted.ok()) return inserted.status();
  return std::move(inserted->created);
}

absl::StatusOr<KeyStore::ReplacedKey> KeyStore::replaceAdmin(const std::string& name, const TokenWriter& beforeCommit) {
  return insertKey(name, Role::kAdmin, {}, {}, true, beforeCommit);
}

absl::StatusOr<KeyStore::ReplacedKey> KeyStore::insertKey(const std::string& name, Role role,
                                                          std::vector<std::string> functions,
                                                          std::vector<std::string> namespaces, bool replaceActive,
                                                          const TokenWriter& beforeCommit) {
  if (auto status = common::validateName("key name", name); !status.ok()) return status;
  if (!functions.empty() && role != Role::kInvoker) {
    return absl::InvalidArgumentError("functions limit invoker keys only; leave it empty for other roles");
  }
  for (const std::string& function : functions) {
    if (auto status = common::validateName("function name", function); !status.ok()) return status;
  }
  for (const std::string& ns : namespaces) {
    if (auto status = common::validateName("namespace", ns); !status.ok()) return status;
  }
  ReplacedKey result;
  CreatedKey& created = result.created;
  ApiKey& key = created.key;
  key.id = randomKeyId();
  key.name = name;
  key.role = role;
  key.functions = std::move(functions);
  key.namespaces = std::move(namespaces);
  key.createTime = clock_.now();
  const std::string secret = base64Url(randomBytes(kSecretBytes));
  created.token = absl::StrCat(common::toAbsl(kTokenPrefix), key.id, "_", secret);
  auto cached = std::make_shared<CachedKey>();
  cached->salt = randomBytes(kSaltBytes);
  cached->secretHash = hashSecret(cached->salt, secret);
  cached->principal = principalOf(key);

  common::MutexLock writeLock(db_.writeMutex());
  auto written = store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::Status {
    SQLite::Transaction transaction(db_.writer());
    SQLite::Statement taken(db_.writer(), "SELECT id FROM api_keys WHERE name = ? AND revoked_us IS NULL");
    taken.bind(1, name);
    if (taken.executeStep()) {
      if (!replaceActive) {
        return absl::AlreadyExistsError(absl::StrCat("an active key named '", name, "' already exists"));
      }
      result.revokedId = taken.getColumn(0).getString();
      SQLite::Statement revoke(db_.writer(), "UPDATE api_keys SET revoked_us = ? WHERE id = ?");
      revoke.bind(1, absl::ToUnixMicros(key.createTime));
      revoke.bind(2, *result.revokedId);
      revoke.exec();
    }
    SQLite::Statement insert(db_.writer(), R"sql(
      INSERT INTO api_keys (id, name, role, functions, namespaces, salt, secret_hash, created_us)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?))sql");
    insert.bind(1, key.id);
    insert.bind(2, key.name);
    insert.bind(3, std::string(roleName(role)));
    insert.bind(4, absl::StrJoin(key.functions, ","));
    insert.bind(5, absl::StrJoin(key.namespaces, ","));
    insert.bind(6, cached->salt.data(), static_cast<int>(cached->salt.size()));
    insert.bind(7, cached->secretHash.data(), static_cast<int>(cached->secretHash.size()));
    insert.bind(8, absl::ToUnixMicros(key.createTime));
    insert.exec();
    if (beforeCommit) {
      if (auto status = beforeCommit(created.token); !status.ok()) return status; // rolls back
    }
    transaction.commit();
    return absl::OkStatus();
  });
  if (!written.ok()) return written;
  common::MutexLock lock(mu_);
  anyKey_ = true;
  if (result.revokedId) active_.erase(*result.revokedId);
  active_[key.id] = std::move(cached);
  return result;
}

absl::StatusOr<std::vector<ApiKey>> KeyStore::list(bool includeRevoked) const {
  std::vector<ApiKey> keys;
  auto listed = store::sqliteCall([&]() -> absl::Status {
    auto lease = db_.read();
    SQLite::Statement query(
        *lease, absl::StrCat(kSelectKey, includeRevoked ? "" : "WHERE revoked_us IS NULL ", "ORDER BY created_us, id"));
    while (query.executeStep()) keys.push_back(readKey(query));
    return absl::OkStatus();
  });
  if (!listed.ok()) return listed;
  // The cache knows uses that are not persisted yet.
  common::MutexLock lock(mu_);
  for (ApiKey& key : keys) {
    auto it = active_.find(key.id);
    if (it != active_.end() && it->second->lastUsedUs.load() != 0) {
      key.lastUsedTime = absl::FromUnixMicros(it->second->lastUsedUs.load());
    }
  }
  return keys;
}

absl::StatusOr<ApiKey> KeyStore::revoke(const std::string& nameOrId) {
  common::MutexLock writeLock(db_.writeMutex());
  ApiKey key;
  auto revoked = store::sqliteCall([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(db_.writeMutex()) -> absl::Status {
    SQLite::Transaction transaction(db_.writer());
    SQLite::Statement find(db_.writer(), absl::StrCat(kSelectKey, "WHERE (name = ? OR id = ?) AND revoked_us IS NULL"));
    find.bind(1, nameOrId);
    find.bind(2, nameOrId);
    if (!find.executeStep()) {
      return absl::NotFoundError(absl::StrCat("no active key named '", nameOrId, "'"));
    }
    key = readKey(find);
    if (key.role == Role::kAdmin) {
      SQLite::Statement admins(db_.writer(),
                               "SELECT count(*) FROM api_keys WHERE role = 'admin' AND revoked_us IS NULL");
      admins.executeStep();
      if (admins.getColumn(0).getInt() <= 1) {
        return absl::FailedPreconditionError(absl::StrCat(
            "key '", key.name, "' is the last active admin key; create another admin key before revoking it"));
      }
    }
    key.revokeTime = clock_.now();
    SQLite::Statement revoke(db_.writer(), "UPDATE api_keys SET revoked_us = ? WHERE id = ?");
    revoke.bind(1, absl::ToUnixMicros(*key.revokeTime));
    revoke.bind(2, key.id);
    revoke.exec();
    transaction.commit();
    return absl::OkStatus();
  });
  if (!revoked.ok()) return revoked;
  common::MutexLock lock(mu_);
  active_.erase(key.id);
  return key;
}

absl::StatusOr<std::shared_ptr<const Principal>> KeyStore::authenticate(std::string_view authorization) {
  if (authorization.empty()) {
    return unauthenticated("missing API key: send the metadata 'authorization: Bearer <key>'");
  }
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return unauthenticated("the authorization metadata must be 'Bearer <key>'");
  }
  const std::string_view token = authorization.substr(kBearer.size());
  const size_t separator = token.find('_', kTokenPrefix.size());
  if (token.substr(0, kTokenPrefix.size()) != kTokenPrefix || separator == std::string_view::npos) {
    return unauthenticated("malformed API key: expected surge_<key id>_<secret>");
  }
  const std::string_view id = token.substr(kTokenPrefix.size(), separator - kTokenPrefix.size());
  const std::string_view secret = token.substr(separator + 1);

  // The key as it is now; a revocation after this lookup is ordered after this call.
  std::shared_ptr<CachedKey> key;
  {
    common::MutexLock lock(mu_);
    auto it = active_.find(common::toAbsl(id));
    if (it == active_.end()) return unauthenticated("unknown or revoked API key");
    key = it->second;
  }
  const std::string hash = hashSecret(key->salt, secret);
  if (hash.size() != key->secretHash.size() || CRYPTO_memcmp(hash.data(), key->secretHash.data(), hash.size()) != 0) {
    return unauthenticated("unknown or revoked API key");
  }
  // The runner may run the flush inline, and the flush takes the lock.
  if (noteUse(*key) && !flushQueued_.exchange(true)) runInBackground_([this] { flushLastUsed(); });
  return key->principal;
}

bool KeyStore::noteUse(CachedKey& key) {
  const int64_t now = absl::ToUnixMicros(clock_.now());
  key.lastUsedUs.store(now, std::memory_order_relaxed);
  return now - key.persistedUs.load(std::memory_order_relaxed) >= kLastUsedResolutionUs;
}

void KeyStore::flushLastUsed() {
  flushQueued_ = false;
  std::vector<std::pair<std::string, int64_t>> dirty;
  {
    common::MutexLock lock(mu_);
    for (const auto& [id, key] : active_) {
      const int64_t used = key->lastUsedUs.load();
      if (used != key->persistedUs.load()) {
        dirty.emplace_back(id, used);
        key->persistedUs.store(used);
      }
    }
  }
  if (dirty.empty()) return;
  common::MutexLock writeLock(db_.writeMutex());
  try {
    SQLite::Transaction transaction(db_.writer());
    SQLite::Statement update(db_.writer(), "UPDATE api_keys SET last_used_us = ? WHERE id = ?");
    for (const auto& [id, used] : dirty) {
      update.bind(1, used);
      update.bind(2, id);
      update.exec();
      update.reset();
    }
    transaction.commit();
  } catch (const SQLite::Exception& e) {
    spdlog::warn("cannot persist API key last-used times: {}", e.what());
  }
}

} // namespace surge::auth
