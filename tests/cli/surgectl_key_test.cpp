// surgectl's API keys and audit trail: the real binary against a real surged child process that
// requires keys and leaves its bootstrap admin token in <data-dir>/admin.key.
#include "support/process.h"
#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace surge {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The token in "secret: surge_..." of `key create`'s table output; empty if there is none.
std::string secretIn(const std::string& out) {
  const std::string marker = "secret: ";
  const size_t begin = out.find(marker);
  if (begin == std::string::npos) return {};
  const size_t start = begin + marker.size();
  return out.substr(start, out.find('\n', start) - start);
}

class SurgectlKeyTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    fs::create_directories(dir_->path() / "empty");
    surged_ = new testing::SurgedProcess(dataDir());
  }
  static void TearDownTestSuite() {
    delete surged_;
    delete dir_;
  }

  static fs::path dataDir() { return dir_->path() / "data"; }
  // A data dir without admin.key, so that no key is found unless a test gives one.
  static fs::path noKeyDir() { return dir_->path() / "empty"; }

  // Runs surgectl against the suite's surged. No SURGE_* variable of the caller is inherited, and
  // SURGE_DATA_DIR names a folder without admin.key (not ./surge-data of the working directory).
  CommandResult surgectl(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    env.try_emplace("SURGE_DATA_DIR", noKeyDir().string());
    return testing::runSurgectl(*surged_, args, std::move(env));
  }

  // surgectl with the bootstrap admin key, found through SURGE_DATA_DIR alone.
  CommandResult asAdmin(std::vector<std::string> args) {
    return surgectl(std::move(args), {{"SURGE_DATA_DIR", dataDir().string()}});
  }

  // Creates a key with `role` as the admin and returns its token.
  std::string createKey(const std::string& name, const std::string& role) {
    CommandResult created = asAdmin({"key", "create", name, "--role", role});
    EXPECT_EQ(created.exitCode, 0) << created.err;
    return secretIn(created.out);
  }

  fs::path pythonFolder(const std::string& name) {
    const fs::path folder = dir_->path() / "src" / name;
    fs::create_directories(folder);
    std::ofstream(folder / "index.py") << "def handler(event, context):\n    return 'ok'\n";
    return folder;
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::SurgedProcess* surged_ = nullptr;
};

TEST_F(SurgectlKeyTest, FirstStartWritesTheBootstrapAdminTokenAsOneLine) {
  const fs::path adminKey = dataDir() / "admin.key";
  ASSERT_TRUE(fs::exists(adminKey)) << surged_->log();
  std::string token = readFile(adminKey);
  if (!token.empty() && token.back() == '\n') token.pop_back();
  EXPECT_THAT(token, StartsWith("surge_"));
  EXPECT_THAT(token, Not(HasSubstr("\n")));

  CommandResult list = asAdmin({"key", "list"});
  ASSERT_EQ(list.exitCode, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("bootstrap-admin"));
  EXPECT_THAT(list.out, HasSubstr("admin"));
}

TEST_F(SurgectlKeyTest, WithoutAnyKeyTheServerSaysUnauthenticatedAndSurgectlSaysWhereItLooked) {
  CommandResult result = surgectl({"function", "list"});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_THAT(result.err, HasSubstr("error: UNAUTHENTICATED: "));
  EXPECT_THAT(result.err, HasSubstr("hint: no API key was found"));
  EXPECT_THAT(result.err, HasSubstr("--key, SURGE_API_KEY, --key-file"));
  EXPECT_THAT(result.err, HasSubstr((noKeyDir() / "admin.key").string()));
}

TEST_F(SurgectlKeyTest, CreatedKeyWorksFromEverySourceUntilRevoked) {
  CommandResult created = asAdmin({"key", "create", "ci", "--role", "developer"});
  ASSERT_EQ(created.exitCode, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("created key ci"));
  EXPECT_THAT(created.err, HasSubstr("cannot be shown again"));
  const std::string token = secretIn(created.out);
  ASSERT_THAT(token, StartsWith("surge_")) << created.out;

  CommandResult byFlag = surgectl({"--key", token, "function", "list"});
  EXPECT_EQ(byFlag.exitCode, 0) << byFlag.err;
  CommandResult byEnv = surgectl({"function", "list"}, {{"SURGE_API_KEY", token}});
  EXPECT_EQ(byEnv.exitCode, 0) << byEnv.err;
  const fs::path keyFile = dir_->path() / "ci.key";
  std::ofstream(keyFile) << token << "\n";
  CommandResult byFile = surgectl({"--key-file", keyFile.string(), "function", "list"});
  EXPECT_EQ(byFile.exitCode, 0) << byFile.err;

  CommandResult list = asAdmin({"key", "list"});
  ASSERT_EQ(list.exitCode, 0) << list.err;
  EXPECT_THAT(list.out, ContainsRegex(" ci +developer "));
  EXPECT_THAT(list.out, HasSubstr("bootstrap-admin"));
  EXPECT_THAT(list.out, Not(HasSubstr("surge_")));
  CommandResult json = asAdmin({"-o", "json", "key", "list"});
  ASSERT_EQ(json.exitCode, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"name\": \"ci\""));
  EXPECT_THAT(json.out, Not(HasSubstr("surge_")));

  CommandResult audit = asAdmin({"audit"});
  ASSERT_EQ(audit.exitCode, 0) << audit.err;
  EXPECT_THAT(audit.out, ContainsRegex("key\\.create +ci "));

  CommandResult revoked = asAdmin({"key", "revoke", "ci"});
  ASSERT_EQ(revoked.exitCode, 0) << revoked.err;
  EXPECT_THAT(revoked.out, HasSubstr("revoked key ci"));
  CommandResult refused = surgectl({"--key", token, "function", "list"});
  EXPECT_EQ(refused.exitCode, 1);
  EXPECT_THAT(refused.err, HasSubstr("error: UNAUTHENTICATED: "));
  EXPECT_THAT(refused.err, HasSubstr("hint: the server refused the API key from --key"));

  CommandResult all = asAdmin({"key", "list", "--all"});
  ASSERT_EQ(all.exitCode, 0) << all.err;
  EXPECT_THAT(all.out, HasSubstr("REVOKED"));
  EXPECT_THAT(all.out, ContainsRegex(" ci +developer "));
}

TEST_F(SurgectlKeyTest, ViewerKeyMayReadButNotCreateFunctions) {
  const std::string token = createKey("watcher", "viewer");
  ASSERT_THAT(token, StartsWith("surge_"));
  const fs::path code = pythonFolder("watched");
  CommandResult create = surgectl(
      {"function", "create", "watched", "--runtime", "python3", "--handler", "index.handler", "--code", code.string()},
      {{"SURGE_API_KEY", token}});
  EXPECT_EQ(create.exitCode, 1);
  EXPECT_THAT(create.err, HasSubstr("error: PERMISSION_DENIED: "));
  CommandResult list = surgectl({"function", "list"}, {{"SURGE_API_KEY", token}});
  EXPECT_EQ(list.exitCode, 0) << list.err;
}

TEST_F(SurgectlKeyTest, UsageErrorsExitWithTwo) {
  CommandResult since = asAdmin({"audit", "--since", "yesterday"});
  EXPECT_EQ(since.exitCode, 2);
  EXPECT_THAT(since.err, HasSubstr("2026-11-28T08:00:00Z"));
  EXPECT_EQ(asAdmin({"audit", "--since", "15m"}).exitCode, 0);

  CommandResult role = asAdmin({"key", "create", "bad-role", "--role", "root"});
  EXPECT_EQ(role.exitCode, 2);
  EXPECT_THAT(role.err, HasSubstr("admin, developer, invoker, viewer"));

  const fs::path emptyFile = dir_->path() / "empty.key";
  std::ofstream(emptyFile).flush();
  CommandResult empty = surgectl({"--key-file", emptyFile.string(), "function", "list"});
  EXPECT_EQ(empty.exitCode, 2);
  EXPECT_THAT(empty.err, HasSubstr("is empty"));
  CommandResult missing = surgectl({"--key-file", (dir_->path() / "nowhere.key").string(), "function", "list"});
  EXPECT_EQ(missing.exitCode, 2);
  EXPECT_THAT(missing.err, HasSubstr("nowhere.key"));

  CommandResult halfTls = surgectl({"--tls-cert", emptyFile.string(), "function", "list"});
  EXPECT_EQ(halfTls.exitCode, 2);
  EXPECT_THAT(halfTls.err, HasSubstr("--tls-key"));
}

} // namespace
} // namespace surge
