// surged and its data dir, with real sandboxes of every runtime: a relative --data-dir, and a
// restart after SIGKILL while Python, Node.js and custom instances and pre-started sandboxes are
// alive, after which new functions see only their own code and nothing of the old run (process,
// cgroup, sandbox folder, instance id) is left or reused.
#include "engine/uid_block.h"
#include "support/client.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include "surge/v1/invoke.grpc.pb.h"

#include <absl/strings/numbers.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace surge {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::SurgedProcess;

// Every handler answers with the sorted listing of /code, one name per line.
constexpr const char* kPythonLister = R"py(import os

def handler(event, context):
    return "\n".join(sorted(os.listdir("/code")))
)py";
constexpr const char* kNodeLister = R"js(const fs = require("fs");
exports.handler = async () => fs.readdirSync("/code").sort().join("\n");
)js";
// The custom runtime: the protocol loop of resources/samples/hello-custom, answering the listing.
constexpr const char* kCustomLister = R"sh(#!/bin/sh
export LC_ALL=C
tmp=$(mktemp -d) || exit 2
read -r type id len rest <&3 || exit 0
head -c "$len" <&3 >/dev/null
printf 'READY - 0\n' >&3
while read -r type id len rest <&3; do
  head -c "$len" <&3 >/dev/null
  case $type in
    INVOKE)
      ls -A /code | sort | head -c -1 >"$tmp/out"
      printf 'RESULT %s %d\n' "$id" "$(wc -c <"$tmp/out")" >&3
      cat "$tmp/out" >&3 ;;
    STOP) exit 0 ;;
  esac
done
)sh";

struct Runtime {
  const char* flag;
  const char* handler;
  const char* file;
  const char* code;
};
const Runtime kPython{"python3", "index.handler", "index.py", kPythonLister};
const Runtime kNodejs{"nodejs", "index.handler", "index.js", kNodeLister};
const Runtime kCustom{"custom", "bootstrap.handler", "bootstrap", kCustomLister};

// A process as it was seen: its pid and start time, so that a reused pid is not mistaken for it.
struct SeenProcess {
  pid_t pid;
  std::string startTime;
  std::string command;
  bool operator<(const SeenProcess& other) const { return pid < other.pid; }
};

// Fields of /proc/<pid>/stat (after the parenthesised command, which may hold spaces): the
// state (3), the parent (4) and the start time (22). Empty when there is no such process.
struct ProcStat {
  std::string state;
  pid_t parent = 0;
  std::string startTime;
};
ProcStat statOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ProcStat result;
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return result;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3) result.state = field;
    if (i == 4) result.parent = static_cast<pid_t>(std::stol(field));
    if (i == 22) result.startTime = field;
  }
  return result;
}

std::string commandOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string command((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::replace(command.begin(), command.end(), '\0', ' ');
  return command;
}

// Every process descended from `root`, as it is now.
std::set<SeenProcess> descendantsOf(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    const ProcStat stat = statOf(pid);
    if (!stat.startTime.empty()) children[stat.parent].push_back(pid);
  }
  std::set<SeenProcess> found;
  std::vector<pid_t> unvisited = {root};
  while (!unvisited.empty()) {
    const pid_t pid = unvisited.back();
    unvisited.pop_back();
    for (pid_t child : children[pid]) {
      found.insert({child, statOf(child).startTime, commandOf(child)});
      unvisited.push_back(child);
    }
  }
  return found;
}

// A zombie has ended: it only waits for its new parent (pid 1, once surged died) to reap it,
// which not every init here does.
bool stillRunning(const SeenProcess& process) {
  const ProcStat now = statOf(process.pid);
  return !now.startTime.empty() && now.startTime == process.startTime && now.state != "Z";
}

std::set<std::string> entriesOf(const fs::path& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) names.insert(entry.path().filename().string());
  return names;
}

// Sandbox cgroups (i-<id>) under every v1 controller's (or the v2) parent folder.
std::set<fs::path> cgroupsUnder(const std::string& parent) {
  std::set<fs::path> groups;
  std::error_code ec;
  for (const auto& controller : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    for (const auto& group : fs::directory_iterator(controller.path() / parent, ec)) {
      if (group.is_directory() && group.path().filename().string().rfind("i-", 0) == 0) groups.insert(group.path());
    }
  }
  return groups;
}

class DataDirTest : public ::testing::Test {
protected:
  // Creates `name` from a folder holding the runtime's lister and a file named after the
  // function, so that each function's /code is told apart from every other's.
  void create(const SurgedProcess& surged, const std::string& name, const Runtime& runtime) {
    const fs::path folder = dir_.path() / "src" / name;
    fs::create_directories(folder);
    std::ofstream(folder / runtime.file) << runtime.code;
    fs::permissions(folder / runtime.file,
                    fs::perms::owner_all | fs::perms::group_all | fs::perms::others_read | fs::perms::others_exec);
    std::ofstream(folder / ("only-" + name + ".txt")) << name;
    CommandResult created = testing::runSurgectl(surged, {"function", "create", name, "--runtime", runtime.flag,
                                                          "--handler", runtime.handler, "--code", folder.string()});
    ASSERT_EQ(created.exitCode, 0) << created.err;
  }

  // Invokes `name` and returns its result (the listing of its /code); the instance that served
  // goes to `instances`.
  std::string listCode(const SurgedProcess& surged, const std::string& name, std::set<std::string>& instances) {
    auto invoker = v1::InvokeService::NewStub(testing::makeChannel(surged.address()));
    v1::InvokeRequest request;
    request.set_function(name);
    v1::InvokeResponse response;
    auto context = testing::contextWithDeadline(std::chrono::seconds(60), surged.adminKey());
    const grpc::Status status = invoker->Invoke(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
    EXPECT_FALSE(response.has_error()) << name << ": " << response.error().message();
    instances.insert(response.instance_id());
    return response.result();
  }

  static std::string expectedListing(const std::string& name, const Runtime& runtime) {
    std::set<std::string> files = {runtime.file, "only-" + name + ".txt"};
    std::string listing;
    for (const std::string& file : files) listing += (listing.empty() ? "" : "\n") + file;
    return listing;
  }

  testing::TempDir dir_;
};

TEST_F(DataDirTest, AfterASigkillNewFunctionsSeeOnlyTheirOwnCodeAndNothingOfTheOldRunIsLeft) {
  const fs::path data = dir_.path() / "data";
  const std::string cgroupParent = "surge-test-crash-" + std::to_string(::getpid());
  const std::vector<std::string> flags = {"--cgroup-parent", cgroupParent, "--pool-size", "2"};
  const std::vector<std::pair<std::string, const Runtime*>> old = {
      {"old-python", &kPython}, {"old-nodejs", &kNodejs}, {"old-custom", &kCustom}};

  auto surged = std::make_unique<SurgedProcess>(data, flags);
  std::set<std::string> oldInstances;
  for (const auto& [name, runtime] : old) {
    create(*surged, name, *runtime);
    EXPECT_EQ(listCode(*surged, name, oldInstances), expectedListing(name, *runtime));
  }
  // The pool refills behind the starts: wait (bounded) until both runtimes have pre-started
  // sandboxes again beside the instances that took theirs.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto stems = [&] {
    size_t count = 0;
    for (const std::string& name : entriesOf(data / "sandboxes")) count += name.rfind("i-", 0) == 0;
    return count;
  };
  while (stems() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // a poll with a deadline
  }
  ASSERT_GE(stems(), 4u) << "pre-started sandboxes of both runtimes";

  const std::set<SeenProcess> oldProcesses = descendantsOf(surged->pid());
  const std::set<std::string> oldFolders = entriesOf(data / "sandboxes");
  const std::set<fs::path> oldCgroups = cgroupsUnder(cgroupParent);
  ASSERT_GE(oldProcesses.size(), 8u) << "the zygote, 3 instances and 4 pre-started sandboxes";
  ASSERT_FALSE(oldCgroups.empty());
  surged->kill();
  surged.reset();

  surged = std::make_unique<SurgedProcess>(data, flags);
  // Python takes pre-started sandboxes (more than the pool holds: some start directly),
  // Node.js too, and custom runtimes always start directly.
  const std::vector<std::pair<std::string, const Runtime*>> fresh = {
      {"new-python-1", &kPython}, {"new-python-2", &kPython}, {"new-python-3", &kPython},
      {"new-nodejs-1", &kNodejs}, {"new-nodejs-2", &kNodejs}, {"new-custom", &kCustom}};
  std::set<std::string> newInstances;
  for (const auto& [name, runtime] : fresh) {
    create(*surged, name, *runtime);
    EXPECT_EQ(listCode(*surged, name, newInstances), expectedListing(name, *runtime)) << name;
  }

  for (const SeenProcess& process : oldProcesses) {
    EXPECT_FALSE(stillRunning(process)) << "pid " << process.pid << " of the old run is alive: " << process.command;
  }
  for (const std::string& folder : oldFolders) {
    if (folder == "runtime-compiled") continue; // made again by the new run
    EXPECT_FALSE(fs::exists(data / "sandboxes" / folder)) << folder << " of the old run is left";
  }
  const std::set<fs::path> newCgroups = cgroupsUnder(cgroupParent);
  for (const fs::path& group : oldCgroups) {
    EXPECT_FALSE(newCgroups.contains(group)) << group << " of the old run is left";
  }
  for (const std::string& id : newInstances) {
    EXPECT_FALSE(oldInstances.contains(id)) << "instance id " << id << " was used by the old run";
  }
  EXPECT_EQ(surged->stop(), 0);
}

TEST_F(DataDirTest, TwoServersOnOneHostNeverRunFunctionsAsTheSameUid) {
  const Runtime uidOfPython{"python3", "index.handler", "index.py",
                            "import os\n\ndef handler(event, context):\n    return str(os.getuid())\n"};
  SurgedProcess first(dir_.path() / "first");
  SurgedProcess second(dir_.path() / "second");
  const engine::HostIds host = engine::HostIds::read();
  std::set<std::string> uids;
  for (const SurgedProcess* surged : {&first, &second}) {
    // The first function of each fresh server: the same function id in both.
    create(*surged, "whoami", uidOfPython);
    std::set<std::string> instances;
    const std::string uid = listCode(*surged, "whoami", instances);
    uint64_t value = 0;
    ASSERT_TRUE(absl::SimpleAtoi(uid, &value)) << uid;
    EXPECT_FALSE(host.overlaps(value, 1)) << "uid " << uid << " is one of this host's (/etc/subuid, passwd, ...)";
    uids.insert(uid);
  }
  EXPECT_EQ(uids.size(), 2u) << "both servers ran their function as uid " << *uids.begin();
}

TEST_F(DataDirTest, ARelativeDataDirServesEveryRuntime) {
  const fs::path workingDir = dir_.path() / "cwd";
  fs::create_directories(workingDir);
  SurgedProcess surged("relative-data", {}, {}, workingDir);
  EXPECT_TRUE(fs::exists(workingDir / "relative-data" / "surge.db"));
  std::set<std::string> instances;
  for (const auto& [name, runtime] :
       std::vector<std::pair<std::string, const Runtime*>>{{"py", &kPython}, {"js", &kNodejs}, {"sh", &kCustom}}) {
    create(surged, name, *runtime);
    EXPECT_EQ(listCode(surged, name, instances), expectedListing(name, *runtime)) << name;
  }
  EXPECT_EQ(surged.stop(), 0);
}

} // namespace
} // namespace surge
