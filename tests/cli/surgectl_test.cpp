// surgectl, the real binary, against a real surged child process.
#include "support/process.h"
#include "support/surged_suite.h"
#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace surge {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;

class SurgectlTest : public testing::SurgedSuite {
protected:
  // Runs surgectl against the test's surged with its admin key (found through SURGE_DATA_DIR);
  // SURGE_* variables of the caller are not inherited.
  CommandResult surgectl(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    return testing::runSurgectl(*surged_, args, std::move(env));
  }

  // A python function folder whose handler returns `marker`.
  fs::path pythonFolder(const std::string& name, const std::string& marker) {
    const fs::path folder = dir_->path() / "src" / name;
    fs::create_directories(folder / "lib");
    std::ofstream(folder / "index.py") << "def handler(event, context):\n    return '" << marker << "'\n";
    std::ofstream(folder / "lib" / "util.py") << "X = 1\n";
    return folder;
  }
};

TEST_F(SurgectlTest, CreatesGetsAndListsAFunctionFromAFolder) {
  const fs::path code = pythonFolder("hello", "v1");
  CommandResult created =
      surgectl({"function", "create", "hello", "--runtime", "python3", "--handler", "index.handler", "--code",
                code.string(), "--memory", "256", "--env", "MODE=sale", "--description", "says hello"});
  ASSERT_EQ(created.exitCode, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("created function default/hello with code version 1"));

  CommandResult json = surgectl({"-o", "json", "function", "get", "hello"});
  ASSERT_EQ(json.exitCode, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"memoryMb\": 256"));
  EXPECT_THAT(json.out, HasSubstr("\"timeoutSeconds\": 60"));
  EXPECT_THAT(json.out, HasSubstr("\"networkAccess\": false")); // primitives always printed
  EXPECT_THAT(json.out, HasSubstr("\"activeVersion\": \"1\""));
  EXPECT_THAT(json.out, HasSubstr("\"MODE\": \"sale\""));
  EXPECT_THAT(json.out, HasSubstr("\"runtime\": \"RUNTIME_PYTHON3\""));

  CommandResult table = surgectl({"function", "get", "hello"});
  ASSERT_EQ(table.exitCode, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("python3"));
  EXPECT_THAT(table.out, HasSubstr("256 MiB"));

  CommandResult versions = surgectl({"-o", "json", "function", "versions", "hello"});
  ASSERT_EQ(versions.exitCode, 0) << versions.err;
  EXPECT_THAT(versions.out, HasSubstr("\"fileCount\": \"2\""));
}

TEST_F(SurgectlTest, DeployIsANoOpForAnUnchangedFolderAndRollbackWorks) {
  const fs::path code = pythonFolder("deployed", "v1");
  ASSERT_EQ(surgectl({"function", "create", "deployed", "--runtime", "python3", "--handler", "index.handler", "--code",
                      code.string()})
                .exitCode,
            0);
  CommandResult same = surgectl({"function", "deploy", "deployed", "--code", code.string()});
  ASSERT_EQ(same.exitCode, 0) << same.err;
  EXPECT_THAT(same.out, HasSubstr("unchanged"));

  pythonFolder("deployed", "v2");
  CommandResult changed = surgectl({"function", "deploy", "deployed", "--code", code.string()});
  ASSERT_EQ(changed.exitCode, 0) << changed.err;
  EXPECT_THAT(changed.out, HasSubstr("version 2"));

  CommandResult rollback = surgectl({"-o", "json", "function", "rollback", "deployed", "--version", "1"});
  ASSERT_EQ(rollback.exitCode, 0) << rollback.err;
  EXPECT_THAT(rollback.out, HasSubstr("\"activeVersion\": \"1\""));

  CommandResult pruned = surgectl({"function", "rollback", "deployed", "--version", "9"});
  EXPECT_EQ(pruned.exitCode, 1);
  EXPECT_THAT(pruned.err, HasSubstr("error: NOT_FOUND: function 'default/deployed' has no version 9"));
}

TEST_F(SurgectlTest, UpdateSendsOnlyTheFlagsGiven) {
  const fs::path code = pythonFolder("tuned", "v1");
  ASSERT_EQ(surgectl({"function", "create", "tuned", "--runtime", "python3", "--handler", "index.handler", "--code",
                      code.string(), "--timeout", "30", "--env", "A=1"})
                .exitCode,
            0);
  CommandResult updated = surgectl({"-o", "json", "function", "update", "tuned", "--memory", "512"});
  ASSERT_EQ(updated.exitCode, 0) << updated.err;
  EXPECT_THAT(updated.out, HasSubstr("\"memoryMb\": 512"));
  EXPECT_THAT(updated.out, HasSubstr("\"timeoutSeconds\": 30"));
  EXPECT_THAT(updated.out, HasSubstr("\"A\": \"1\""));

  CommandResult invalid = surgectl({"function", "update", "tuned", "--memory", "9000"});
  EXPECT_EQ(invalid.exitCode, 1);
  EXPECT_THAT(invalid.err, HasSubstr("error: INVALID_ARGUMENT: memory_mb 9000 is out of range: allowed 64-4096"));

  CommandResult stale = surgectl({"function", "update", "tuned", "--timeout", "10", "--revision", "1"});
  EXPECT_EQ(stale.exitCode, 1);
  EXPECT_THAT(stale.err, HasSubstr("error: ABORTED:"));
}

TEST_F(SurgectlTest, ListMergesEveryPageIntoOneJsonObject) {
  const fs::path code = pythonFolder("paged", "v1");
  for (const char* name : {"page-a", "page-b", "page-c"}) {
    ASSERT_EQ(surgectl({"function", "create", name, "--runtime", "python3", "--handler", "index.handler", "--code",
                        code.string()})
                  .exitCode,
              0);
  }
  CommandResult list = surgectl({"-o", "json", "function", "list", "--prefix", "page-", "--page-size", "1"});
  ASSERT_EQ(list.exitCode, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("\"name\": \"page-a\""));
  EXPECT_THAT(list.out, HasSubstr("\"name\": \"page-c\""));
  EXPECT_THAT(list.out, HasSubstr("\"nextPageToken\": \"\""));
  EXPECT_THAT(list.out, Not(HasSubstr("\"name\": \"hello\"")));

  CommandResult table = surgectl({"function", "list", "--prefix", "page-"});
  ASSERT_EQ(table.exitCode, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("page-b"));
}

TEST_F(SurgectlTest, NamespacesComeFromTheFlagOrTheEnvironment) {
  const fs::path code = pythonFolder("spaced", "v1");
  ASSERT_EQ(surgectl({"--namespace", "team-a", "function", "create", "spaced", "--runtime", "python3", "--handler",
                      "index.handler", "--code", code.string()})
                .exitCode,
            0);
  EXPECT_EQ(surgectl({"function", "get", "spaced"}, {{"SURGE_NAMESPACE", "team-a"}}).exitCode, 0);
  CommandResult elsewhere = surgectl({"function", "get", "spaced"});
  EXPECT_EQ(elsewhere.exitCode, 1);
  EXPECT_THAT(elsewhere.err, HasSubstr("error: NOT_FOUND: function 'default/spaced' not found"));
}

TEST_F(SurgectlTest, FailedUploadOnCreateLeavesNoFunction) {
  const fs::path code = dir_->path() / "src" / "no-handler";
  fs::create_directories(code);
  std::ofstream(code / "main.py") << "x = 1\n";
  CommandResult created = surgectl(
      {"function", "create", "orphan", "--runtime", "python3", "--handler", "index.handler", "--code", code.string()});
  EXPECT_EQ(created.exitCode, 1);
  EXPECT_THAT(created.err, HasSubstr("error: INVALID_ARGUMENT:"));
  EXPECT_THAT(created.err, HasSubstr("index.py"));
  EXPECT_EQ(surgectl({"function", "get", "orphan"}).exitCode, 1);
}

TEST_F(SurgectlTest, DeleteRemovesTheFunction) {
  const fs::path code = pythonFolder("gone", "v1");
  ASSERT_EQ(surgectl({"function", "create", "gone", "--runtime", "python3", "--handler", "index.handler", "--code",
                      code.string()})
                .exitCode,
            0);
  CommandResult deleted = surgectl({"function", "delete", "gone"});
  ASSERT_EQ(deleted.exitCode, 0) << deleted.err;
  CommandResult again = surgectl({"function", "delete", "gone"});
  EXPECT_EQ(again.exitCode, 1);
  EXPECT_THAT(again.err, HasSubstr("error: NOT_FOUND: function 'default/gone' not found"));
}

TEST_F(SurgectlTest, UsageErrorsExitWithTwoAndSendNothing) {
  const fs::path code = pythonFolder("usage", "v1");
  CommandResult runtime = surgectl(
      {"function", "create", "usage", "--runtime", "cobol", "--handler", "index.handler", "--code", code.string()});
  EXPECT_EQ(runtime.exitCode, 2);
  EXPECT_THAT(runtime.err, HasSubstr("python3"));
  CommandResult missing = surgectl({"function", "create", "usage", "--runtime", "python3", "--handler", "index.handler",
                                    "--code", (dir_->path() / "nowhere").string()});
  EXPECT_EQ(missing.exitCode, 2);
  fs::create_symlink("/etc/shadow", code / "shadow");
  CommandResult symlink = surgectl(
      {"function", "create", "usage", "--runtime", "python3", "--handler", "index.handler", "--code", code.string()});
  EXPECT_EQ(symlink.exitCode, 2);
  EXPECT_THAT(symlink.err, HasSubstr("symlink"));
  EXPECT_EQ(surgectl({"function", "get", "usage"}).exitCode, 1); // nothing was created
  EXPECT_EQ(surgectl({"function", "frobnicate"}).exitCode, 2);
  EXPECT_EQ(surgectl({"function", "update", "usage"}).exitCode, 2);
}

TEST_F(SurgectlTest, UnreachableServerIsAnRpcErrorNamingTheAddress) {
  CommandResult result = surgectl({"--server", "127.0.0.1:1", "function", "list"});
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_THAT(result.err, HasSubstr("error: UNAVAILABLE"));
  EXPECT_THAT(result.err, HasSubstr("127.0.0.1:1"));
}

TEST_F(SurgectlTest, InvokePrintsTheResultAndExitsOneOnAFunctionError) {
  const fs::path folder = dir_->path() / "src" / "echo";
  fs::create_directories(folder);
  std::ofstream(folder / "index.py") << "def handler(event, context):\n"
                                        "    if event == b'raise':\n"
                                        "        raise ValueError('asked to fail')\n"
                                        "    return b'echo:' + event\n";
  ASSERT_EQ(surgectl({"function", "create", "echo", "--runtime", "python3", "--handler", "index.handler", "--code",
                      folder.string()})
                .exitCode,
            0);

  CommandResult plain = surgectl({"invoke", "echo", "--data", "hi"});
  EXPECT_EQ(plain.exitCode, 0) << plain.err;
  EXPECT_EQ(plain.out, "echo:hi") << "stdout is exactly the result";

  const fs::path payload = dir_->path() / "payload.bin";
  std::ofstream(payload, std::ios::binary) << std::string("a\0b", 3);
  CommandResult fromFile = surgectl({"invoke", "echo", "--data-file", payload.string(), "-v"});
  EXPECT_EQ(fromFile.exitCode, 0) << fromFile.err;
  EXPECT_EQ(fromFile.out, std::string("echo:a\0b", 8));
  EXPECT_THAT(fromFile.err, HasSubstr("cold start: no"));
  EXPECT_THAT(fromFile.err, HasSubstr("instance:   "));
  EXPECT_THAT(fromFile.err, ::testing::ContainsRegex("billed:     [1-9][0-9]* ms"));

  CommandResult failed = surgectl({"invoke", "echo", "--data", "raise"});
  EXPECT_EQ(failed.exitCode, 1);
  EXPECT_EQ(failed.out, "");
  EXPECT_THAT(failed.err, HasSubstr("error: the function failed: HandlerError: ValueError: asked to fail\n"));
  EXPECT_THAT(failed.err, HasSubstr("index.py"));

  CommandResult json = surgectl({"-o", "json", "invoke", "echo", "--data", "x"});
  EXPECT_EQ(json.exitCode, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"result\": \"ZWNobzp4\"")); // base64 of "echo:x"
  EXPECT_THAT(json.out, HasSubstr("\"instanceKind\": \"ON_DEMAND\""));

  CommandResult missing = surgectl({"invoke", "no-such"});
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_THAT(missing.err, HasSubstr("NOT_FOUND: function 'default/no-such' not found"));

  CommandResult both = surgectl({"invoke", "echo", "--data", "x", "--data-file", payload.string()});
  EXPECT_EQ(both.exitCode, 2);
  EXPECT_THAT(both.err, HasSubstr("excludes"));
}

TEST_F(SurgectlTest, ReserveSetAndStatusShowTheReservedInstances) {
  ASSERT_EQ(surgectl({"function", "create", "warm", "--runtime", "python3", "--handler", "index.handler", "--code",
                      pythonFolder("warm", "w").string()})
                .exitCode,
            0);
  CommandResult set = surgectl({"reserve", "set", "warm", "1"});
  EXPECT_EQ(set.exitCode, 0) << set.err;
  EXPECT_THAT(set.out, HasSubstr("function:  default/warm"));
  EXPECT_THAT(set.out, HasSubstr("of 1 wanted"));
  EXPECT_THAT(set.out, ::testing::ContainsRegex("INSTANCE +KIND +STATE"));

  CommandResult json = surgectl({"-o", "json", "status", "warm"});
  EXPECT_EQ(json.exitCode, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"reservedTarget\": 1"));
  EXPECT_THAT(json.out, HasSubstr("\"queueDepth\": 0"));
  EXPECT_THAT(json.out, HasSubstr("\"kind\": \"RESERVED\""));

  CommandResult tooMany = surgectl({"reserve", "set", "warm", "101"});
  EXPECT_EQ(tooMany.exitCode, 1);
  EXPECT_THAT(tooMany.err, HasSubstr("INVALID_ARGUMENT: reserved_target 101 exceeds max_instances 100"));
  EXPECT_EQ(surgectl({"reserve", "set", "warm", "0"}).exitCode, 0);
  CommandResult bad = surgectl({"reserve", "set", "warm", "-1"});
  EXPECT_EQ(bad.exitCode, 2);
}

} // namespace
} // namespace surge
