// Outbound network for functions with network on, through a real surged and real sandboxes. No
// traffic leaves the machine: the test makes a network namespace of its own, joined to the host
// by a veth pair, and runs there TCP and UDP servers and a small DNS responder (given to surged
// with --network-dns). Servers also listen on the host side, on addresses no sandbox may reach.
#include "support/client.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include "surge/v1/invoke.grpc.pb.h"

#include <absl/strings/str_cat.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

namespace surge {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::SurgedProcess;

// TCP servers that answer "reply-from <address>", UDP servers that echo, and a DNS responder
// that answers A queries for db.surge-test. Prints "ready" once everything is bound.
constexpr const char* kServers = R"py(import socket, sys, threading
tcp, udp, dns, answer = sys.argv[1].split(","), sys.argv[2].split(","), sys.argv[3], sys.argv[4]
def serve_tcp(s, name):
    while True:
        c, _ = s.accept()
        c.sendall(("reply-from " + name).encode())
        c.close()
def serve_udp(s):
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(b"echo:" + data, peer)
def serve_dns(s):
    while True:
        q, peer = s.recvfrom(2048)
        end = 12
        while q[end] != 0:
            end += q[end] + 1
        name = ".".join(p.decode() for p in _labels(q[12:end]))
        question = q[12:end + 5]
        if name == "db.surge-test" and q[end + 1:end + 3] == b"\x00\x01":
            reply = q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + question
            reply += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(answer)
        else:
            reply = q[:2] + b"\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00" + question
        s.sendto(reply, peer)
def _labels(b):
    i = 0
    while i < len(b):
        yield b[i + 1:i + 1 + b[i]]
        i += 1 + b[i]
for spec in filter(None, tcp):
    host, port = spec.rsplit(":", 1)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((host, int(port))); s.listen(16)
    threading.Thread(target=serve_tcp, args=(s, host), daemon=True).start()
for spec in filter(None, udp):
    host, port = spec.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((host, int(port)))
    threading.Thread(target=serve_udp, args=(s,), daemon=True).start()
if dns != "-":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((dns, 53))
    threading.Thread(target=serve_dns, args=(s,), daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
)py";

// The function: "tcp HOST PORT", "udp HOST PORT", "resolve NAME", "certs", "listen PORT".
constexpr const char* kPythonProbe = R"py(import socket, ssl, threading

def handler(event, context):
    words = event.decode().split()
    try:
        if words[0] == "tcp":
            s = socket.create_connection((words[1], int(words[2])), timeout=3)
            data = s.recv(100).decode()
            s.close()
            return "ok:" + data
        if words[0] == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.sendto(b"ping", (words[1], int(words[2])))
            return "ok:" + s.recvfrom(100)[0].decode()
        if words[0] == "resolve":
            return "ok:" + socket.gethostbyname(words[1])
        if words[0] == "certs":
            return "ok:" + str(ssl.create_default_context().cert_store_stats()["x509_ca"])
        if words[0] == "listen":
            server = socket.socket()
            server.bind(("0.0.0.0", int(words[1])))
            server.listen(4)
            threading.Thread(target=lambda: [c.sendall(b"reply-from another sandbox") for c, _ in [server.accept()]],
                             daemon=True).start()
            return "ok:listening"
    except OSError as e:
        return "error:" + type(e).__name__ + ":" + str(e.errno)
)py";

constexpr const char* kNodeProbe = R"js(const tls = require("tls");
const net = require("net");
exports.handler = async (event) => {
  const [what, host, port] = event.toString().split(" ");
  if (what === "certs") return "ok:" + tls.rootCertificates.length;
  return await new Promise((resolve) => {
    const socket = net.connect({host, port: Number(port), timeout: 3000});
    socket.on("data", (data) => { resolve("ok:" + data.toString()); socket.destroy(); });
    socket.on("timeout", () => { resolve("error:timeout"); socket.destroy(); });
    socket.on("error", (e) => resolve("error:" + e.code));
  });
};
)js";

// Runs a command to completion; a failure fails the test.
void run(const std::string& command) {
  const int status = std::system(command.c_str());
  ASSERT_EQ(status, 0) << command;
}

// A child process whose stdout is read until it says "ready" (bounded), killed when destroyed.
class ServerProcess {
public:
  ServerProcess(const std::string& netns, const fs::path& script, const std::string& tcp, const std::string& udp,
                const std::string& dns, const std::string& answer) {
    int out[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      std::vector<std::string> args;
      if (!netns.empty()) args = {"/usr/sbin/ip", "netns", "exec", netns};
      for (const std::string& arg :
           {std::string("/usr/bin/python3"), std::string("-S"), script.string(), tcp, udp, dns, answer}) {
        args.push_back(arg);
      }
      std::vector<char*> argv;
      for (auto& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    stdin_ = in[1]; // closing it ends the servers
    pollfd fd{out[0], POLLIN, 0};
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (seen.find("ready") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      if (::poll(&fd, 1, 1000) <= 0) continue;
      char buffer[64];
      const ssize_t n = ::read(out[0], buffer, sizeof(buffer));
      if (n <= 0) break;
      seen.append(buffer, static_cast<size_t>(n));
    }
    // Kept open while the servers run: a write after "ready" (the newline, when Python's
    // stdout is unbuffered) must not meet a closed pipe.
    stdout_ = out[0];
    if (seen.find("ready") == std::string::npos) throw std::runtime_error("the test servers did not start");
  }
  ~ServerProcess() {
    ::close(stdin_);
    ::close(stdout_);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }

private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
};

std::vector<std::string> hostIpv4Addresses() {
  std::vector<std::string> addresses;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return addresses;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr != nullptr && entry->ifa_addr->sa_family == AF_INET) {
      char text[INET_ADDRSTRLEN];
      ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr, text, sizeof(text));
      addresses.push_back(text);
    }
  }
  ::freeifaddrs(list);
  return addresses;
}

// pids of the running slirp4netns processes that are children of `parent`.
std::set<pid_t> helpersOf(pid_t parent) {
  std::set<pid_t> helpers;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream statFile(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close == std::string::npos || stat.find("(slirp4netns)") == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (state != "Z" && (parent == 0 || ppid == parent)) helpers.insert(std::stoi(name));
  }
  return helpers;
}

class NetworkTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    // ctest runs each test in a process of its own, two at a time: each takes a /24 no other
    // holds, chosen under a host-wide lock.
    const int lock = ::open("/run/surge-network-test.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(lock, 0);
    ASSERT_EQ(::flock(lock, LOCK_EX), 0);
    int n = 1 + ::getpid() % 250;
    for (int tries = 0;
         tries < 250 && std::system(absl::StrCat("ip -4 addr | grep -q ' 10.251.", n, ".1/'").c_str()) == 0; ++tries) {
      n = n % 250 + 1;
    }
    subnet_ = absl::StrCat("10.251.", n);
    netns_ = absl::StrCat("surge-test-", ::getpid());
    const std::string hostSide = absl::StrCat("sth", ::getpid() % 100000);
    const std::string nsSide = absl::StrCat("stn", ::getpid() % 100000);
    run(absl::StrCat("ip netns add ", netns_));
    run(absl::StrCat("ip link add ", hostSide, " type veth peer name ", nsSide, " netns ", netns_));
    run(absl::StrCat("ip addr add ", subnet_, ".1/24 dev ", hostSide));
    run(absl::StrCat("ip addr add 169.254.", n, ".1/24 dev ", hostSide));
    run(absl::StrCat("ip link set ", hostSide, " up"));
    for (const std::string& address : {subnet_ + ".2/24", subnet_ + ".3/24", absl::StrCat("169.254.", n, ".2/24")}) {
      run(absl::StrCat("ip netns exec ", netns_, " ip addr add ", address, " dev ", nsSide));
    }
    run(absl::StrCat("ip netns exec ", netns_, " ip link set ", nsSide, " up"));
    run(absl::StrCat("ip netns exec ", netns_, " ip link set lo up"));
    // Replies from the test namespace go back to the host over the veth.
    run(absl::StrCat("ip netns exec ", netns_, " ip route add default via ", subnet_, ".1"));
    ::close(lock); // the addresses are taken now
    linkLocal_ = absl::StrCat("169.254.", n, ".2");

    dir_ = std::make_unique<testing::TempDir>();
    const fs::path script = dir_->path() / "servers.py";
    std::ofstream(script) << kServers;
    remote_ = std::make_unique<ServerProcess>(
        netns_, script, absl::StrCat(subnet_, ".2:", kPort, ",", subnet_, ".3:", kPort, ",", linkLocal_, ":", kPort),
        absl::StrCat(subnet_, ".2:", kPort), subnet_ + ".2", subnet_ + ".2");
    // On the host: loopback, the host's side of the veth, and every address at once.
    local_ = std::make_unique<ServerProcess>(
        "", script, absl::StrCat("127.0.0.1:", kPort, ",", subnet_, ".1:", kPort, ",0.0.0.0:", kPort + 1),
        absl::StrCat(subnet_, ".1:", kPort), "-", "-");

    const fs::path data = dir_->path() / "data";
    surged_ = std::make_unique<SurgedProcess>(
        data, std::vector<std::string>{"--network-dns", subnet_ + ".2", "--network-deny", subnet_ + ".3/32",
                                       "--cgroup-parent", absl::StrCat("surge-test-net-", ::getpid())});
    create("net-on", "python3", "index.handler", "index.py", kPythonProbe, true);
    create("net-off", "python3", "index.handler", "index.py", kPythonProbe, false);
    create("node-on", "nodejs", "index.handler", "index.js", kNodeProbe, true);
    create("listener", "python3", "index.handler", "index.py", kPythonProbe, true);
  }

  static void TearDownTestSuite() {
    surged_.reset();
    remote_.reset();
    local_.reset();
    dir_.reset();
    std::system(absl::StrCat("ip netns del ", netns_, " 2>/dev/null").c_str()); // takes the veth pair with it
  }

  static void create(const std::string& name, const std::string& runtime, const std::string& handler,
                     const std::string& file, const char* code, bool network) {
    const fs::path folder = dir_->path() / "src" / name;
    fs::create_directories(folder);
    std::ofstream(folder / file) << code;
    fs::permissions(dir_->path(), fs::perms(0755));
    CommandResult created =
        testing::runSurgectl(*surged_, {"function", "create", name, "--runtime", runtime, "--handler", handler,
                                        "--code", folder.string(), "--network", network ? "on" : "off"});
    ASSERT_EQ(created.exitCode, 0) << created.err;
  }

  static std::string call(const std::string& function, const std::string& payload) {
    auto invoker = v1::InvokeService::NewStub(testing::makeChannel(surged_->address()));
    v1::InvokeRequest request;
    request.set_function(function);
    request.set_payload(payload);
    v1::InvokeResponse response;
    auto context = testing::contextWithDeadline(std::chrono::seconds(60), surged_->adminKey());
    const grpc::Status status = invoker->Invoke(context.get(), request, &response);
    if (!status.ok()) return "rpc:" + status.error_message();
    if (response.has_error()) return "function:" + response.error().message();
    return response.result();
  }

  // Ports of this process's own, so that two runs on one host do not meet.
  static inline const int kPort = 20000 + (::getpid() % 5000) * 2;
  static inline std::string subnet_, netns_, linkLocal_;
  static inline std::unique_ptr<testing::TempDir> dir_;
  static inline std::unique_ptr<ServerProcess> remote_, local_;
  static inline std::unique_ptr<SurgedProcess> surged_;
};

TEST_F(NetworkTest, ANetworkFunctionReachesAServerByAddressAndByName) {
  EXPECT_EQ(call("net-on", absl::StrCat("tcp ", subnet_, ".2 ", kPort)), absl::StrCat("ok:reply-from ", subnet_, ".2"));
  EXPECT_EQ(call("net-on", "resolve db.surge-test"), absl::StrCat("ok:", subnet_, ".2"));
  EXPECT_EQ(call("net-on", absl::StrCat("tcp db.surge-test ", kPort)), absl::StrCat("ok:reply-from ", subnet_, ".2"));
  EXPECT_EQ(call("net-on", absl::StrCat("udp ", subnet_, ".2 ", kPort)), "ok:echo:ping");
  EXPECT_EQ(call("node-on", absl::StrCat("tcp ", subnet_, ".2 ", kPort)),
            absl::StrCat("ok:reply-from ", subnet_, ".2"));
}

TEST_F(NetworkTest, TlsClientsFindTheCaCertificates) {
  const std::string python = call("net-on", "certs");
  ASSERT_THAT(python, StartsWith("ok:"));
  EXPECT_GT(std::stoi(python.substr(3)), 0) << "ssl.create_default_context() loaded no CA certificate";
  const std::string node = call("node-on", "certs");
  ASSERT_THAT(node, StartsWith("ok:"));
  EXPECT_GT(std::stoi(node.substr(3)), 0);
}

TEST_F(NetworkTest, AFunctionWithoutNetworkReachesNothing) {
  EXPECT_THAT(call("net-off", absl::StrCat("tcp ", subnet_, ".2 ", kPort)), StartsWith("error:OSError:101"))
      << "ENETUNREACH";
  EXPECT_THAT(call("net-off", "resolve db.surge-test"), StartsWith("error:"));
}

TEST_F(NetworkTest, NeitherReachesTheHostLinkLocalADeniedRangeOrAnotherSandbox) {
  for (const std::string function : {"net-on", "net-off"}) {
    // The host's loopback, as the sandbox can name it: its gateway, which slirp4netns would map there.
    EXPECT_THAT(call(function, absl::StrCat("tcp 10.0.2.2 ", kPort)), StartsWith("error:")) << function;
    EXPECT_THAT(call(function, absl::StrCat("tcp 127.0.0.1 ", kPort)), StartsWith("error:")) << function;
    // The host's own address on the test veth, where a server listens.
    EXPECT_THAT(call(function, absl::StrCat("tcp ", subnet_, ".1 ", kPort)), StartsWith("error:")) << function;
    EXPECT_THAT(call(function, absl::StrCat("udp ", subnet_, ".1 ", kPort)), StartsWith("error:")) << function;
    // Every address of the host, where a server listens on all of them.
    for (const std::string& address : hostIpv4Addresses()) {
      EXPECT_THAT(call(function, absl::StrCat("tcp ", address, " ", kPort + 1)), StartsWith("error:"))
          << function << " reached the host at " << address;
    }
    EXPECT_THAT(call(function, absl::StrCat("tcp ", linkLocal_, " ", kPort)), StartsWith("error:")) << function;
    EXPECT_THAT(call(function, absl::StrCat("tcp ", subnet_, ".3 ", kPort)), StartsWith("error:"))
        << function << " reached the --network-deny range";
  }
  // A server inside another sandbox: every address a sandbox could try for it.
  ASSERT_EQ(call("listener", "listen 18090"), "ok:listening");
  for (const std::string& address : {std::string("10.0.2.2"), std::string("10.0.2.100"), subnet_ + ".1"}) {
    EXPECT_THAT(call("net-on", absl::StrCat("tcp ", address, " 18090")), StartsWith("error:"))
        << "reached another sandbox at " << address;
  }
}

// An address the host gets after the helpers started (a new interface, DHCP, a container bridge)
// is refused to the instances already running, not only to those started later.
TEST_F(NetworkTest, AHostAddressAddedLaterIsRefusedToInstancesAlreadyRunning) {
  ASSERT_THAT(call("net-on", absl::StrCat("tcp ", subnet_, ".2 ", kPort)), StartsWith("ok:")) << "warm first";
  // A new interface (a veth pair on the host: this kernel has no dummy links) with an address.
  const std::string link = absl::StrCat("sta", ::getpid() % 100000);
  const std::string added = subnet_ + ".9";
  run(absl::StrCat("ip link add ", link, " type veth peer name stb", ::getpid() % 100000));
  run(absl::StrCat("ip addr add ", added, "/32 dev ", link));
  run(absl::StrCat("ip link set ", link, " up"));
  // surged says when its filter has it; until then the instance might still get through.
  const std::string followed = absl::StrCat("refuses the new host address ", added, "\n");
  EXPECT_TRUE(surged_->waitForLog(followed, std::chrono::seconds(30))) << surged_->log();
  // The host's server on every address listens there too.
  EXPECT_THAT(call("net-on", absl::StrCat("tcp ", added, " ", kPort + 1)), StartsWith("error:"));
  run(absl::StrCat("ip link del ", link)); // takes its peer with it
}

TEST_F(NetworkTest, IPv6FailsAtOnceWithNetworkUnreachable) {
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(call("net-on", "tcp 2001:db8::1 80"), "error:OSError:101");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2)) << "not a timeout";
}

TEST(NetworkHelpers, NoHelperIsLeftAfterSurgedIsKilled) {
  testing::TempDir dir;
  fs::permissions(dir.path(), fs::perms(0755));
  SurgedProcess surged(dir.path() / "data", {"--cgroup-parent", absl::StrCat("surge-test-netkill-", ::getpid())});
  const fs::path folder = dir.path() / "src";
  fs::create_directories(folder);
  std::ofstream(folder / "index.py") << "def handler(event, context):\n    return 'up'\n";
  CommandResult created =
      testing::runSurgectl(surged, {"function", "create", "online", "--runtime", "python3", "--handler",
                                    "index.handler", "--code", folder.string(), "--network", "on"});
  ASSERT_EQ(created.exitCode, 0) << created.err;
  CommandResult invoked = testing::runSurgectl(surged, {"invoke", "online"});
  ASSERT_EQ(invoked.exitCode, 0) << invoked.err;
  const std::set<pid_t> helpers = helpersOf(surged.pid());
  ASSERT_FALSE(helpers.empty()) << "the instance (and the stems behind it) have helpers";
  surged.kill();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::set<pid_t> left = helpers;
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10)); // a poll with a deadline
    std::set<pid_t> running = helpersOf(0);
    std::erase_if(left, [&](pid_t pid) { return !running.contains(pid); });
  }
  EXPECT_TRUE(left.empty()) << left.size() << " slirp4netns helpers outlived surged";
}

} // namespace
} // namespace surge
