// SandboxNetwork: a network namespace per sandbox, served by slirp4netns, whose host-side
// sockets pass through cgroup BPF programs that refuse the host and other forbidden places.
#include "engine/sandbox_network.h"

#include "common/unique_fd.h"
#include "engine/child_signals.h"

#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <thread>

namespace surge::engine {
namespace {

namespace fs = std::filesystem;

constexpr auto kReadyTimeout = std::chrono::seconds(5);
// slirp4netns's own network, as the sandbox sees it.
constexpr const char* kSlirpNetwork = "10.0.2.0/24";
// Descriptors in the helper, as it is told them.
constexpr int kExitFd = 3;
constexpr int kReadyFd = 4;
constexpr int kNetnsFd = 5;

uint32_t maskOf(int length) { return length == 0 ? 0 : htonl(~uint32_t{0} << (32 - length)); }

std::string toText(uint32_t address) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &address, text, sizeof(text));
  return text;
}

// Every IPv4 address of the host's interfaces, sorted.
std::vector<uint32_t> hostIpv4Addresses() {
  std::vector<uint32_t> addresses;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return addresses;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr != nullptr && entry->ifa_addr->sa_family == AF_INET) {
      addresses.push_back(reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr.s_addr);
    }
  }
  ::freeifaddrs(list);
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  return addresses;
}

// The first IPv4 "nameserver" of a resolv.conf, or 0.
uint32_t firstNameserver(const fs::path& resolvConf) {
  std::ifstream in(resolvConf);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> words = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    in_addr address{};
    if (words.size() >= 2 && words[0] == "nameserver" && ::inet_pton(AF_INET, words[1].c_str(), &address) == 1) {
      return address.s_addr;
    }
  }
  return 0;
}

// ---- eBPF, assembled by hand: a dozen instructions do not need a compiler ----

bpf_insn instruction(uint8_t code, uint8_t dst, uint8_t src, int16_t offset, int32_t imm) {
  bpf_insn insn{};
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = offset;
  insn.imm = imm;
  return insn;
}

// For BPF_CGROUP_INET4_CONNECT and BPF_CGROUP_UDP4_SENDMSG: 1 (allow) unless the destination
// lies in one of `refused`; DNS to `dns` (port 53) is always allowed. 32-bit ALU and jumps
// throughout, so that addresses with the top bit set are not sign-extended.
std::vector<bpf_insn> ipv4Filter(const std::vector<Ipv4Net>& refused, uint32_t dns) {
  std::vector<bpf_insn> program;
  std::vector<size_t> toAllow, toRefuse;
  program.push_back(instruction(BPF_LDX | BPF_MEM | BPF_W, 2, 1, offsetof(bpf_sock_addr, user_ip4), 0));
  program.push_back(instruction(BPF_LDX | BPF_MEM | BPF_W, 3, 1, offsetof(bpf_sock_addr, user_port), 0));
  if (dns != 0) {
    program.push_back(instruction(BPF_JMP32 | BPF_JNE | BPF_K, 2, 0, 1, static_cast<int32_t>(dns)));
    toAllow.push_back(program.size());
    program.push_back(instruction(BPF_JMP32 | BPF_JEQ | BPF_K, 3, 0, 0, htons(53)));
  }
  for (const Ipv4Net& net : refused) {
    program.push_back(instruction(BPF_ALU | BPF_MOV | BPF_X, 4, 2, 0, 0));
    program.push_back(instruction(BPF_ALU | BPF_AND | BPF_K, 4, 0, 0, static_cast<int32_t>(net.mask)));
    toRefuse.push_back(program.size());
    program.push_back(instruction(BPF_JMP32 | BPF_JEQ | BPF_K, 4, 0, 0, static_cast<int32_t>(net.address)));
  }
  const size_t allow = program.size();
  program.push_back(instruction(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1));
  program.push_back(instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  const size_t refuse = program.size();
  program.push_back(instruction(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
  program.push_back(instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  for (size_t at : toAllow) program[at].off = static_cast<int16_t>(allow - at - 1);
  for (size_t at : toRefuse) program[at].off = static_cast<int16_t>(refuse - at - 1);
  return program;
}

// For the IPv6 hooks: refuse everything. The sandboxes have no IPv6 route anyway.
std::vector<bpf_insn> refuseAll() {
  return {instruction(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), instruction(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
}

long bpf(int command, bpf_attr& attr) { return ::syscall(SYS_bpf, command, &attr, sizeof(attr)); }

absl::StatusOr<int> loadProgram(const std::vector<bpf_insn>& program, bpf_attach_type type) {
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
  attr.expected_attach_type = type;
  attr.insns = reinterpret_cast<uint64_t>(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = reinterpret_cast<uint64_t>("GPL");
  long fd = bpf(BPF_PROG_LOAD, attr);
  if (fd < 0) {
    // Again with the verifier's log, for the message: a log that does not fit fails a load
    // (ENOSPC), so the first attempt has none.
    const int error = errno;
    std::string log(1 << 16, '\0');
    attr.log_buf = reinterpret_cast<uint64_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    attr.log_level = 1;
    fd = bpf(BPF_PROG_LOAD, attr);
    if (fd < 0) {
      log.resize(std::strlen(log.c_str()));
      return absl::FailedPreconditionError(
          absl::StrCat("the kernel refused the network filter (BPF): ", std::strerror(error), "; ", log));
    }
  }
  ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  return static_cast<int>(fd);
}

// Kills every process in the cgroup at `dir` and removes it, waiting (bounded) for them to go.
void removeCgroup(const fs::path& dir) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (::rmdir(dir.c_str()) != 0 && errno == EBUSY && std::chrono::steady_clock::now() < deadline) {
    std::ifstream procs(dir / "cgroup.procs");
    for (pid_t pid = 0; procs >> pid;) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

} // namespace

absl::StatusOr<Ipv4Net> parseIpv4Net(const std::string& text) {
  const std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits('/', 1));
  in_addr address{};
  int length = 32;
  if (::inet_pton(AF_INET, parts[0].c_str(), &address) != 1 ||
      (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &length) || length < 0 || length > 32))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not an IPv4 network: write a.b.c.d/len (e.g. 10.0.0.0/8) or one address a.b.c.d"));
  }
  const uint32_t mask = maskOf(length);
  return Ipv4Net{address.s_addr & mask, mask};
}

absl::StatusOr<fs::path> findCgroup2(const fs::path& cgroupRoot) {
  for (const fs::path& candidate : {cgroupRoot, cgroupRoot / "unified"}) {
    struct statfs info {};
    if (::statfs(candidate.c_str(), &info) == 0 && info.f_type == CGROUP2_SUPER_MAGIC) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("no cgroup v2 hierarchy at ", cgroupRoot.string(), " or ", (cgroupRoot / "unified").string()));
}

absl::StatusOr<std::unique_ptr<SandboxNetwork>> SandboxNetwork::create(NetworkOptions options) {
  if (::access(options.slirp4netns.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "slirp4netns is not executable at '", options.slirp4netns.string(), "': install the slirp4netns package"));
  }
  const fs::path parent = options.cgroup2Root / options.cgroupParent;
  const fs::path dir = parent / "net-helpers";
  std::error_code ec;
  fs::create_directories(parent, ec);
  removeCgroup(dir); // a crashed predecessor's helpers, and its programs with the cgroup
  if (::mkdir(dir.c_str(), 0755) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the network helpers' cgroup ", dir.string(), ": ", std::strerror(errno)));
  }
  if (options.dnsUpstream == 0) options.dnsUpstream = firstNameserver("/etc/resolv.conf");
  std::unique_ptr<SandboxNetwork> network(new SandboxNetwork(std::move(options), dir));
  if (network->options_.dnsUpstream != 0) {
    // The helpers' libslirp forwards 10.0.2.3 to the first nameserver it reads here.
    network->resolvConf_ = network->options_.runDir / (network->options_.cgroupParent + "-resolv.conf");
    fs::create_directories(network->options_.runDir, ec);
    std::ofstream(network->resolvConf_) << "nameserver " << toText(network->options_.dnsUpstream) << "\n";
    fs::permissions(network->resolvConf_, fs::perms(0644), ec);
    if (!fs::is_regular_file(network->resolvConf_, ec)) {
      return absl::FailedPreconditionError(absl::StrCat("cannot write ", network->resolvConf_.string()));
    }
  }
  // Subscribed before the addresses are first read, so that no change falls between the two.
  network->addressEvents_ = common::UniqueFd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  sockaddr_nl groups{};
  groups.nl_family = AF_NETLINK;
  groups.nl_groups = RTMGRP_IPV4_IFADDR;
  if (!network->addressEvents_.valid() ||
      ::bind(network->addressEvents_.get(), reinterpret_cast<const sockaddr*>(&groups), sizeof(groups)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot follow the host's address changes (rtnetlink): ", std::strerror(errno)));
  }
  network->stopFd_ = common::UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!network->stopFd_.valid()) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  {
    common::MutexLock lock(network->mu_);
    if (auto status = network->attachPrograms(hostIpv4Addresses()); !status.ok()) return status;
  }
  network->watcher_ = std::thread([raw = network.get()] { raw->watchHostAddresses(); });
  return network;
}

void SandboxNetwork::watchHostAddresses() {
  std::array<char, 16384> buffer{};
  for (;;) {
    pollfd fds[] = {{addressEvents_.get(), POLLIN, 0}, {stopFd_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("the sandboxes' network filter stops following the host's addresses: poll: {}",
                    std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    // What changed does not matter, only the set now: drain the announcements, then read it.
    // An overflow (ENOBUFS) lost some, which the read covers as well.
    while (::recv(addressEvents_.get(), buffer.data(), buffer.size(), MSG_DONTWAIT) > 0 || errno == ENOBUFS) {
    }
    if (auto status = followHostAddresses(); !status.ok()) {
      spdlog::error("cannot refuse the host's new addresses to the sandboxes: {}", status.ToString());
    }
  }
}

absl::Status SandboxNetwork::followHostAddresses() {
  std::vector<uint32_t> addresses = hostIpv4Addresses();
  common::MutexLock lock(mu_);
  if (addresses == hostAddresses_) return absl::OkStatus();
  for (uint32_t address : addresses) {
    if (!std::binary_search(hostAddresses_.begin(), hostAddresses_.end(), address)) {
      spdlog::info("the sandboxes' network filter refuses the new host address {}", toText(address));
    }
  }
  return attachPrograms(std::move(addresses));
}

SandboxNetwork::SandboxNetwork(NetworkOptions options, fs::path cgroupDir)
    : options_(std::move(options)), cgroupDir_(std::move(cgroupDir)) {}

SandboxNetwork::~SandboxNetwork() {
  if (watcher_.joinable()) {
    const uint64_t one = 1;
    if (::write(stopFd_.get(), &one, sizeof(one)) != sizeof(one)) spdlog::error("cannot stop the address watcher");
    watcher_.join();
  }
  removeCgroup(cgroupDir_);
  std::error_code ec;
  if (!resolvConf_.empty()) fs::remove(resolvConf_, ec);
}

std::vector<Ipv4Net> SandboxNetwork::refused() const {
  common::MutexLock lock(mu_);
  return refused_;
}

absl::Status SandboxNetwork::attachPrograms(std::vector<uint32_t> hostAddresses) {
  std::vector<Ipv4Net> refused;
  for (const char* fixed : {"0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3", kSlirpNetwork}) {
    refused.push_back(*parseIpv4Net(fixed));
  }
  for (uint32_t address : hostAddresses) refused.push_back({address, maskOf(32)});
  refused.insert(refused.end(), options_.deny.begin(), options_.deny.end());

  const common::UniqueFd cgroupFd(::open(cgroupDir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroupFd.valid()) {
    return absl::InternalError(absl::StrCat("open ", cgroupDir_.string(), ": ", std::strerror(errno)));
  }
  const int cgroup = cgroupFd.get();
  std::vector<common::UniqueFd> attached;
  const std::pair<bpf_attach_type, std::vector<bpf_insn>> hooks[] = {
      {BPF_CGROUP_INET4_CONNECT, ipv4Filter(refused, options_.dnsUpstream)},
      {BPF_CGROUP_UDP4_SENDMSG, ipv4Filter(refused, options_.dnsUpstream)},
      {BPF_CGROUP_INET6_CONNECT, refuseAll()},
      {BPF_CGROUP_UDP6_SENDMSG, refuseAll()}};
  // Detaches `programs`, attached in the order of `hooks`; they close with their owner.
  auto detachAll = [&](const std::vector<common::UniqueFd>& programs) {
    for (size_t i = 0; i < programs.size(); ++i) {
      bpf_attr detach{};
      detach.target_fd = static_cast<uint32_t>(cgroup);
      detach.attach_bpf_fd = static_cast<uint32_t>(programs[i].get());
      detach.attach_type = hooks[i % std::size(hooks)].first;
      bpf(BPF_PROG_DETACH, detach);
    }
  };
  for (const auto& [type, program] : hooks) {
    auto loaded = loadProgram(program, type);
    if (!loaded.ok()) {
      detachAll(attached);
      return loaded.status();
    }
    common::UniqueFd fd(*loaded);
    bpf_attr attr{};
    attr.target_fd = static_cast<uint32_t>(cgroup);
    attr.attach_bpf_fd = static_cast<uint32_t>(fd.get());
    attr.attach_type = type;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf(BPF_PROG_ATTACH, attr) != 0) {
      const absl::Status failed = absl::FailedPreconditionError(
          absl::StrCat("cannot attach the network filter to ", cgroupDir_.string(), ": ", std::strerror(errno)));
      detachAll(attached);
      return failed;
    }
    attached.push_back(std::move(fd));
  }
  // The new programs run beside the old ones (all must allow) until the old ones go: no
  // moment without a filter.
  detachAll(programFds_);
  programFds_ = std::move(attached);
  refused_ = std::move(refused);
  hostAddresses_ = std::move(hostAddresses);
  return absl::OkStatus();
}

absl::StatusOr<NetworkAttachment> SandboxNetwork::attach() {
  // The watcher follows changes too; this covers one it has not read yet.
  if (auto status = followHostAddresses(); !status.ok()) return status;

  // A new network namespace, made on this thread and left at once: only the fd keeps it.
  common::UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own.valid()) return absl::InternalError(absl::StrCat("open own network namespace: ", std::strerror(errno)));
  if (::unshare(CLONE_NEWNET) != 0) {
    return absl::InternalError(absl::StrCat("cannot make a network namespace: ", std::strerror(errno)));
  }
  common::UniqueFd netns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  const int openError = errno;
  // This thread must be back on the host's network before anything else: a broken invariant.
  if (::setns(own.get(), CLONE_NEWNET) != 0) {
    spdlog::critical("cannot return to the host's network namespace: {}", std::strerror(errno));
    std::abort();
  }
  if (!netns.valid())
    return absl::InternalError(absl::StrCat("open new network namespace: ", std::strerror(openError)));

  int exitPipe[2], readyPipe[2];
  if (::pipe2(exitPipe, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  common::UniqueFd exitRead(exitPipe[0]), exitWrite(exitPipe[1]);
  if (::pipe2(readyPipe, O_CLOEXEC) != 0) return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  common::UniqueFd readyRead(readyPipe[0]), readyWrite(readyPipe[1]);
  common::UniqueFd log(static_cast<int>(::syscall(SYS_memfd_create, "surge-slirp-log", MFD_CLOEXEC)));
  if (!log.valid()) return absl::InternalError(absl::StrCat("memfd: ", std::strerror(errno)));

  // Everything the child needs, prepared before fork(): after it only async-signal-safe calls.
  const std::string procs = (cgroupDir_ / "cgroup.procs").string();
  const std::string resolvSource = resolvConf_.string();
  std::vector<std::string> args = {options_.slirp4netns.string(),
                                   "--configure",
                                   "--mtu=65520",
                                   "--disable-host-loopback",
                                   "--enable-sandbox",
                                   "--enable-seccomp",
                                   "--netns-type=path",
                                   absl::StrCat("--exit-fd=", kExitFd),
                                   absl::StrCat("--ready-fd=", kReadyFd),
                                   absl::StrCat("/proc/self/fd/", kNetnsFd),
                                   "tap0"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char* const noEnv[] = {nullptr};
  const std::array<int, 3> sources = {exitRead.get(), readyWrite.get(), netns.get()};
  const pid_t parent = ::getpid();
  const bool hasResolver = !resolvConf_.empty();

  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    if (!restoreDefaultSignals()) ::_exit(120);
    const int join = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (join < 0 || ::write(join, "0", 1) != 1) ::_exit(120);
    // Dies with this thread, so that no helper outlives a killed surged (the exit fd covers a
    // clean stop too).
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || ::getppid() != parent) ::_exit(121);
    // Its own /etc/resolv.conf, naming the upstream resolver: libslirp reads it.
    if (hasResolver &&
        (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
         ::mount(resolvSource.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0)) {
      ::_exit(122);
    }
    std::array<int, 3> moved{};
    for (size_t i = 0; i < sources.size(); ++i) {
      moved[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, 10);
      if (moved[i] < 0) ::_exit(123);
    }
    const int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devNull < 0 || ::dup2(devNull, 0) != 0 || ::dup2(devNull, 1) != 1 || ::dup2(log.get(), 2) != 2) ::_exit(124);
    for (size_t i = 0; i < moved.size(); ++i) {
      if (::dup2(moved[i], kExitFd + static_cast<int>(i)) < 0) ::_exit(125);
    }
    ::syscall(SYS_close_range, kNetnsFd + 1, ~0U, 0);
    ::execve(argv[0], argv.data(), noEnv);
    ::_exit(126);
  }

  // Only the helper keeps its ends.
  exitRead.reset();
  readyWrite.reset();
  NetworkAttachment attachment{netns.release(), pid, exitWrite.release()};
  pollfd ready{readyRead.get(), POLLIN, 0};
  char byte = 0;
  const int polled = ::poll(&ready, 1, static_cast<int>(std::chrono::milliseconds(kReadyTimeout).count()));
  if (polled == 1 && ::read(readyRead.get(), &byte, 1) == 1) return attachment;

  // Why: the step the child failed at, or what slirp4netns said.
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  attachment.helperPid = -1;
  detach(attachment);
  std::string output(2048, '\0');
  const ssize_t n = ::pread(log.get(), output.data(), output.size(), 0);
  output.resize(n > 0 ? static_cast<size_t>(n) : 0);
  static const char* const kSteps[] = {"joining the helpers' cgroup", "setting the parent-death signal",
                                       "giving it its resolv.conf",   "arranging descriptors",
                                       "opening /dev/null",           "placing descriptors",
                                       "executing slirp4netns"};
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::string why = output.empty() ? "no message" : output;
  if (output.empty() && code >= 120 && code <= 126) why = absl::StrCat("the helper failed ", kSteps[code - 120]);
  return absl::InternalError(
      absl::StrCat("slirp4netns did not set up the sandbox's network", polled == 0 ? " within 5 s" : "", ": ", why));
}

void SandboxNetwork::detach(NetworkAttachment& attachment) {
  if (attachment.exitFd >= 0) ::close(attachment.exitFd);
  if (attachment.helperPid > 0) {
    // It exits at once when its exit fd closes; a stuck one is killed after a second.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (::waitpid(attachment.helperPid, nullptr, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(attachment.helperPid, SIGKILL);
        ::waitpid(attachment.helperPid, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  if (attachment.netnsFd >= 0) ::close(attachment.netnsFd);
  attachment = NetworkAttachment{};
}

} // namespace surge::engine
