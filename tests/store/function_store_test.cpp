// FunctionStore against a real SQLite file and blob folder in a temp dir.
#include "store/function_store.h"

#include "store/database.h"
#include "store/schema.h"

#include "common/sha256.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"
#include "support/zip_builder.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

namespace surge::store {
namespace {

namespace fs = std::filesystem;
using surge::testing::FakeClock;
using surge::testing::TempDir;
using surge::testing::ZipBuilder;
using ::testing::HasSubstr;

FunctionConfig pythonConfig() {
  FunctionConfig config;
  config.runtime = common::Runtime::kPython3;
  config.handler = "index.handler";
  return config;
}

std::string pythonArchive(std::string body = "def handler(event, context):\n    return event\n") {
  return ZipBuilder().addFile("index.py", std::move(body)).bytes();
}

class FunctionStoreTest : public ::testing::Test {
protected:
  void SetUp() override { reopen(); }

  void reopen(int keepVersions = 10) {
    store_.reset();
    db_.reset();
    auto db = Database::open(dir_.path() / "surge.db");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    StoreOptions options;
    options.dataDir = dir_.path();
    options.keepVersions = keepVersions;
    auto store = FunctionStore::open(options, *db_, clock_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  absl::StatusOr<UploadResult> upload(const std::string& name, const std::string& archive,
                                      std::optional<std::string> declaredSha = std::nullopt,
                                      int64_t expectedRevision = 0) {
    auto upload = store_->beginUpload("default", name);
    if (!upload.ok()) return upload.status();
    // Stream in pieces, as the API does.
    for (size_t offset = 0; offset < archive.size(); offset += 1000) {
      if (auto status = (*upload)->append(std::string_view(archive).substr(offset, 1000)); !status.ok()) return status;
    }
    return store_->commitUpload(std::move(*upload), declaredSha.value_or(common::Sha256::of(archive)),
                                expectedRevision);
  }

  size_t blobCount() const {
    size_t count = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "blobs")) count += entry.is_regular_file();
    return count;
  }
  size_t codeDirCount() const {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_.path() / "code"), fs::directory_iterator()));
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<FunctionStore> store_;
};

TEST_F(FunctionStoreTest, MigratesAnEmptyDatabaseToTheLatestSchema) {
  SQLite::Database db((dir_.path() / "surge.db").string());
  SQLite::Statement version(db, "SELECT max(version) FROM schema_version");
  ASSERT_TRUE(version.executeStep());
  EXPECT_EQ(version.getColumn(0).getInt(), latestSchemaVersion());
  EXPECT_EQ(db.execAndGet("PRAGMA journal_mode").getString(), "wal");
  // Re-opening applies nothing twice.
  reopen();
  SQLite::Statement rows(db, "SELECT count(*) FROM schema_version");
  ASSERT_TRUE(rows.executeStep());
  EXPECT_EQ(rows.getColumn(0).getInt(), latestSchemaVersion());
}

TEST_F(FunctionStoreTest, RefusesADatabaseFromANewerSurge) {
  store_.reset();
  db_.reset();
  {
    SQLite::Database db((dir_.path() / "surge.db").string(), SQLite::OPEN_READWRITE);
    db.exec("INSERT INTO schema_version (version) VALUES (999)");
  }
  auto db = Database::open(dir_.path() / "surge.db");
  EXPECT_EQ(db.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(db.status().message(), HasSubstr("schema version 999"));
}

TEST_F(FunctionStoreTest, CreatesAFunctionWithResolvedDefaults) {
  auto created = store_->createFunction("default", "hello", pythonConfig());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->revision, 1);
  EXPECT_EQ(created->activeVersion, 0);
  EXPECT_EQ(created->config.memoryMb, 128u);
  EXPECT_EQ(created->config.timeoutSeconds, 60u);
  EXPECT_EQ(created->config.instanceConcurrency, 1u);
  EXPECT_EQ(created->config.maxInstances, 100u);
  EXPECT_EQ(created->config.maxQueueLength, 1000u);
  EXPECT_EQ(created->config.effectiveQueueTimeoutSeconds(), 60u);
  EXPECT_EQ(created->createTime, clock_.now());

  auto read = store_->getFunction("default", "hello");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->config, created->config);
  EXPECT_EQ(read->createTime, created->createTime);
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(read->id, created->id) << "the record a create returns names the stored function";
}

TEST_F(FunctionStoreTest, ListsEveryReservedTargetWithOrWithoutCode) {
  FunctionConfig reserved = pythonConfig();
  reserved.reservedTarget = 2;
  ASSERT_TRUE(store_->createFunction("default", "no-code-yet", reserved).ok());
  ASSERT_TRUE(store_->createFunction("default", "unreserved", pythonConfig()).ok());
  ASSERT_TRUE(store_->createFunction("default", "warm", reserved).ok());
  ASSERT_TRUE(upload("warm", ZipBuilder().addFile("index.py", "def handler(e, c):\n    return e\n").bytes()).ok());
  auto listed = store_->listReservedFunctions();
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> names;
  for (const FunctionRecord& record : *listed) names.push_back(record.name);
  EXPECT_THAT(names, ::testing::ElementsAre("no-code-yet", "warm"));
}

TEST_F(FunctionStoreTest, KeepsEnvironmentAndEveryConfigField) {
  FunctionConfig config = pythonConfig();
  config.initializer = "index.init";
  config.initializerTimeoutSeconds = 5;
  config.memoryMb = 512;
  config.timeoutSeconds = 30;
  config.instanceConcurrency = 10;
  config.maxInstances = 7;
  config.queueTimeoutSeconds = 3;
  config.maxQueueLength = 50;
  config.reservedTarget = 2;
  config.networkAccess = true;
  config.environment = {{"A", "1"}, {"LONG_NAME", std::string(100, 'x')}};
  config.description = "sale";
  ASSERT_TRUE(store_->createFunction("shop", "cart", config).ok());
  reopen();
  auto read = store_->getFunction("shop", "cart");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->config, config);
}

TEST_F(FunctionStoreTest, RefusesADuplicateNameButAllowsItInAnotherNamespace) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  auto again = store_->createFunction("default", "hello", pythonConfig());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "function 'default/hello' already exists");
  EXPECT_TRUE(store_->createFunction("other", "hello", pythonConfig()).ok());
}

TEST_F(FunctionStoreTest, RefusesBadNamesAndConfigsWithTheRule) {
  auto badName = store_->createFunction("default", "Hello", pythonConfig());
  EXPECT_EQ(badName.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(badName.status().message(), HasSubstr("function name 'Hello' is not allowed"));

  auto longName = store_->createFunction("default", "a" + std::string(63, 'b'), pythonConfig());
  EXPECT_EQ(longName.status().code(), absl::StatusCode::kInvalidArgument);

  auto badNamespace = store_->createFunction("9ns", "hello", pythonConfig());
  EXPECT_EQ(badNamespace.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(badNamespace.status().message(), HasSubstr("namespace '9ns'"));

  FunctionConfig memory = pythonConfig();
  memory.memoryMb = 8192;
  auto tooBig = store_->createFunction("default", "hello", memory);
  EXPECT_EQ(tooBig.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tooBig.status().message(), "memory_mb 8192 is out of range: allowed 64-4096");

  FunctionConfig handler = pythonConfig();
  handler.handler = "index";
  auto badHandler = store_->createFunction("default", "hello", handler);
  EXPECT_EQ(badHandler.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(badHandler.status().message(), HasSubstr("use the form module.function"));

  FunctionConfig env = pythonConfig();
  env.environment["BIG"] = std::string(4096, 'x');
  auto bigEnv = store_->createFunction("default", "hello", env);
  EXPECT_EQ(bigEnv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bigEnv.status().message(), HasSubstr("at most 4096 are allowed"));

  FunctionConfig multiline = pythonConfig();
  multiline.environment["KEY"] = "line one\nline two";
  auto multilineEnv = store_->createFunction("default", "hello", multiline);
  EXPECT_EQ(multilineEnv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(multilineEnv.status().message(), HasSubstr("values must be one line"));

  FunctionConfig reserved = pythonConfig();
  reserved.environment["SURGE_TOKEN"] = "x";
  auto reservedEnv = store_->createFunction("default", "hello", reserved);
  EXPECT_EQ(reservedEnv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reservedEnv.status().message(), HasSubstr("SURGE_ prefix is reserved"));

  // Nothing was stored by any of the refusals.
  EXPECT_EQ(store_->getFunction("default", "hello").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FunctionStoreTest, MissingFunctionsAreNotFound) {
  auto missing = store_->getFunction("default", "ghost");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "function 'default/ghost' not found");
  EXPECT_EQ(store_->deleteFunction("default", "ghost", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->listVersions("default", "ghost").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->beginUpload("default", "ghost").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->setActiveVersion("default", "ghost", 1, 0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FunctionStoreTest, UpdateChangesOnlyWhatTheMutatorChangesAndBumpsTheRevision) {
  auto created = store_->createFunction("default", "hello", pythonConfig());
  ASSERT_TRUE(created.ok());
  clock_.advance(absl::Seconds(5));
  auto updated = store_->updateConfig("default", "hello", created->revision, [](FunctionConfig& c) {
    c.memoryMb = 256;
    return absl::OkStatus();
  });
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->revision, 2);
  EXPECT_EQ(updated->config.memoryMb, 256u);
  EXPECT_EQ(updated->config.timeoutSeconds, 60u);
  EXPECT_EQ(updated->updateTime, clock_.now());
  EXPECT_EQ(updated->createTime, created->createTime);
}

TEST_F(FunctionStoreTest, DefaultedQueueTimeoutFollowsTheTimeout) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  auto updated = store_->updateConfig("default", "hello", 0, [](FunctionConfig& c) {
    c.timeoutSeconds = 120;
    return absl::OkStatus();
  });
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->config.effectiveQueueTimeoutSeconds(), 120u);
}

TEST_F(FunctionStoreTest, StaleRevisionIsAbortedAndChangesNothing) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  auto first = store_->updateConfig("default", "hello", 1, [](FunctionConfig& c) {
    c.memoryMb = 256;
    return absl::OkStatus();
  });
  ASSERT_TRUE(first.ok());
  auto stale = store_->updateConfig("default", "hello", 1, [](FunctionConfig& c) {
    c.memoryMb = 512;
    return absl::OkStatus();
  });
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(stale.status().message(),
            "function 'default/hello' is at revision 2, not the expected 1; read it again and retry");
  EXPECT_EQ(store_->getFunction("default", "hello")->config.memoryMb, 256u);
  EXPECT_EQ(store_->deleteFunction("default", "hello", 1).status().code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(store_->getFunction("default", "hello").ok());
}

TEST_F(FunctionStoreTest, InvalidUpdateLeavesTheFunctionUnchanged) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  auto invalid = store_->updateConfig("default", "hello", 0, [](FunctionConfig& c) {
    c.instanceConcurrency = 101;
    return absl::OkStatus();
  });
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid.status().message(), "instance_concurrency 101 is out of range: allowed 1-100");
  auto read = store_->getFunction("default", "hello");
  EXPECT_EQ(read->revision, 1);
  EXPECT_EQ(read->config.instanceConcurrency, 1u);
}

TEST_F(FunctionStoreTest, ListsInNameOrderWithPrefixAndPages) {
  for (const char* name : {"b-two", "a-one", "b-one", "c-one", "b-three"}) {
    ASSERT_TRUE(store_->createFunction("default", name, pythonConfig()).ok());
  }
  ASSERT_TRUE(store_->createFunction("other", "b-four", pythonConfig()).ok());

  auto page1 = store_->listFunctions("default", "b-", 2, "");
  ASSERT_TRUE(page1.ok()) << page1.status();
  ASSERT_EQ(page1->functions.size(), 2u);
  EXPECT_EQ(page1->functions[0].name, "b-one");
  EXPECT_EQ(page1->functions[1].name, "b-three");
  ASSERT_FALSE(page1->nextPageToken.empty());
  auto page2 = store_->listFunctions("default", "b-", 2, page1->nextPageToken);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->functions.size(), 1u);
  EXPECT_EQ(page2->functions[0].name, "b-two");
  EXPECT_TRUE(page2->nextPageToken.empty());

  auto all = store_->listFunctions("default", "", 0, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->functions.size(), 5u);

  EXPECT_EQ(store_->listFunctions("default", "B", 10, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->listFunctions("default", "", 1001, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->listFunctions("default", "", 10, "../x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FunctionStoreTest, UploadCreatesAnActiveVersionAndUnpacksIt) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  const std::string archive = pythonArchive();
  auto result = upload("hello", archive);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->created);
  EXPECT_EQ(result->version.version, 1);
  EXPECT_EQ(result->version.sha256, common::Sha256::of(archive));
  EXPECT_EQ(result->version.sizeBytes, static_cast<int64_t>(archive.size()));
  EXPECT_EQ(result->version.fileCount, 1);
  EXPECT_EQ(result->function.activeVersion, 1);
  EXPECT_EQ(result->function.revision, 2);
  EXPECT_TRUE(fs::is_regular_file(store_->codeDir(result->version.sha256) / "index.py"));
  EXPECT_EQ(blobCount(), 1u);
}

TEST_F(FunctionStoreTest, UploadEqualToTheActiveVersionCreatesNothing) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  const std::string archive = pythonArchive();
  ASSERT_TRUE(upload("hello", archive).ok());
  auto again = upload("hello", archive);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->version.version, 1);
  EXPECT_EQ(again->function.revision, 2);
  EXPECT_EQ(store_->listVersions("default", "hello")->size(), 1u);
}

TEST_F(FunctionStoreTest, IdenticalArchivesOfTwoFunctionsAreStoredOnce) {
  ASSERT_TRUE(store_->createFunction("default", "one", pythonConfig()).ok());
  ASSERT_TRUE(store_->createFunction("default", "two", pythonConfig()).ok());
  ASSERT_TRUE(upload("one", pythonArchive()).ok());
  ASSERT_TRUE(upload("two", pythonArchive()).ok());
  EXPECT_EQ(blobCount(), 1u);
  EXPECT_EQ(codeDirCount(), 1u);
  // Deleting one function keeps the blob the other still uses.
  ASSERT_TRUE(store_->deleteFunction("default", "one", 0).ok());
  EXPECT_EQ(blobCount(), 1u);
  ASSERT_TRUE(store_->deleteFunction("default", "two", 0).ok());
  EXPECT_EQ(blobCount(), 0u);
  EXPECT_EQ(codeDirCount(), 0u);
}

TEST_F(FunctionStoreTest, ShaMismatchIsRefusedAndStoresNothing) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  auto result = upload("hello", pythonArchive(), std::string(64, 'a'));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("SHA-256 mismatch"));
  EXPECT_EQ(blobCount(), 0u);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tmp"));
  EXPECT_EQ(store_->getFunction("default", "hello")->activeVersion, 0);
}

TEST_F(FunctionStoreTest, ArchiveWithoutTheHandlerFileIsRefused) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  auto result = upload("hello", ZipBuilder().addFile("main.py", "x = 1\n").bytes());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("index.py"));
  EXPECT_EQ(blobCount(), 0u);
  EXPECT_EQ(codeDirCount(), 0u);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tmp"));
}

TEST_F(FunctionStoreTest, HostileArchiveIsRefusedAndStoresNothing) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  auto result = upload("hello", ZipBuilder().addFile("index.py", "").addFile("../evil", "x").bytes());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("../evil"));
  EXPECT_EQ(blobCount(), 0u);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tmp"));
  EXPECT_FALSE(fs::exists(dir_.path() / "evil"));
}

TEST_F(FunctionStoreTest, KeepsTheNewestVersionsAndDeletesOlderBlobs) {
  reopen(/*keepVersions=*/3);
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  for (int i = 1; i <= 5; ++i) {
    auto result = upload("hello", pythonArchive("# v" + std::to_string(i) + "\ndef handler(e, c):\n    return e\n"));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->version.version, i);
  }
  auto versions = store_->listVersions("default", "hello");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].version, 5);
  EXPECT_EQ((*versions)[2].version, 3);
  EXPECT_EQ(blobCount(), 3u);
  EXPECT_EQ(codeDirCount(), 3u);
  // Version numbers are never reused after pruning.
  auto sixth = upload("hello", pythonArchive("# v6\ndef handler(e, c):\n    return e\n"));
  ASSERT_TRUE(sixth.ok());
  EXPECT_EQ(sixth->version.version, 6);
}

TEST_F(FunctionStoreTest, RollsBackToARetainedVersionAndRefusesAPrunedOne) {
  reopen(/*keepVersions=*/2);
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(upload("hello", pythonArchive("# v" + std::to_string(i) + "\ndef handler(e, c):\n    pass\n")).ok());
  }
  auto rolledBack = store_->setActiveVersion("default", "hello", 2, 0);
  ASSERT_TRUE(rolledBack.ok()) << rolledBack.status();
  EXPECT_EQ(rolledBack->activeVersion, 2);
  auto versions = store_->listVersions("default", "hello");
  EXPECT_EQ((*versions)[1].sha256, rolledBack->activeSha256);
  EXPECT_FALSE((*versions)[0].active);
  EXPECT_TRUE((*versions)[1].active);

  auto pruned = store_->setActiveVersion("default", "hello", 1, 0);
  EXPECT_EQ(pruned.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(pruned.status().message(), HasSubstr("has no version 1"));

  // Uploading the rolled-back version's archive again is a no-op; a new one becomes version 4.
  auto next = upload("hello", pythonArchive("# v4\ndef handler(e, c):\n    pass\n"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->version.version, 4);
  // The active (rolled back) version 2 was older than 3, so with keep 2 it is pruned now; the
  // newest two remain.
  versions = store_->listVersions("default", "hello");
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].version, 4);
  EXPECT_EQ((*versions)[1].version, 3);
}

TEST_F(FunctionStoreTest, ARollbackMustServeTheInitializerToo) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  ASSERT_TRUE(upload("hello", pythonArchive()).ok()); // version 1: no setup.py
  ASSERT_TRUE(upload("hello", ZipBuilder()
                                  .addFile("index.py", "def handler(e, c):\n    return e\n")
                                  .addFile("setup.py", "def init(c):\n    pass\n")
                                  .bytes())
                  .ok());
  auto withInitializer = store_->updateConfig("default", "hello", 0, [](FunctionConfig& c) {
    c.initializer = "setup.init";
    return absl::OkStatus();
  });
  ASSERT_TRUE(withInitializer.ok()) << withInitializer.status();

  auto rolledBack = store_->setActiveVersion("default", "hello", 1, 0);
  EXPECT_EQ(rolledBack.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(rolledBack.status().message(), HasSubstr("setup.py"));
  EXPECT_EQ(store_->getFunction("default", "hello")->activeVersion, 2) << "nothing changed";
}

TEST_F(FunctionStoreTest, HandlerChangeMustBeServedByTheActiveCode) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  ASSERT_TRUE(upload("hello", pythonArchive()).ok());
  auto missing = store_->updateConfig("default", "hello", 0, [](FunctionConfig& c) {
    c.handler = "main.handler";
    return absl::OkStatus();
  });
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("main.py"));
  auto runtime = store_->updateConfig("default", "hello", 0, [](FunctionConfig& c) {
    c.runtime = common::Runtime::kNodejs;
    return absl::OkStatus();
  });
  EXPECT_EQ(runtime.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(runtime.status().message(), HasSubstr("index.js"));
  EXPECT_EQ(store_->getFunction("default", "hello")->revision, 2);
}

TEST_F(FunctionStoreTest, DeleteRemovesVersionsBlobsAndCode) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  ASSERT_TRUE(upload("hello", pythonArchive()).ok());
  ASSERT_TRUE(store_->deleteFunction("default", "hello", 0).ok());
  EXPECT_EQ(store_->getFunction("default", "hello").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(blobCount(), 0u);
  EXPECT_EQ(codeDirCount(), 0u);
  SQLite::Database db((dir_.path() / "surge.db").string());
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM code_versions").getInt(), 0);
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM function_env").getInt(), 0);
}

TEST_F(FunctionStoreTest, StartupRemovesOrphanBlobsCodeAndTempFiles) {
  ASSERT_TRUE(store_->createFunction("default", "hello", pythonConfig()).ok());
  ASSERT_TRUE(upload("hello", pythonArchive()).ok());
  store_.reset();
  const std::string orphan(64, 'b');
  fs::create_directories(dir_.path() / "blobs" / "sha256" / "bb");
  std::ofstream(dir_.path() / "blobs" / "sha256" / "bb" / orphan) << "orphan";
  fs::create_directories(dir_.path() / "code" / orphan);
  std::ofstream(dir_.path() / "tmp" / "upload-half") << "half";
  reopen();
  EXPECT_EQ(blobCount(), 1u);
  EXPECT_EQ(codeDirCount(), 1u);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "tmp"));
  EXPECT_EQ(store_->getFunction("default", "hello")->activeVersion, 1);
}

TEST_F(FunctionStoreTest, ConcurrentWritersAllSucceedWithoutLostUpdates) {
  ASSERT_TRUE(store_->createFunction("default", "counter", pythonConfig()).ok());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store_->createFunction("default", "fn-" + std::to_string(t) + "-" + std::to_string(i), pythonConfig())
                 .ok()) {
          ++failures;
        }
        // Read-modify-write through the mutator: every increment must survive.
        auto updated = store_->updateConfig("default", "counter", 0, [](FunctionConfig& c) {
          c.maxQueueLength += 1;
          return absl::OkStatus();
        });
        if (!updated.ok()) ++failures;
        if (!store_->listFunctions("default", "fn-", 50, "").ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto counter = store_->getFunction("default", "counter");
  EXPECT_EQ(counter->config.maxQueueLength, 1000u + kThreads * kPerThread);
  EXPECT_EQ(counter->revision, 1 + kThreads * kPerThread);
  std::set<std::string> names;
  std::string token;
  do {
    auto page = store_->listFunctions("default", "fn-", 7, token);
    ASSERT_TRUE(page.ok());
    for (const auto& f : page->functions) names.insert(f.name);
    token = page->nextPageToken;
  } while (!token.empty());
  EXPECT_EQ(names.size(), static_cast<size_t>(kThreads * kPerThread));
}

} // namespace
} // namespace surge::store
