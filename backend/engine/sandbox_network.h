// SandboxNetwork: outbound IPv4 for sandboxes whose function asks for network, through
// user-mode networking (slirp4netns), with every destination on the host, link-local, or
// denied by the operator refused by the kernel (cgroup BPF on the helpers' sockets).
#pragma once

#include "common/mutex.h"
#include "common/unique_fd.h"

#include <absl/base/thread_annotations.h>
#include <absl/status/statusor.h>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace surge::engine {

// An IPv4 network: address and mask in network byte order, as in in_addr::s_addr.
struct Ipv4Net {
  uint32_t address = 0;
  uint32_t mask = 0;
  bool operator==(const Ipv4Net&) const = default;
};

// "a.b.c.d/len" or "a.b.c.d" (a /32). INVALID_ARGUMENT naming the text otherwise.
absl::StatusOr<Ipv4Net> parseIpv4Net(const std::string& text);

struct NetworkOptions {
  std::filesystem::path slirp4netns = "/usr/bin/slirp4netns";
  // Where the helpers' cgroup lives: <cgroup2Root>/<cgroupParent>/net-helpers.
  std::filesystem::path cgroup2Root;
  std::string cgroupParent = "surge";
  // The upstream resolver behind the sandboxes' 10.0.2.3; 0: the first IPv4 nameserver of the
  // host's /etc/resolv.conf. Network byte order.
  uint32_t dnsUpstream = 0;
  // Destinations refused beside the built-in ones (the host's addresses, loopback, link-local,
  // multicast, this network's own 10.0.2.0/24).
  std::vector<Ipv4Net> deny;
  // Where the helpers' resolv.conf is written (as <cgroupParent>-resolv.conf): a bind mount
  // needs a real file.
  std::filesystem::path runDir = "/run/surge";
};

// What one sandbox's network is made of; the launcher keeps it in SandboxProcess.
struct NetworkAttachment {
  int netnsFd = -1;     // the network namespace the sandbox joins
  pid_t helperPid = -1; // slirp4netns, a child of the attaching thread
  int exitFd = -1;      // closing it makes the helper exit (so does the death of surged)
};

// The cgroup v2 hierarchy under `cgroupRoot`: the root itself on a unified system, else its
// "unified" mount on a hybrid one. NOT_FOUND when there is none.
absl::StatusOr<std::filesystem::path> findCgroup2(const std::filesystem::path& cgroupRoot);

// Thread-safe. Each attach() makes a network namespace whose loopback is up and whose tap0 is
// 10.0.2.100/24 with a default route via 10.0.2.2, served by a slirp4netns of its own (MTU 65520,
// no host loopback, its own sandbox and seccomp). The helpers run in one cgroup to which BPF
// programs are attached that refuse (EPERM) TCP connects and UDP sends to refused destinations,
// except DNS (port 53) to the upstream resolver, and every IPv6 destination. The sandbox sees
// only 10.0.2.0/24: IPv6 has no route in it (ENETUNREACH at once).
class SandboxNetwork {
public:
  // Checks slirp4netns, kills helpers a crashed predecessor left, and attaches the programs.
  // FAILED_PRECONDITION saying what is missing (slirp4netns, cgroup v2, BPF).
  static absl::StatusOr<std::unique_ptr<SandboxNetwork>> create(NetworkOptions options);
  // Kills the helpers still running and removes their cgroup (with the programs).
  ~SandboxNetwork();
  SandboxNetwork(const SandboxNetwork&) = delete;
  SandboxNetwork& operator=(const SandboxNetwork&) = delete;

  // Makes a namespace and starts its helper; returns once the helper has configured it (a few
  // ms; INTERNAL after 5 s or on any failure, with nothing left behind). Blocks: call it from
  // the thread that launches sandboxes, which must outlive the helper (its parent-death signal).
  // Refreshes the programs first if the host's addresses changed (a thread of this object also
  // follows every change the kernel announces, for the helpers already running).
  absl::StatusOr<NetworkAttachment> attach();
  // Stops the helper, reaps it and closes the namespace. Safe on an empty attachment.
  void detach(NetworkAttachment& attachment);

  // The destinations refused now (for tests and the log).
  std::vector<Ipv4Net> refused() const;
  uint32_t dnsUpstream() const { return options_.dnsUpstream; }

private:
  SandboxNetwork(NetworkOptions options, std::filesystem::path cgroupDir);
  // Builds the programs for the current host addresses and attaches them, replacing older ones.
  absl::Status attachPrograms(std::vector<uint32_t> hostAddresses) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the host's addresses and, if they changed, attaches programs that refuse the new set.
  absl::Status followHostAddresses();
  // The watcher thread: waits for the kernel's address announcements (rtnetlink) and follows
  // each, until stopFd_ is readable.
  void watchHostAddresses();

  NetworkOptions options_;
  std::filesystem::path cgroupDir_;
  std::filesystem::path resolvConf_; // what the helpers read as /etc/resolv.conf; empty: the host's
  mutable common::Mutex mu_;
  std::vector<Ipv4Net> refused_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> hostAddresses_ ABSL_GUARDED_BY(mu_);      // what refused_ was built from
  std::vector<common::UniqueFd> programFds_ ABSL_GUARDED_BY(mu_); // attached to cgroupDir_
  // An address added to the host later (a new interface, DHCP, a container bridge) must be
  // refused to the helpers already running, not only to those attached after it.
  common::UniqueFd addressEvents_; // NETLINK_ROUTE, subscribed to IPv4 address changes
  common::UniqueFd stopFd_;        // an eventfd: the destructor stops the watcher with it
  std::thread watcher_;
};

} // namespace surge::engine
