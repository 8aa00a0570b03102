// surged as a process: flags, config file, start-up failures, clean shutdown, and crash safety
// of uploads when the process is killed at the worst moments.
#include "support/client.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/zip_builder.h"

#include "surge/v1/admin.grpc.pb.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>

namespace surge {
namespace {

namespace fs = std::filesystem;
using testing::contextWithDeadline;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::runCommand;
using ::testing::StartsWith;
using testing::SurgedProcess;
using testing::TempDir;
using testing::ZipBuilder;

size_t filesUnder(const fs::path& dir) {
  size_t count = 0;
  if (!fs::exists(dir)) return 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) count += entry.is_regular_file();
  return count;
}

size_t entriesIn(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

void createFunction(const std::string& address, const std::string& name) {
  auto stub = v1::FunctionService::NewStub(testing::makeChannel(address));
  v1::CreateFunctionRequest request;
  request.set_name(name);
  request.mutable_config()->set_runtime(v1::RUNTIME_PYTHON3);
  request.mutable_config()->set_handler("index.handler");
  v1::Function function;
  auto context = contextWithDeadline();
  const grpc::Status status = stub->CreateFunction(context.get(), request, &function);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

TEST(SurgedProcess, PrintsTheRealPortAndStopsCleanlyOnSigterm) {
  TempDir dir;
  SurgedProcess surged(dir.path() / "data");
  EXPECT_THAT(surged.address(), StartsWith("127.0.0.1:"));
  EXPECT_NE(surged.address(), "127.0.0.1:0");
  createFunction(surged.address(), "hello");
  EXPECT_EQ(surged.stop(), 0);
  EXPECT_THAT(surged.log(), HasSubstr("shutting down"));
}

TEST(SurgedProcess, KeepsItsDataPrivate) {
  TempDir dir;
  SurgedProcess surged(dir.path() / "data");
  createFunction(surged.address(), "private");
  auto mode = [&](const char* name) {
    return static_cast<unsigned>(fs::status(dir.path() / "data" / name).permissions() & fs::perms::mask);
  };
  EXPECT_EQ(mode(""), 0711u);
  EXPECT_EQ(mode("surge.db"), 0600u);
  EXPECT_EQ(mode("surge.db-wal"), 0600u);
  EXPECT_EQ(mode("blobs"), 0700u);
  EXPECT_EQ(mode("tmp"), 0700u);
  EXPECT_EQ(mode("admin.key"), 0600u);
}

TEST(SurgedProcess, KeepsFunctionsAcrossRestarts) {
  TempDir dir;
  {
    SurgedProcess surged(dir.path() / "data");
    createFunction(surged.address(), "durable");
  }
  SurgedProcess surged(dir.path() / "data");
  auto stub = v1::FunctionService::NewStub(testing::makeChannel(surged.address()));
  v1::GetFunctionRequest get;
  get.set_name("durable");
  v1::Function function;
  auto context = contextWithDeadline();
  EXPECT_TRUE(stub->GetFunction(context.get(), get, &function).ok());
}

TEST(SurgedProcess, BadFlagIsAUsageError) {
  auto result = runCommand({testing::surgedPath(), "--no-such-flag"});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_THAT(result.err, HasSubstr("--no-such-flag"));
  result = runCommand({testing::surgedPath(), "--keep-versions", "0"});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_THAT(result.err, HasSubstr("keep-versions"));
}

TEST(SurgedProcess, BusyPortIsRefusedWithAClearMessage) {
  // Hold a port with a plain listening socket.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string listen = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));

  TempDir dir;
  auto result = runCommand({testing::surgedPath(), "--listen", listen, "--data-dir", (dir.path() / "data").string()});
  ::close(fd);
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_THAT(result.err, HasSubstr("cannot listen on " + listen));
  EXPECT_EQ(result.out, "");
}

TEST(SurgedProcess, UnusableDataDirIsRefused) {
  TempDir dir;
  std::ofstream(dir.path() / "file") << "not a folder";
  auto result = runCommand(
      {testing::surgedPath(), "--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "file" / "data").string()});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_THAT(result.err, HasSubstr("cannot use data dir"));
}

TEST(SurgedProcess, SecondServerOnTheSameDataDirIsRefused) {
  TempDir dir;
  SurgedProcess first(dir.path() / "data");
  auto result =
      runCommand({testing::surgedPath(), "--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "data").string()});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_THAT(result.err, HasSubstr("is in use by another surged (pid " + std::to_string(first.pid()) + ")"));
}

TEST(SurgedProcess, ReadsTheTomlConfigAndFlagsOverrideIt) {
  TempDir dir;
  const fs::path config = dir.path() / "surged.toml";
  std::ofstream(config) << "listen = \"127.0.0.1:1\"\n"
                        << "data-dir = \"" << (dir.path() / "from-config").string() << "\"\n"
                        << "keep-versions = 3\n";
  // --listen from the command line wins over the file's unusable port 1; data-dir comes from the file.
  SurgedProcess surged(dir.path() / "unused",
                       {"--config", config.string(), "--data-dir", (dir.path() / "from-config").string()});
  EXPECT_TRUE(fs::exists(dir.path() / "from-config" / "surge.db"));

  std::ofstream(config) << "listen = \"127.0.0.1:0\"\ncolour = \"blue\"\n";
  auto result = runCommand({testing::surgedPath(), "--config", config.string()});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_THAT(result.err, HasSubstr("unknown key 'colour' in config file"));

  std::ofstream(config) << "listen = [unterminated\n";
  result = runCommand({testing::surgedPath(), "--config", config.string()});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_THAT(result.err, HasSubstr("not valid TOML at line 1"));
}

// The crash-safety promise: whenever surged dies during an upload, the restarted server has no
// version for it, no blob or unpacked folder that nothing references, no temp file, and an
// intact database.
class UploadCrashTest : public ::testing::TestWithParam<std::string> {};

TEST_P(UploadCrashTest, LeavesNoVersionAndNoOrphanAfterRestart) {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  std::mt19937_64 generator(7);
  std::string noise(3'000'000, '\0');
  for (auto& c : noise) c = static_cast<char>(generator());
  const std::string archive =
      ZipBuilder().addFile("index.py", "def handler(e, c):\n    pass\n").addFile("noise", noise).bytes();
  const std::string failpoint = GetParam();
  {
    SurgedProcess surged(data, {}, {{"SURGE_FAILPOINT", failpoint}});
    createFunction(surged.address(), "victim");
    auto stub = v1::FunctionService::NewStub(testing::makeChannel(surged.address()));
    if (failpoint == "mid-stream") {
      // Send part of the archive, make sure the server has it on disk, then kill the server.
      auto context = contextWithDeadline();
      v1::UploadCodeResponse response;
      auto writer = stub->UploadCode(context.get(), &response);
      v1::UploadCodeRequest request;
      request.set_name("victim");
      request.set_sha256(std::string(64, '0'));
      request.set_chunk(archive.substr(0, 1 << 20));
      ASSERT_TRUE(writer->Write(request));
      request.Clear();
      request.set_chunk(archive.substr(1 << 20, 1 << 20));
      ASSERT_TRUE(writer->Write(request));
      // Bounded wait for the temp file to hold the first chunk.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      bool written = false;
      while (!written && std::chrono::steady_clock::now() < deadline) {
        for (const auto& entry : fs::directory_iterator(data / "tmp")) {
          if (fs::file_size(entry.path()) >= (1u << 20)) written = true;
        }
      }
      ASSERT_TRUE(written);
      surged.kill();
      context->TryCancel();
    } else {
      v1::UploadCodeResponse response;
      const grpc::Status status = testing::uploadCode(*stub, "", "victim", archive, &response);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
      const auto exit = surged.waitForExit(std::chrono::seconds(20));
      ASSERT_TRUE(exit.has_value());
      EXPECT_TRUE(WIFSIGNALED(*exit));
      EXPECT_EQ(WTERMSIG(*exit), SIGKILL);
    }
  }
  EXPECT_GE(filesUnder(data / "tmp") + filesUnder(data / "blobs") + entriesIn(data / "code"), 1u)
      << "the crash should have left something for the restart to clean";

  SurgedProcess restarted(data);
  {
    // The channel closes at the end of this block, so that stop() below need not wait for
    // the client to notice the server's GOAWAY.
    auto stub = v1::FunctionService::NewStub(testing::makeChannel(restarted.address()));
    v1::ListCodeVersionsRequest list;
    list.set_name("victim");
    v1::ListCodeVersionsResponse versions;
    auto context = contextWithDeadline();
    ASSERT_TRUE(stub->ListCodeVersions(context.get(), list, &versions).ok());
    EXPECT_EQ(versions.versions_size(), 0);
  }
  EXPECT_EQ(filesUnder(data / "blobs"), 0u);
  EXPECT_EQ(entriesIn(data / "code"), 0u);
  EXPECT_EQ(filesUnder(data / "tmp"), 0u);
  EXPECT_EQ(restarted.stop(), 0);

  SQLite::Database db((data / "surge.db").string());
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
  EXPECT_EQ(db.execAndGet("SELECT count(*) FROM pragma_foreign_key_check").getInt(), 0);
}

INSTANTIATE_TEST_SUITE_P(KilledAt, UploadCrashTest,
                         ::testing::Values("mid-stream", "upload.after_blob", "upload.after_unpack"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(UploadCrash, KilledJustAfterCommitKeepsTheVersion) {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const std::string archive = ZipBuilder().addFile("index.py", "def handler(e, c):\n    pass\n").bytes();
  {
    SurgedProcess surged(data, {}, {{"SURGE_FAILPOINT", "upload.after_commit"}});
    createFunction(surged.address(), "kept");
    auto stub = v1::FunctionService::NewStub(testing::makeChannel(surged.address()));
    v1::UploadCodeResponse response;
    EXPECT_EQ(testing::uploadCode(*stub, "", "kept", archive, &response).error_code(), grpc::StatusCode::UNAVAILABLE);
    ASSERT_TRUE(surged.waitForExit(std::chrono::seconds(20)).has_value());
  }
  SurgedProcess restarted(data);
  auto stub = v1::FunctionService::NewStub(testing::makeChannel(restarted.address()));
  v1::ListCodeVersionsRequest list;
  list.set_name("kept");
  v1::ListCodeVersionsResponse versions;
  auto context = contextWithDeadline();
  ASSERT_TRUE(stub->ListCodeVersions(context.get(), list, &versions).ok());
  ASSERT_EQ(versions.versions_size(), 1);
  EXPECT_TRUE(versions.versions(0).active());
  EXPECT_EQ(filesUnder(data / "blobs"), 1u);
  EXPECT_TRUE(fs::exists(data / "code" / versions.versions(0).sha256() / "index.py"));
}

// Whether `token` may call the admin API of the surged at `address`: the gRPC status of a call.
grpc::StatusCode adminCall(const std::string& address, const std::string& token) {
  auto stub = v1::AdminService::NewStub(testing::makeChannel(address));
  v1::ListApiKeysRequest request;
  v1::ListApiKeysResponse response;
  auto context = contextWithDeadline(std::chrono::seconds(30), token);
  return stub->ListApiKeys(context.get(), request, &response).error_code();
}

std::string readKeyFile(const fs::path& data) {
  std::ifstream in(data / "admin.key");
  std::string token;
  std::getline(in, token);
  return token;
}

TEST(SurgedProcess, RefusesADataDirTheSandboxesCannotReach) {
  TempDir dir;
  fs::create_directories(dir.path() / "private");
  fs::permissions(dir.path() / "private", fs::perms(0700));
  const testing::CommandResult refused = runCommand(
      {testing::surgedPath(), "--listen", "127.0.0.1:0", "--data-dir", (dir.path() / "private" / "data").string()});
  EXPECT_EQ(refused.exitCode, 1);
  EXPECT_THAT(refused.err, HasSubstr((dir.path() / "private").string() + " is mode 0700"));
  EXPECT_FALSE(fs::exists(dir.path() / "private" / "data")) << "nothing is made";
}

TEST(AdminKey, ACrashBetweenWritingTheTokenAndCommittingTheKeyLeavesAWorkingAdminKey) {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const testing::CommandResult crashed =
      runCommand({testing::surgedPath(), "--listen", "127.0.0.1:0", "--data-dir", data.string()},
                 {{"SURGE_FAILPOINT", "admin_key.after_file"}}, std::chrono::seconds(60));
  EXPECT_EQ(crashed.exitCode, -1) << "killed by the failpoint";
  EXPECT_THAT(crashed.out, Not(HasSubstr("listening on"))) << "the failpoint lies on the first start's way";

  SurgedProcess restarted(data);
  const std::string token = readKeyFile(data);
  ASSERT_FALSE(token.empty()) << "the restart must leave a token in admin.key";
  EXPECT_EQ(adminCall(restarted.address(), token), grpc::StatusCode::OK);
}

TEST(AdminKey, ResetAdminKeyReplacesALostTokenAndRecordsIt) {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  std::string oldToken;
  {
    SurgedProcess surged(data);
    oldToken = surged.adminKey();
    // While the server runs, the reset refuses: it needs the data dir lock.
    const testing::CommandResult refused =
        runCommand({testing::surgedPath(), "--data-dir", data.string(), "--reset-admin-key"});
    EXPECT_EQ(refused.exitCode, 1);
    EXPECT_THAT(refused.err, HasSubstr(std::to_string(surged.pid())));
  }
  fs::remove(data / "admin.key"); // lost

  const testing::CommandResult reset =
      runCommand({testing::surgedPath(), "--data-dir", data.string(), "--reset-admin-key"});
  ASSERT_EQ(reset.exitCode, 0) << reset.err;
  EXPECT_THAT(reset.out, HasSubstr((data / "admin.key").string()));
  EXPECT_EQ(fs::status(data / "admin.key").permissions() & fs::perms::mask,
            fs::perms::owner_read | fs::perms::owner_write);
  const std::string newToken = readKeyFile(data);
  ASSERT_FALSE(newToken.empty());
  EXPECT_NE(newToken, oldToken);

  SurgedProcess surged(data);
  EXPECT_EQ(adminCall(surged.address(), newToken), grpc::StatusCode::OK);
  EXPECT_EQ(adminCall(surged.address(), oldToken), grpc::StatusCode::UNAUTHENTICATED);
  auto stub = v1::AdminService::NewStub(testing::makeChannel(surged.address()));
  v1::ListAuditEventsRequest request;
  v1::ListAuditEventsResponse events;
  auto context = contextWithDeadline(std::chrono::seconds(30), newToken);
  ASSERT_TRUE(stub->ListAuditEvents(context.get(), request, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).action(), "key.reset_admin");
  EXPECT_EQ(events.events(0).key_name(), "surged --reset-admin-key");
  EXPECT_EQ(events.events(0).target(), "bootstrap-admin");
  EXPECT_THAT(events.events(0).detail(), HasSubstr("revoked="));
}

TEST(AdminKey, ResetAdminKeyRefusesAFolderWithoutADatabase) {
  TempDir dir;
  const testing::CommandResult reset =
      runCommand({testing::surgedPath(), "--data-dir", (dir.path() / "nothing").string(), "--reset-admin-key"});
  EXPECT_EQ(reset.exitCode, 1);
  EXPECT_THAT(reset.err, HasSubstr("there is no Surge database in"));
  EXPECT_FALSE(fs::exists(dir.path() / "nothing")) << "nothing is created";
}

} // namespace
} // namespace surge
