// Builds the sandbox's seccomp filter with libseccomp and exports it as BPF for bubblewrap.
#include "engine/seccomp_filter.h"

#include "common/absl_compat.h"
#include "common/unique_fd.h"

#include <absl/strings/str_cat.h>

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

namespace surge::engine {
namespace {

// Syscalls answered with EPERM. Most of them already fail for a process without capabilities;
// the filter makes that independent of the kernel's capability checks and sysctls, and removes
// whole kernel subsystems (bpf, io_uring, perf, keyrings) from the reachable attack surface.
constexpr const char* kDenied[] = {
    // The file system view and namespaces are fixed by bubblewrap before the program starts.
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    // The new mount API reaches the same code as mount(2).
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    // Other processes' memory and file descriptors.
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
    // The kernel itself.
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "acct", "quotactl", "quotactl_fd", "syslog", "uselib", "iopl", "ioperm", "vhangup", "lookup_dcookie",
    // Large, often-exploited kernel interfaces a function has no use for.
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    // Keyrings are not namespaced.
    "keyctl", "add_key", "request_key",
    // File handles bypass the mount view (the "shocker" escape) and expose host inode numbers.
    "open_by_handle_at", "name_to_handle_at"};

// clone() flags that would create a namespace; fork and threads (clone without them) stay allowed.
constexpr uint64_t kCloneNamespaceFlags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};

// Socket families a function may use: local, IP (in its own network namespace, so loopback
// only) and netlink (also per namespace; glibc's getaddrinfo needs it). Every other family is
// refused, above all AF_VSOCK: vsock is not isolated by network namespaces, so in a VM it would
// reach the hypervisor's services. The others (packet, bluetooth, AF_ALG, ...) are attack
// surface nobody needs here.
constexpr uint64_t kAllowedFamilies[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
constexpr uint64_t kHighestAllowedFamily = AF_NETLINK;

struct ContextDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using ContextPtr = std::unique_ptr<void, ContextDeleter>;

// A comparison of the first argument: libseccomp's SCMP_A0() in C++ (the macro is a C99
// compound literal, which clang's -Wpedantic refuses).
scmp_arg_cmp firstArgument(scmp_compare op, uint64_t value, uint64_t second = 0) {
  return scmp_arg_cmp{0, op, value, second};
}

absl::Status seccompError(std::string_view what, int rc) {
  return absl::InternalError(absl::StrCat("seccomp: ", common::toAbsl(what), ": ", std::strerror(-rc)));
}

} // namespace

absl::StatusOr<int> sealedMemfd(const char* name, const void* bytes, size_t size) {
  common::UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) return absl::InternalError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  const auto* data = static_cast<const char*>(bytes);
  size_t left = size;
  while (left > 0) {
    const ssize_t written = ::write(fd.get(), data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return absl::InternalError(absl::StrCat("cannot write memfd ", name, ": ", std::strerror(errno)));
    data += written;
    left -= static_cast<size_t>(written);
  }
  // Sealed so that whoever holds the descriptor reads exactly what was written.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0 ||
      ::lseek(fd.get(), 0, SEEK_SET) != 0) {
    return absl::InternalError(absl::StrCat("cannot seal memfd ", name, ": ", std::strerror(errno)));
  }
  return fd.release();
}

absl::StatusOr<SeccompFilter> SeccompFilter::build() {
  ContextPtr ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return absl::InternalError("seccomp: seccomp_init failed");
  // Only the native x86_64 ABI is in the filter; a syscall of any other ABI (int 0x80, x32)
  // kills the whole process instead of reaching a syscall table the rules do not cover.
  if (const int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc != 0) {
    return seccompError("cannot set the bad-arch action", rc);
  }
  for (const char* name : kDenied) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return absl::InternalError(absl::StrCat("seccomp: unknown syscall ", name));
    if (const int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0) {
      return seccompError(absl::StrCat("cannot deny ", name), rc);
    }
  }
  for (const uint64_t flag : kCloneNamespaceFlags) {
    const int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                    firstArgument(SCMP_CMP_MASKED_EQ, flag, flag));
    if (rc != 0) return seccompError("cannot restrict clone", rc);
  }
  // Families are compared as 64-bit values, so a number with stray high bits (which the kernel
  // would truncate to an allowed-looking int) falls into the "above" rule and is refused too.
  for (uint64_t family = 0; family < kHighestAllowedFamily; ++family) {
    if (std::find(std::begin(kAllowedFamilies), std::end(kAllowedFamilies), family) != std::end(kAllowedFamilies)) {
      continue;
    }
    const int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                                    firstArgument(SCMP_CMP_EQ, family));
    if (rc != 0) return seccompError("cannot restrict socket families", rc);
  }
  if (const int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                                      firstArgument(SCMP_CMP_GT, kHighestAllowedFamily));
      rc != 0) {
    return seccompError("cannot restrict socket families", rc);
  }

  // clone3 passes its flags in memory, which seccomp cannot read. ENOSYS makes glibc fall back
  // to clone(), whose flags the rules above do check.
  if (const int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0); rc != 0) {
    return seccompError("cannot deny clone3", rc);
  }

  // libseccomp 2.5 exports only to a descriptor; read the program back so that each launch can
  // get its own copy.
  const common::UniqueFd fd(::memfd_create("surge-seccomp-export", MFD_CLOEXEC));
  if (!fd.valid()) return absl::InternalError(absl::StrCat("memfd_create: ", std::strerror(errno)));
  if (const int rc = seccomp_export_bpf(ctx.get(), fd.get()); rc != 0)
    return seccompError("cannot export the filter", rc);
  const off_t size = ::lseek(fd.get(), 0, SEEK_END);
  std::vector<uint8_t> program(size > 0 ? static_cast<size_t>(size) : 0);
  const ssize_t read = program.empty() ? -1 : ::pread(fd.get(), program.data(), program.size(), 0);
  if (read != static_cast<ssize_t>(program.size())) {
    return absl::InternalError("seccomp: cannot read the exported filter back");
  }
  return SeccompFilter(std::move(program));
}

absl::StatusOr<int> SeccompFilter::toMemfd() const {
  return sealedMemfd("surge-seccomp", program_.data(), program_.size());
}

} // namespace surge::engine
