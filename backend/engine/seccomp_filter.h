// The seccomp filter every sandboxed process runs under, compiled once with libseccomp into
// classic BPF that bubblewrap loads (`bwrap --seccomp FD`) just before it execs the program.
#pragma once

#include <absl/status/statusor.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace surge::engine {

// An immutable, compiled filter: default allow; EPERM for the syscalls that manage mounts,
// namespaces, kernel modules, keyrings, tracing and other processes' memory, and for the kernel
// interfaces with a large attack surface (bpf, io_uring, perf, userfaultfd); EPERM for clone()
// with a namespace flag; ENOSYS for clone3; EAFNOSUPPORT for socket families other than unix,
// inet, inet6 and netlink (vsock above all); the whole process is killed on a syscall of another
// ABI (i386, x32). docs/sandbox.md lists the rules and why each is there. Thread-safe: it is only
// read after build().
class SeccompFilter {
public:
  // INTERNAL when libseccomp cannot build or export the filter.
  static absl::StatusOr<SeccompFilter> build();

  // The BPF program as bwrap reads it: an array of struct sock_filter.
  const std::vector<uint8_t>& program() const { return program_; }

  // A new sealed memfd (close-on-exec, offset 0) holding program(). A fresh one per sandbox,
  // because bwrap reads to EOF and a shared file offset would race between launches.
  absl::StatusOr<int> toMemfd() const;

private:
  explicit SeccompFilter(std::vector<uint8_t> program) : program_(std::move(program)) {}

  std::vector<uint8_t> program_;
};

// A memfd (close-on-exec, offset 0, sealed against writes) holding `bytes`; `name` shows in
// /proc/<pid>/fd. Shared with the launcher, which passes generated /etc files the same way.
absl::StatusOr<int> sealedMemfd(const char* name, const void* bytes, size_t size);

} // namespace surge::engine
