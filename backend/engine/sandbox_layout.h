// The one description of a sandbox that both start paths carry out: the launcher builds it once
// from a SandboxSpec, then either turns it into bubblewrap's arguments or encodes it for the
// Python zygote, which decodes it and performs the same steps. docs/sandbox.md describes both.
//
// Standard library only: the zygote executable compiles this file too, and links nothing else of
// Surge's (engine/CMakeLists.txt). That is also why decode() reports with a string, not a Status.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace surge::engine {

// One step of building the sandbox's file system. Paths are inside the sandbox unless said
// otherwise; steps run in order, on a fresh tmpfs root.
struct MountOp {
  // The numbers are the encoded form's: never reuse one.
  enum class Kind : uint8_t {
    kRoBind = 1,    // bind host path `source` at `target`, read-only, nosuid, nodev (--ro-bind)
    kSymlink = 2,   // `target` is a symlink whose text is `source` (--symlink)
    kData = 3,      // `target` is a file with the contents of sandbox descriptor `fd`, mode
                    // `perms` (--perms --ro-bind-data)
    kProc = 4,      // procfs of the sandbox's pid namespace at `target` (--proc)
    kDev = 5,       // a minimal /dev at `target` (--dev)
    kTmpfs = 6,     // a tmpfs at `target` of `size` bytes, 0 for the kernel's default (--size --tmpfs)
    kRemountRo = 7, // remount `target` read-only; `/` is done after everything else (--remount-ro)
  };
  Kind kind = Kind::kRoBind;
  std::string source; // kRoBind: the host path; kSymlink: the link's text; otherwise empty
  std::string target;
  uint64_t size = 0;  // kTmpfs only
  int fd = -1;        // kData only
  uint32_t perms = 0; // kData only: at most 07777

  bool operator==(const MountOp&) const = default;
};

// Every sandbox has new user, pid, mount, ipc, uts and cgroup namespaces, no further user
// namespaces (at most one nested, which it enters), a new session, no capabilities (the bounding
// set included), no_new_privs, an environment of exactly `env`, and dies with its parent. What
// differs between sandboxes is below.
struct SandboxLayout {
  // Host uid and gid it runs as, mapped to themselves inside: >= sandbox::kMinId, not
  // sandbox::kOverflowId.
  uid_t uid = 0;
  gid_t gid = 0;
  // Its own network namespace with loopback only; false: its first process joins one the
  // launcher prepared (outbound network), which only bubblewrap starts.
  bool ownNetwork = true;
  // Cgroup files (absolute host paths) its first process writes "0" to, as root, before anything
  // else.
  std::vector<std::string> cgroupFiles;
  // The descriptors it is given, by their numbers inside (ascending, 0, 1 and 2 always); the host
  // passes one descriptor for each, in this order. MountOp::fd and seccompFd name one of them.
  std::vector<int> fds;
  std::string hostname; // empty: the kernel's
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<MountOp> mounts;
  std::string chdir = "/";
  // The descriptor holding the seccomp BPF program, applied last, just before the program runs.
  int seccompFd = -1;
  std::vector<std::string> argv; // argv[0] is the program, an absolute path

  bool operator==(const SandboxLayout&) const = default;
};

// bubblewrap's command line for `layout`, starting with `bwrap` (its path). The descriptors and the
// cgroup are the caller's to arrange (bubblewrap takes neither as arguments).
std::vector<std::string> toBwrapArgs(const SandboxLayout& layout, std::string_view bwrap);

// The encoded form the launcher sends the zygote: versioned, length-prefixed, little-endian.
// decode() accepts at most kMaxEncodedLayout bytes.
inline constexpr size_t kMaxEncodedLayout = 256 * 1024;
std::string encode(const SandboxLayout& layout);

// Reads an encoded layout and checks all of it: the version, every length against the bytes
// there are, uid and gid, absolute paths without "..", no NUL where the kernel takes C strings,
// descriptor numbers (below sandbox::kFdCount, each once, 0-2 present, every one named sent),
// a seccomp program, an absolute program path, and no trailing bytes. Returns false and sets
// `error` to what was wrong, for a person to read ("uid '0' must be ..."); `out` is then
// unspecified.
bool decode(std::string_view bytes, SandboxLayout& out, std::string& error);

} // namespace surge::engine
