// The sandbox's description in its two outward forms: bubblewrap's arguments, and the encoded
// request the Python zygote decodes and checks (its only reader of a request).
#include "engine/sandbox_layout.h"

#include "engine/sandbox_constants.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>

namespace surge::engine {
namespace {

// The encoded form, version 1. Integers are little-endian; a string is its length (u32) and its
// bytes; a list is its count (u32) and its items:
//   "SGLY" u32 version, u32 uid, u32 gid, u8 flags (bit 0: ownNetwork),
//   list<i32> fds, list<string> cgroupFiles, string hostname, list<string, string> env,
//   list<u8 kind, string source, string target, u64 size, i32 fd, u32 perms> mounts,
//   string chdir, i32 seccompFd, list<string> argv
// and nothing after. A new field or meaning is a new version.
constexpr std::string_view kMagic = "SGLY";
constexpr uint32_t kVersion = 1;
constexpr uint8_t kOwnNetworkFlag = 1;
constexpr size_t kMaxPath = 4095;     // PATH_MAX with its NUL
constexpr size_t kMaxHostname = 64;   // HOST_NAME_MAX
constexpr uint32_t kMaxPerms = 07777; // what chmod takes

class Writer {
public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void u32(uint32_t value) {
    for (int shift = 0; shift < 32; shift += 8) out_.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  void u64(uint64_t value) {
    for (int shift = 0; shift < 64; shift += 8) out_.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  void i32(int value) { u32(static_cast<uint32_t>(value)); }
  void count(size_t value) { u32(static_cast<uint32_t>(value)); }
  void str(std::string_view text) {
    count(text.size());
    out_.append(text);
  }

private:
  std::string& out_;
};

// Reads fields in order; the first one that runs past the end sets the error, and every read
// after it fails too.
class Reader {
public:
  Reader(std::string_view bytes, std::string& error) : bytes_(bytes), error_(error) {}

  bool u8(const char* field, uint8_t& out) {
    if (!take(field, 1)) return false;
    out = static_cast<uint8_t>(bytes_[at_ - 1]);
    return true;
  }
  bool u32(const char* field, uint32_t& out) {
    if (!take(field, 4)) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) out |= uint32_t{static_cast<uint8_t>(bytes_[at_ - 4 + i])} << (8 * i);
    return true;
  }
  bool u64(const char* field, uint64_t& out) {
    if (!take(field, 8)) return false;
    out = 0;
    for (int i = 0; i < 8; ++i) out |= uint64_t{static_cast<uint8_t>(bytes_[at_ - 8 + i])} << (8 * i);
    return true;
  }
  bool i32(const char* field, int& out) {
    uint32_t value = 0;
    if (!u32(field, value)) return false;
    out = static_cast<int>(static_cast<int32_t>(value));
    return true;
  }
  // A list's count, checked against the bytes left (each item takes at least `itemBytes`).
  bool count(const char* field, size_t itemBytes, uint32_t& out) {
    if (!u32(field, out)) return false;
    if (out > (bytes_.size() - at_) / itemBytes) return truncated(field);
    return true;
  }
  bool str(const char* field, std::string& out) {
    uint32_t length = 0;
    if (!u32(field, length) || !take(field, length)) return false;
    out.assign(bytes_.data() + at_ - length, length);
    return true;
  }
  size_t left() const { return bytes_.size() - at_; }

private:
  bool take(const char* field, size_t size) {
    if (!error_.empty()) return false;
    if (size > bytes_.size() - at_) return truncated(field);
    at_ += size;
    return true;
  }
  bool truncated(const char* field) {
    error_ = std::string("the sandbox layout is truncated: it ends inside '") + field + "'";
    return false;
  }

  std::string_view bytes_;
  size_t at_ = 0;
  std::string& error_;
};

bool fail(std::string& error, std::string message) {
  error = std::move(message);
  return false;
}

bool hasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// Absolute, without "..", and a C string the kernel takes.
bool validPath(std::string_view path) {
  return !path.empty() && path[0] == '/' && path.find("/..") == std::string_view::npos && !hasNul(path) &&
         path.size() <= kMaxPath;
}

bool validId(uint32_t id) { return id >= sandbox::kMinId && id != sandbox::kOverflowId && id <= 0xfffffffe; }

const char* nameOf(MountOp::Kind kind) {
  switch (kind) {
  case MountOp::Kind::kRoBind: return "ro-bind";
  case MountOp::Kind::kSymlink: return "symlink";
  case MountOp::Kind::kData: return "ro-bind-data";
  case MountOp::Kind::kProc: return "proc";
  case MountOp::Kind::kDev: return "dev";
  case MountOp::Kind::kTmpfs: return "tmpfs";
  case MountOp::Kind::kRemountRo: return "remount-ro";
  }
  return nullptr;
}

bool wasSent(const SandboxLayout& layout, int fd) {
  return std::find(layout.fds.begin(), layout.fds.end(), fd) != layout.fds.end();
}

// One mount step: its kind's fields valid, every other field unset.
bool checkMount(const SandboxLayout& layout, const MountOp& op, std::string& error) {
  const char* name = nameOf(op.kind);
  if (name == nullptr) return fail(error, "unknown mount operation " + std::to_string(static_cast<int>(op.kind)));
  if (!validPath(op.target))
    return fail(error, std::string(name) + " path '" + op.target + "' must be absolute, without '..'");
  const bool takesSource = op.kind == MountOp::Kind::kRoBind || op.kind == MountOp::Kind::kSymlink;
  const bool isData = op.kind == MountOp::Kind::kData;
  if ((!takesSource && !op.source.empty()) || (op.kind != MountOp::Kind::kTmpfs && op.size != 0) ||
      (!isData && (op.fd != -1 || op.perms != 0)))
    return fail(error, std::string(name) + " at '" + op.target + "' sets a field only other operations take");
  if (op.kind == MountOp::Kind::kRoBind && !validPath(op.source))
    return fail(error, "ro-bind path '" + op.source + "' must be absolute, without '..'");
  if (op.kind == MountOp::Kind::kSymlink && (op.source.empty() || hasNul(op.source) || op.source.size() > kMaxPath))
    return fail(error, "symlink at '" + op.target + "' needs a link text, without NUL");
  if (isData && (op.fd < 0 || !wasSent(layout, op.fd)))
    return fail(error, "ro-bind-data descriptor '" + std::to_string(op.fd) + "' was not sent");
  if (isData && op.perms > kMaxPerms) {
    char mode[16];
    std::snprintf(mode, sizeof(mode), "%o", op.perms);
    return fail(error, std::string("ro-bind-data mode '") + mode + "' is not a file mode (at most 7777)");
  }
  return true;
}

// Everything decode() promises beyond the framing.
bool check(const SandboxLayout& layout, std::string& error) {
  const std::string idRule =
      "' must be a number >= " + std::to_string(sandbox::kMinId) + " and not " + std::to_string(sandbox::kOverflowId);
  if (!validId(layout.uid)) return fail(error, "uid '" + std::to_string(layout.uid) + idRule);
  if (!validId(layout.gid)) return fail(error, "gid '" + std::to_string(layout.gid) + idRule);
  for (size_t i = 0; i < layout.fds.size(); ++i) {
    const int fd = layout.fds[i];
    if (fd < 0 || fd >= sandbox::kFdCount || (i > 0 && fd <= layout.fds[i - 1]))
      return fail(error, "descriptor " + std::to_string(fd) + " is out of place: the sandbox's descriptors are 0-" +
                             std::to_string(sandbox::kFdCount - 1) + ", ascending, each once");
  }
  if (layout.fds.size() < 3 || layout.fds[0] != 0 || layout.fds[1] != 1 || layout.fds[2] != 2)
    return fail(error, "descriptors 0, 1 and 2 are required");
  for (const auto& file : layout.cgroupFiles) {
    if (!validPath(file)) return fail(error, "cgroup file '" + file + "' must be an absolute path, without '..'");
  }
  if (layout.hostname.size() > kMaxHostname || hasNul(layout.hostname))
    return fail(error, "hostname '" + layout.hostname + "' must be at most 64 characters, without NUL");
  for (const auto& [key, value] : layout.env) {
    if (key.empty() || key.find('=') != std::string::npos || hasNul(key) || hasNul(value))
      return fail(error, "environment variable '" + key + "' needs a name without '=' and a value, both without NUL");
  }
  for (const MountOp& op : layout.mounts) {
    if (!checkMount(layout, op, error)) return false;
  }
  if (!validPath(layout.chdir)) return fail(error, "chdir path '" + layout.chdir + "' must be absolute, without '..'");
  if (layout.argv.empty() || layout.argv[0].empty() || layout.argv[0][0] != '/')
    return fail(error, "the program must be an absolute path");
  if (std::any_of(layout.argv.begin(), layout.argv.end(), [](const std::string& arg) { return hasNul(arg); }))
    return fail(error, "the program's arguments must not contain NUL");
  if (layout.seccompFd < 0) return fail(error, "a sandbox without a seccomp program is refused");
  if (!wasSent(layout, layout.seccompFd))
    return fail(error, "seccomp descriptor '" + std::to_string(layout.seccompFd) + "' was not sent");
  return true;
}

} // namespace

std::vector<std::string> toBwrapArgs(const SandboxLayout& layout, std::string_view bwrap) {
  std::vector<std::string> args;
  args.reserve(20 + 3 * layout.env.size() + 6 * layout.mounts.size() + layout.argv.size());
  args.emplace_back(bwrap);
  // An unprivileged bwrap: the user namespace maps the sandbox uid to itself, and no further
  // user namespaces can be made inside. The cgroup namespace hides the host's cgroup paths;
  // --new-session leaves no controlling terminal to push input into (TIOCSTI).
  for (const char* option : {"--unshare-user", "--disable-userns", "--unshare-pid"}) args.emplace_back(option);
  if (layout.ownNetwork) args.emplace_back("--unshare-net");
  for (const char* option :
       {"--unshare-ipc", "--unshare-uts", "--unshare-cgroup", "--die-with-parent", "--new-session"})
    args.emplace_back(option);
  if (!layout.hostname.empty()) args.insert(args.end(), {"--hostname", layout.hostname});
  args.emplace_back("--clearenv");
  for (const auto& [key, value] : layout.env) args.insert(args.end(), {"--setenv", key, value});
  for (const MountOp& op : layout.mounts) {
    switch (op.kind) {
    case MountOp::Kind::kRoBind: args.insert(args.end(), {"--ro-bind", op.source, op.target}); break;
    case MountOp::Kind::kSymlink: args.insert(args.end(), {"--symlink", op.source, op.target}); break;
    case MountOp::Kind::kData: {
      char mode[16];
      std::snprintf(mode, sizeof(mode), "%04o", op.perms);
      args.insert(args.end(), {"--perms", mode, "--ro-bind-data", std::to_string(op.fd), op.target});
      break;
    }
    case MountOp::Kind::kProc: args.insert(args.end(), {"--proc", op.target}); break;
    case MountOp::Kind::kDev: args.insert(args.end(), {"--dev", op.target}); break;
    case MountOp::Kind::kTmpfs:
      if (op.size != 0) args.insert(args.end(), {"--size", std::to_string(op.size)});
      args.insert(args.end(), {"--tmpfs", op.target});
      break;
    case MountOp::Kind::kRemountRo: args.insert(args.end(), {"--remount-ro", op.target}); break;
    }
  }
  args.insert(args.end(), {"--chdir", layout.chdir});
  if (layout.seccompFd >= 0) args.insert(args.end(), {"--seccomp", std::to_string(layout.seccompFd)});
  args.emplace_back("--");
  args.insert(args.end(), layout.argv.begin(), layout.argv.end());
  return args;
}

std::string encode(const SandboxLayout& layout) {
  std::string out;
  Writer w(out);
  out.append(kMagic);
  w.u32(kVersion);
  w.u32(layout.uid);
  w.u32(layout.gid);
  w.u8(layout.ownNetwork ? kOwnNetworkFlag : 0);
  w.count(layout.fds.size());
  for (const int fd : layout.fds) w.i32(fd);
  w.count(layout.cgroupFiles.size());
  for (const auto& file : layout.cgroupFiles) w.str(file);
  w.str(layout.hostname);
  w.count(layout.env.size());
  for (const auto& [key, value] : layout.env) {
    w.str(key);
    w.str(value);
  }
  w.count(layout.mounts.size());
  for (const MountOp& op : layout.mounts) {
    w.u8(static_cast<uint8_t>(op.kind));
    w.str(op.source);
    w.str(op.target);
    w.u64(op.size);
    w.i32(op.fd);
    w.u32(op.perms);
  }
  w.str(layout.chdir);
  w.i32(layout.seccompFd);
  w.count(layout.argv.size());
  for (const auto& arg : layout.argv) w.str(arg);
  return out;
}

bool decode(std::string_view bytes, SandboxLayout& out, std::string& error) {
  error.clear();
  out = SandboxLayout{};
  if (bytes.size() > kMaxEncodedLayout) {
    return fail(error, "the sandbox layout is " + std::to_string(bytes.size()) + " bytes, more than the " +
                           std::to_string(kMaxEncodedLayout) + " allowed");
  }
  if (bytes.substr(0, kMagic.size()) != kMagic) return fail(error, "the request is not a sandbox layout");
  Reader in(bytes.substr(kMagic.size()), error);
  uint32_t version = 0;
  if (!in.u32("version", version)) return false;
  if (version != kVersion) {
    return fail(error, "sandbox layout version " + std::to_string(version) + " is not supported (only " +
                           std::to_string(kVersion) + ")");
  }
  uint32_t uid = 0, gid = 0, count = 0;
  uint8_t flags = 0;
  if (!in.u32("uid", uid) || !in.u32("gid", gid) || !in.u8("flags", flags)) return false;
  if ((flags & ~kOwnNetworkFlag) != 0)
    return fail(error, "the sandbox layout sets unknown flags " + std::to_string(flags));
  out.uid = uid;
  out.gid = gid;
  out.ownNetwork = (flags & kOwnNetworkFlag) != 0;
  if (!in.count("fds", 4, count)) return false;
  out.fds.resize(count);
  for (int& fd : out.fds) in.i32("fds", fd);
  if (!in.count("cgroupFiles", 4, count)) return false;
  out.cgroupFiles.resize(count);
  for (auto& file : out.cgroupFiles) in.str("cgroupFiles", file);
  if (!in.str("hostname", out.hostname) || !in.count("env", 8, count)) return false;
  out.env.resize(count);
  for (auto& [key, value] : out.env) {
    if (in.str("env", key)) in.str("env", value);
  }
  if (!in.count("mounts", 25, count)) return false;
  out.mounts.resize(count);
  for (MountOp& op : out.mounts) {
    uint8_t kind = 0;
    in.u8("mounts", kind);
    op.kind = static_cast<MountOp::Kind>(kind);
    in.str("mounts", op.source);
    in.str("mounts", op.target);
    in.u64("mounts", op.size);
    in.i32("mounts", op.fd);
    in.u32("mounts", op.perms);
  }
  if (!in.str("chdir", out.chdir) || !in.i32("seccompFd", out.seccompFd) || !in.count("argv", 4, count)) return false;
  out.argv.resize(count);
  for (auto& arg : out.argv) in.str("argv", arg);
  if (!error.empty()) return false;
  if (in.left() != 0)
    return fail(error, "the sandbox layout has " + std::to_string(in.left()) + " bytes after its end");
  return check(out, error);
}

} // namespace surge::engine
