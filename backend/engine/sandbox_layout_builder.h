// What a sandbox contains, decided in one place: turns a SandboxSpec into the SandboxLayout that
// bubblewrap or the Python zygote then carries out (engine/sandbox_layout.h).
#pragma once

#include "engine/sandbox_layout.h"

#include <string>
#include <vector>

namespace surge::engine {

struct SandboxSpec;

// Immutable once made; thread-safe.
class SandboxLayoutBuilder {
public:
  // Mirrors this host, reading its file system once: /usr, then /bin, /sbin and /lib* as they
  // are (symlinks into /usr as the same symlinks, directories as read-only binds; a link out of
  // /usr is left out), /etc/ld.so.cache, /etc/alternatives and /etc/localtime; for network
  // sandboxes also /etc/ssl/certs.
  static SandboxLayoutBuilder forHost();
  // `hostMounts` open every layout; `networkMounts` follow the generated /etc of network ones.
  SandboxLayoutBuilder(std::vector<MountOp> hostMounts, std::vector<MountOp> networkMounts);

  // The layout of `spec`, which the launcher has validated, whose first process joins
  // `cgroupFiles`. Its descriptors are numbered as in engine/sandbox_constants.h: 0-2 stdio,
  // 3 the protocol (when spec.protocolFd >= 0), 4 the seccomp program, 5-8 the generated
  // passwd, group, hosts and nsswitch.conf, and 9 resolv.conf (network sandboxes).
  SandboxLayout build(const SandboxSpec& spec, std::vector<std::string> cgroupFiles) const;

private:
  std::vector<MountOp> hostMounts_;
  std::vector<MountOp> networkMounts_;
};

} // namespace surge::engine
