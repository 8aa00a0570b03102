// The launcher's sandboxes, described: the host's runtime directories, a generated /etc, /proc, a
// minimal /dev, bounded tmpfs, /code and the spec's binds, and the program.
#include "engine/sandbox_layout_builder.h"

#include "common/files.h"
#include "engine/sandbox_constants.h"
#include "engine/sandbox_launcher.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <utility>

namespace surge::engine {
namespace fs = std::filesystem;

namespace {

using namespace sandbox; // its descriptor numbers and paths are this file's vocabulary

// /tmp and /dev/shm: min(this, memoryMb) each.
constexpr uint32_t kMaxTmpMb = 512;

MountOp step(MountOp::Kind kind, std::string source, std::string target) {
  MountOp op;
  op.kind = kind;
  op.source = std::move(source);
  op.target = std::move(target);
  return op;
}

MountOp roBind(std::string source, std::string target) {
  return step(MountOp::Kind::kRoBind, std::move(source), std::move(target));
}

MountOp symlink(std::string text, std::string target) {
  return step(MountOp::Kind::kSymlink, std::move(text), std::move(target));
}

MountOp at(MountOp::Kind kind, std::string target, uint64_t size = 0) {
  MountOp op = step(kind, "", std::move(target));
  op.size = size;
  return op;
}

// A generated file, read-only for everyone.
MountOp data(int fd, std::string target) {
  MountOp op = step(MountOp::Kind::kData, "", std::move(target));
  op.fd = fd;
  op.perms = 0444;
  return op;
}

} // namespace

SandboxLayoutBuilder SandboxLayoutBuilder::forHost() {
  std::vector<MountOp> host = {roBind("/usr", "/usr")};
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    struct stat st {};
    if (::lstat(top, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      const fs::path target = fs::read_symlink(top, ec);
      // Only links into /usr: anything else would expose more of the host.
      const fs::path resolved = (fs::path("/") / target).lexically_normal();
      if (!ec && common::isWithin(resolved, "/usr")) host.push_back(symlink(target.string(), top));
    } else if (S_ISDIR(st.st_mode)) {
      host.push_back(roBind(top, top));
    }
  }
  std::error_code ec;
  if (fs::is_regular_file("/etc/ld.so.cache", ec)) host.push_back(roBind("/etc/ld.so.cache", "/etc/ld.so.cache"));
  // Symlinks only (e.g. /usr/bin/nodejs -> /etc/alternatives/nodejs -> /usr/bin/node).
  if (fs::is_directory("/etc/alternatives", ec)) host.push_back(roBind("/etc/alternatives", "/etc/alternatives"));
  if (fs::is_symlink("/etc/localtime", ec)) {
    host.push_back(symlink(fs::read_symlink("/etc/localtime", ec).string(), "/etc/localtime"));
  } else if (fs::is_regular_file("/etc/localtime", ec)) {
    host.push_back(roBind("/etc/localtime", "/etc/localtime"));
  }
  std::vector<MountOp> network;
  // The CA certificates, so that HTTPS clients verify servers (links into /usr, bound above).
  if (fs::is_directory("/etc/ssl/certs", ec)) network.push_back(roBind("/etc/ssl/certs", "/etc/ssl/certs"));
  return SandboxLayoutBuilder(std::move(host), std::move(network));
}

SandboxLayoutBuilder::SandboxLayoutBuilder(std::vector<MountOp> hostMounts, std::vector<MountOp> networkMounts)
    : hostMounts_(std::move(hostMounts)), networkMounts_(std::move(networkMounts)) {}

SandboxLayout SandboxLayoutBuilder::build(const SandboxSpec& spec, std::vector<std::string> cgroupFiles) const {
  const uint64_t tmpBytes = uint64_t{std::min(kMaxTmpMb, spec.memoryMb)} << 20;
  SandboxLayout layout;
  layout.uid = spec.uid;
  layout.gid = spec.gid;
  // A network sandbox joins the namespace the launcher prepared.
  layout.ownNetwork = !spec.network;
  layout.cgroupFiles = std::move(cgroupFiles);
  layout.fds = {0, 1, 2};
  if (spec.protocolFd >= 0) layout.fds.push_back(kProtocolFd);
  for (int fd = kSeccompFd; fd <= kNsswitchFd; ++fd) layout.fds.push_back(fd);
  if (spec.network) layout.fds.push_back(kResolvFd);
  layout.hostname = "surge";
  layout.env.assign(spec.env.begin(), spec.env.end());

  auto& mounts = layout.mounts;
  mounts.reserve(hostMounts_.size() + networkMounts_.size() + spec.readOnlyBinds.size() + 14);
  mounts = hostMounts_;
  mounts.insert(mounts.end(), {data(kPasswdFd, "/etc/passwd"), data(kGroupFd, "/etc/group"),
                               data(kHostsFd, "/etc/hosts"), data(kNsswitchFd, "/etc/nsswitch.conf")});
  if (spec.network) {
    mounts.push_back(data(kResolvFd, "/etc/resolv.conf"));
    mounts.insert(mounts.end(), networkMounts_.begin(), networkMounts_.end());
  }
  // The /dev tmpfs is writable: /dev/shm (POSIX semaphores and shared memory) stays a bounded
  // tmpfs, and the rest becomes read-only.
  mounts.insert(mounts.end(), {at(MountOp::Kind::kProc, "/proc"), at(MountOp::Kind::kDev, "/dev"),
                               at(MountOp::Kind::kTmpfs, "/dev/shm", tmpBytes), at(MountOp::Kind::kRemountRo, "/dev"),
                               at(MountOp::Kind::kTmpfs, "/tmp", tmpBytes), roBind(spec.codeDir.string(), kCodeDir)});
  for (const auto& [host, inside] : spec.readOnlyBinds) mounts.push_back(roBind(host.string(), inside.string()));
  // Last mount step: the root is a tmpfs owned by the sandbox user, writable unless this.
  mounts.push_back(at(MountOp::Kind::kRemountRo, "/"));

  layout.chdir = kCodeDir;
  layout.seccompFd = kSeccompFd;
  layout.argv = spec.argv;
  return layout;
}

} // namespace surge::engine
