// KeyStore against a real SQLite file: tokens, hashing, revocation, uniqueness, last use.
#include "auth/key_store.h"

#include "store/database.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace surge::auth {
namespace {

using ::testing::HasSubstr;

class KeyStoreTest : public ::testing::Test {
protected:
  void SetUp() override { reopen(); }

  void reopen() {
    keys_.reset();
    db_.reset();
    auto db = store::Database::open(dir_.path() / "surge.db");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    // Background work is queued here and run by the test when it chooses.
    auto keys = KeyStore::open(*db_, clock_, [this](std::function<void()> task) { background_.push_back(task); });
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = std::move(*keys);
  }

  std::string bearer(const std::string& token) { return "Bearer " + token; }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  std::vector<std::function<void()>> background_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<KeyStore> keys_;
};

TEST_F(KeyStoreTest, CreatedTokenAuthenticatesAsItsKey) {
  EXPECT_FALSE(keys_->hasAnyKey());
  auto created = keys_->create("ci", Role::kDeveloper, {}, {"shop"});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(keys_->hasAnyKey());
  EXPECT_EQ(created->token.rfind("surge_" + created->key.id + "_", 0), 0u);
  for (char c : created->token) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') << created->token;
  }
  auto who = keys_->authenticate(bearer(created->token));
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ((*who)->keyName, "ci");
  EXPECT_EQ((*who)->role, Role::kDeveloper);
  EXPECT_EQ((*who)->namespaces, std::vector<std::string>{"shop"});
}

TEST_F(KeyStoreTest, OnlyASaltedHashOfTheSecretIsStored) {
  auto one = keys_->create("one", Role::kViewer, {}, {});
  auto two = keys_->create("two", Role::kViewer, {}, {});
  ASSERT_TRUE(one.ok() && two.ok());
  SQLite::Database db((dir_.path() / "surge.db").string());
  SQLite::Statement rows(db, "SELECT salt, secret_hash, id, name FROM api_keys");
  std::vector<std::string> salts;
  while (rows.executeStep()) {
    const std::string salt = rows.getColumn(0).getString(), hash = rows.getColumn(1).getString();
    EXPECT_EQ(salt.size(), 16u);
    EXPECT_EQ(hash.size(), 32u);
    salts.push_back(salt);
    for (const auto* token : {&one->token, &two->token}) {
      const std::string secret = token->substr(token->find('_', 6) + 1);
      EXPECT_EQ(hash.find(secret), std::string::npos);
    }
  }
  ASSERT_EQ(salts.size(), 2u);
  EXPECT_NE(salts[0], salts[1]);
}

TEST_F(KeyStoreTest, KeysSurviveARestart) {
  auto created = keys_->create("durable", Role::kAdmin, {}, {});
  ASSERT_TRUE(created.ok());
  reopen();
  EXPECT_TRUE(keys_->hasAnyKey());
  EXPECT_TRUE(keys_->authenticate(bearer(created->token)).ok());
}

TEST_F(KeyStoreTest, BadTokensAreUnauthenticatedWithAReason) {
  auto created = keys_->create("real", Role::kViewer, {}, {});
  ASSERT_TRUE(created.ok());
  auto check = [&](const std::string& header, const std::string& message) {
    auto result = keys_->authenticate(header);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated) << header;
    EXPECT_THAT(result.status().message(), HasSubstr(message)) << header;
  };
  check("", "missing API key");
  check("Token abc", "must be 'Bearer <key>'");
  check("Bearer abc", "malformed API key");
  check("Bearer surge_nounderscore", "malformed API key");
  check("Bearer surge_unknownid_secret", "unknown or revoked");
  std::string wrongSecret = created->token;
  wrongSecret.back() = wrongSecret.back() == 'x' ? 'y' : 'x';
  check(bearer(wrongSecret), "unknown or revoked");
  check(bearer(created->token + "extra"), "unknown or revoked");
}

TEST_F(KeyStoreTest, RevocationTakesEffectAtOnceAndFreesTheName) {
  ASSERT_TRUE(keys_->create("admin", Role::kAdmin, {}, {}).ok());
  auto created = keys_->create("temp", Role::kDeveloper, {}, {});
  ASSERT_TRUE(created.ok());
  auto duplicate = keys_->create("temp", Role::kViewer, {}, {});
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kAlreadyExists);
  auto revoked = keys_->revoke("temp");
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->revokeTime, clock_.now());
  EXPECT_EQ(keys_->authenticate(bearer(created->token)).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(keys_->create("temp", Role::kViewer, {}, {}).ok());
  EXPECT_EQ(keys_->revoke("ghost").status().code(), absl::StatusCode::kNotFound);
  // Revoked keys stay listed on request.
  EXPECT_EQ(keys_->list(false)->size(), 2u);
  EXPECT_EQ(keys_->list(true)->size(), 3u);
  // And stay revoked after a restart.
  reopen();
  EXPECT_EQ(keys_->authenticate(bearer(created->token)).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(KeyStoreTest, TheLastActiveAdminKeyCannotBeRevoked) {
  auto first = keys_->create("first", Role::kAdmin, {}, {});
  auto second = keys_->create("second", Role::kAdmin, {}, {});
  ASSERT_TRUE(keys_->revoke(second->key.id).ok()); // by id works too
  auto last = keys_->revoke("first");
  EXPECT_EQ(last.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(last.status().message(), HasSubstr("last active admin key"));
  EXPECT_TRUE(keys_->authenticate(bearer(first->token)).ok());
}

TEST_F(KeyStoreTest, RefusesBadNamesAndScopes) {
  EXPECT_EQ(keys_->create("Bad Name", Role::kViewer, {}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_->create("ok", Role::kViewer, {"fn"}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_->create("ok", Role::kInvoker, {"Bad"}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(keys_->create("ok", Role::kViewer, {}, {"no spaces"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(keys_->create("ok", Role::kInvoker, {"cart"}, {"shop"}).ok());
}

TEST_F(KeyStoreTest, LastUseIsListedAtOnceAndPersistedWithoutAWritePerCall) {
  auto created = keys_->create("busy", Role::kViewer, {}, {});
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(keys_->list(false)->front().lastUsedTime.has_value());
  clock_.advance(absl::Minutes(5));
  ASSERT_TRUE(keys_->authenticate(bearer(created->token)).ok());
  EXPECT_EQ(keys_->list(false)->front().lastUsedTime, clock_.now());
  ASSERT_EQ(background_.size(), 1u) << "the first use schedules one flush";
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(keys_->authenticate(bearer(created->token)).ok());
  EXPECT_EQ(background_.size(), 1u) << "further uses within the resolution schedule nothing";
  background_.front()();
  reopen();
  EXPECT_EQ(keys_->list(false)->front().lastUsedTime, clock_.now());
}

} // namespace
} // namespace surge::auth
