// The SQLite error mapping: constraint violations are FAILED_PRECONDITION, everything else
// INTERNAL, and what `f` returns itself passes through untouched.
#include "store/sqlite_call.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <absl/status/statusor.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace surge::store {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class SqliteCallTest : public ::testing::Test {
protected:
  SqliteCallTest() : db_(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) {
    db_.exec("CREATE TABLE t (x INTEGER UNIQUE)");
    db_.exec("INSERT INTO t (x) VALUES (1)");
  }
  int rows() { return db_.execAndGet("SELECT count(*) FROM t").getInt(); }

  SQLite::Database db_;
};

TEST_F(SqliteCallTest, AConstraintViolationIsFailedPreconditionWithSqlitesMessage) {
  const absl::Status status = sqliteCall([&]() -> absl::Status {
    db_.exec("INSERT INTO t (x) VALUES (1)");
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), StartsWith("store constraint failed: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("UNIQUE constraint failed: t.x"));
}

TEST_F(SqliteCallTest, AnyOtherErrorIsInternalWithSqlitesMessage) {
  const absl::StatusOr<int> count =
      sqliteCall([&]() -> absl::StatusOr<int> { return db_.execAndGet("SELECT count(*) FROM missing").getInt(); });
  EXPECT_EQ(count.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(count.status().message()), StartsWith("store error: "));
  EXPECT_THAT(std::string(count.status().message()), HasSubstr("no such table: missing"));
}

TEST_F(SqliteCallTest, ATransactionInsideIsRolledBackWhenSqliteThrows) {
  const absl::Status status = sqliteCall([&]() -> absl::Status {
    SQLite::Transaction transaction(db_);
    db_.exec("INSERT INTO t (x) VALUES (2)");
    db_.exec("INSERT INTO t (x) VALUES (2)");
    transaction.commit();
    return absl::OkStatus();
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(rows(), 1);
}

TEST_F(SqliteCallTest, ValuesAndStatusesOfTheCallPassThrough) {
  const absl::StatusOr<int> count =
      sqliteCall([&]() -> absl::StatusOr<int> { return db_.execAndGet("SELECT count(*) FROM t").getInt(); });
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 1);
  const absl::Status refused = sqliteCall([]() -> absl::Status { return absl::NotFoundError("no function 'x'"); });
  EXPECT_EQ(refused, absl::NotFoundError("no function 'x'"));
}

} // namespace
} // namespace surge::store
