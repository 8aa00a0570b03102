// The sandbox's one description, without a sandbox: the launcher's layouts as bubblewrap's exact
// arguments (pinned to what the launcher exec'd before the layout existed, captured with strace),
// and the zygote's encoded form: round trips, and every kind of bad input refused with its reason.
#include "engine/sandbox_layout.h"

#include "engine/sandbox_constants.h"
#include "engine/sandbox_launcher.h"
#include "engine/sandbox_layout_builder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace surge::engine {
namespace {

using Args = std::vector<std::string>;

MountOp op(MountOp::Kind kind, std::string source, std::string target) {
  MountOp result;
  result.kind = kind;
  result.source = std::move(source);
  result.target = std::move(target);
  return result;
}

// The host part as this Debian 12 machine has it (merged /usr), injected so that the expected
// arguments do not depend on the machine the test runs on.
SandboxLayoutBuilder debianBuilder() {
  return SandboxLayoutBuilder(
      {op(MountOp::Kind::kRoBind, "/usr", "/usr"), op(MountOp::Kind::kSymlink, "usr/bin", "/bin"),
       op(MountOp::Kind::kSymlink, "usr/sbin", "/sbin"), op(MountOp::Kind::kSymlink, "usr/lib", "/lib"),
       op(MountOp::Kind::kSymlink, "usr/lib32", "/lib32"), op(MountOp::Kind::kSymlink, "usr/lib64", "/lib64"),
       op(MountOp::Kind::kRoBind, "/etc/ld.so.cache", "/etc/ld.so.cache"),
       op(MountOp::Kind::kRoBind, "/etc/alternatives", "/etc/alternatives"),
       op(MountOp::Kind::kSymlink, "/usr/share/zoneinfo/Etc/UTC", "/etc/localtime")},
      {op(MountOp::Kind::kRoBind, "/etc/ssl/certs", "/etc/ssl/certs")});
}

const Args kHostArgs = {"--ro-bind",
                        "/usr",
                        "/usr",
                        "--symlink",
                        "usr/bin",
                        "/bin",
                        "--symlink",
                        "usr/sbin",
                        "/sbin",
                        "--symlink",
                        "usr/lib",
                        "/lib",
                        "--symlink",
                        "usr/lib32",
                        "/lib32",
                        "--symlink",
                        "usr/lib64",
                        "/lib64",
                        "--ro-bind",
                        "/etc/ld.so.cache",
                        "/etc/ld.so.cache",
                        "--ro-bind",
                        "/etc/alternatives",
                        "/etc/alternatives",
                        "--symlink",
                        "/usr/share/zoneinfo/Etc/UTC",
                        "/etc/localtime"};

const std::vector<std::string> kCgroupFiles = {"/sys/fs/cgroup/memory/surge/i-1/tasks",
                                               "/sys/fs/cgroup/pids/surge/i-1/tasks"};

SandboxSpec plainSpec() {
  SandboxSpec spec;
  spec.name = "i-1";
  spec.uid = 100001;
  spec.gid = 100002;
  spec.codeDir = "/srv/surge/code";
  spec.memoryMb = 128;
  spec.argv = {"/usr/bin/python3", "-S", "-c", "print('hi')"};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  return spec;
}

Args concat(std::initializer_list<Args> parts) {
  Args all;
  for (const Args& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// What the launcher exec'd for plainSpec() before the layout existed.
Args plainArgs() {
  return concat({{"/usr/bin/bwrap", "--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-net",
                  "--unshare-ipc", "--unshare-uts", "--unshare-cgroup", "--die-with-parent", "--new-session",
                  "--hostname", "surge", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin"},
                 kHostArgs,
                 {"--perms",
                  "0444",
                  "--ro-bind-data",
                  "5",
                  "/etc/passwd",
                  "--perms",
                  "0444",
                  "--ro-bind-data",
                  "6",
                  "/etc/group",
                  "--perms",
                  "0444",
                  "--ro-bind-data",
                  "7",
                  "/etc/hosts",
                  "--perms",
                  "0444",
                  "--ro-bind-data",
                  "8",
                  "/etc/nsswitch.conf",
                  "--proc",
                  "/proc",
                  "--dev",
                  "/dev",
                  "--size",
                  "134217728",
                  "--tmpfs",
                  "/dev/shm",
                  "--remount-ro",
                  "/dev",
                  "--size",
                  "134217728",
                  "--tmpfs",
                  "/tmp",
                  "--ro-bind",
                  "/srv/surge/code",
                  "/code",
                  "--remount-ro",
                  "/",
                  "--chdir",
                  "/code",
                  "--seccomp",
                  "4",
                  "--",
                  "/usr/bin/python3",
                  "-S",
                  "-c",
                  "print('hi')"}});
}

TEST(SandboxLayoutBuilder, APlainSandboxGivesBubblewrapTheArgumentsItAlwaysHad) {
  const SandboxLayout layout = debianBuilder().build(plainSpec(), kCgroupFiles);
  EXPECT_EQ(toBwrapArgs(layout, "/usr/bin/bwrap"), plainArgs());
  EXPECT_EQ(layout.uid, 100001u);
  EXPECT_EQ(layout.gid, 100002u);
  EXPECT_EQ(layout.cgroupFiles, kCgroupFiles);
  EXPECT_EQ(layout.fds, (std::vector<int>{0, 1, 2, 4, 5, 6, 7, 8})) << "no protocol descriptor, no resolv.conf";
}

TEST(SandboxLayoutBuilder, BackgroundZygoteAndProtocolDescriptorDoNotChangeTheArguments) {
  SandboxSpec spec = plainSpec();
  spec.background = true; // a pre-started sandbox of the engine's pool
  spec.viaZygote = true;
  spec.protocolFd = 17;
  spec.pidsMax = 64;
  spec.cpuCores = 0.5;
  const SandboxLayout layout = debianBuilder().build(spec, kCgroupFiles);
  EXPECT_EQ(toBwrapArgs(layout, "/usr/bin/bwrap"), plainArgs());
  EXPECT_EQ(layout.fds, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(SandboxLayoutBuilder, ANetworkSandboxJoinsItsNamespaceAndGetsResolvConfAndTheCertificates) {
  // As the engine starts a Python function with network on.
  SandboxSpec spec = plainSpec();
  spec.network = true;
  spec.codeDir = "/var/lib/surge/sandboxes/i-10000000001/code";
  spec.readOnlyBinds = {{"/usr/lib/surge/runtimes", "/runtime"}};
  spec.env = {{"HOME", "/tmp"},
              {"LANG", "C.UTF-8"},
              {"PATH", "/usr/local/bin:/usr/bin:/bin"},
              {"PYTHONDONTWRITEBYTECODE", "1"}};
  spec.argv = {"/usr/bin/python3", "-S", "/runtime/python/surge_runtime.py"};
  const SandboxLayout layout = debianBuilder().build(spec, kCgroupFiles);
  EXPECT_EQ(toBwrapArgs(layout, "/usr/bin/bwrap"), concat({{"/usr/bin/bwrap",
                                                            "--unshare-user",
                                                            "--disable-userns",
                                                            "--unshare-pid",
                                                            "--unshare-ipc",
                                                            "--unshare-uts",
                                                            "--unshare-cgroup",
                                                            "--die-with-parent",
                                                            "--new-session",
                                                            "--hostname",
                                                            "surge",
                                                            "--clearenv",
                                                            "--setenv",
                                                            "HOME",
                                                            "/tmp",
                                                            "--setenv",
                                                            "LANG",
                                                            "C.UTF-8",
                                                            "--setenv",
                                                            "PATH",
                                                            "/usr/local/bin:/usr/bin:/bin",
                                                            "--setenv",
                                                            "PYTHONDONTWRITEBYTECODE",
                                                            "1"},
                                                           kHostArgs,
                                                           {"--perms",
                                                            "0444",
                                                            "--ro-bind-data",
                                                            "5",
                                                            "/etc/passwd",
                                                            "--perms",
                                                            "0444",
                                                            "--ro-bind-data",
                                                            "6",
                                                            "/etc/group",
                                                            "--perms",
                                                            "0444",
                                                            "--ro-bind-data",
                                                            "7",
                                                            "/etc/hosts",
                                                            "--perms",
                                                            "0444",
                                                            "--ro-bind-data",
                                                            "8",
                                                            "/etc/nsswitch.conf",
                                                            "--perms",
                                                            "0444",
                                                            "--ro-bind-data",
                                                            "9",
                                                            "/etc/resolv.conf",
                                                            "--ro-bind",
                                                            "/etc/ssl/certs",
                                                            "/etc/ssl/certs",
                                                            "--proc",
                                                            "/proc",
                                                            "--dev",
                                                            "/dev",
                                                            "--size",
                                                            "134217728",
                                                            "--tmpfs",
                                                            "/dev/shm",
                                                            "--remount-ro",
                                                            "/dev",
                                                            "--size",
                                                            "134217728",
                                                            "--tmpfs",
                                                            "/tmp",
                                                            "--ro-bind",
                                                            "/var/lib/surge/sandboxes/i-10000000001/code",
                                                            "/code",
                                                            "--ro-bind",
                                                            "/usr/lib/surge/runtimes",
                                                            "/runtime",
                                                            "--remount-ro",
                                                            "/",
                                                            "--chdir",
                                                            "/code",
                                                            "--seccomp",
                                                            "4",
                                                            "--",
                                                            "/usr/bin/python3",
                                                            "-S",
                                                            "/runtime/python/surge_runtime.py"}}));
  EXPECT_FALSE(layout.ownNetwork);
  EXPECT_EQ(layout.fds, (std::vector<int>{0, 1, 2, 4, 5, 6, 7, 8, 9}));
}

TEST(SandboxLayoutBuilder, ExtraBindsFollowTheCodeInTheirOrderAndTmpfsIsCappedAt512MiB) {
  SandboxSpec spec = plainSpec();
  spec.memoryMb = 2048;
  spec.readOnlyBinds = {{"/opt/shims", "/runtime"}, {"/opt/compiled", "/runtime-compiled"}};
  const Args args = toBwrapArgs(debianBuilder().build(spec, kCgroupFiles), "/usr/bin/bwrap");
  const Args tail = {"--size",
                     "536870912",
                     "--tmpfs",
                     "/dev/shm",
                     "--remount-ro",
                     "/dev",
                     "--size",
                     "536870912",
                     "--tmpfs",
                     "/tmp",
                     "--ro-bind",
                     "/srv/surge/code",
                     "/code",
                     "--ro-bind",
                     "/opt/shims",
                     "/runtime",
                     "--ro-bind",
                     "/opt/compiled",
                     "/runtime-compiled",
                     "--remount-ro",
                     "/",
                     "--chdir",
                     "/code",
                     "--seccomp",
                     "4",
                     "--",
                     "/usr/bin/python3",
                     "-S",
                     "-c",
                     "print('hi')"};
  ASSERT_GE(args.size(), tail.size());
  EXPECT_EQ(Args(args.end() - static_cast<std::ptrdiff_t>(tail.size()), args.end()), tail);
}

TEST(SandboxLayoutBuilder, TheHostPartStartsWithUsrAndLinksOnlyIntoIt) {
  const SandboxLayout layout = SandboxLayoutBuilder::forHost().build(plainSpec(), {});
  ASSERT_FALSE(layout.mounts.empty());
  EXPECT_EQ(layout.mounts.front(), op(MountOp::Kind::kRoBind, "/usr", "/usr"));
  for (const MountOp& mount : layout.mounts) {
    if (mount.kind == MountOp::Kind::kSymlink && mount.target != "/etc/localtime") {
      EXPECT_EQ(mount.source.rfind("usr/", 0), 0u) << mount.target << " -> " << mount.source;
    }
  }
}

TEST(ToBwrapArgs, ModesAreFourOctalDigitsAndATmpfsWithoutSizeHasNoSizeOption) {
  SandboxLayout layout;
  layout.hostname.clear();
  MountOp file = op(MountOp::Kind::kData, "", "/etc/motd");
  file.fd = 6;
  file.perms = 0600;
  layout.mounts = {file, op(MountOp::Kind::kTmpfs, "", "/scratch")};
  layout.argv = {"/bin/true"};
  EXPECT_EQ(toBwrapArgs(layout, "bwrap"), (Args{"bwrap",
                                                "--unshare-user",
                                                "--disable-userns",
                                                "--unshare-pid",
                                                "--unshare-net",
                                                "--unshare-ipc",
                                                "--unshare-uts",
                                                "--unshare-cgroup",
                                                "--die-with-parent",
                                                "--new-session",
                                                "--clearenv",
                                                "--perms",
                                                "0600",
                                                "--ro-bind-data",
                                                "6",
                                                "/etc/motd",
                                                "--tmpfs",
                                                "/scratch",
                                                "--chdir",
                                                "/",
                                                "--",
                                                "/bin/true"}));
}

// ---- the encoded form ----

// A layout the zygote accepts, with every kind of mount step and every field set.
SandboxLayout fullLayout() {
  SandboxLayout layout = debianBuilder().build(plainSpec(), kCgroupFiles);
  layout.fds = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  layout.env.emplace_back("EMPTY", "");
  layout.env.emplace_back("BINARY", std::string("\x01\xff\x7f", 3));
  MountOp scratch = op(MountOp::Kind::kTmpfs, "", "/scratch");
  layout.mounts.push_back(scratch);
  layout.argv.push_back(""); // an empty argument is an argument
  return layout;
}

SandboxLayout decoded(const std::string& bytes, std::string& error) {
  SandboxLayout layout;
  if (!decode(bytes, layout, error)) return SandboxLayout{};
  return layout;
}

// decode()'s error for `layout` encoded, or "" when it is accepted.
std::string refusal(const SandboxLayout& layout) {
  std::string error;
  SandboxLayout out;
  decode(encode(layout), out, error);
  return error;
}

TEST(SandboxLayoutCodec, TheLaunchersLayoutsSurviveTheRoundTripExactly) {
  SandboxSpec network = plainSpec();
  network.network = true;
  network.readOnlyBinds = {{"/opt/shims", "/runtime"}};
  for (const SandboxLayout& layout :
       {debianBuilder().build(plainSpec(), kCgroupFiles), debianBuilder().build(network, kCgroupFiles), fullLayout()}) {
    std::string error;
    SandboxLayout out;
    ASSERT_TRUE(decode(encode(layout), out, error)) << error;
    EXPECT_EQ(error, "");
    EXPECT_EQ(out, layout);
  }
}

TEST(SandboxLayoutCodec, EveryTruncationIsRefusedAndSaysWhere) {
  const std::string bytes = encode(fullLayout());
  for (size_t size = 0; size < bytes.size(); ++size) {
    std::string error;
    SandboxLayout out;
    EXPECT_FALSE(decode(bytes.substr(0, size), out, error)) << size;
    EXPECT_FALSE(error.empty()) << size;
  }
  std::string error;
  decoded(bytes.substr(0, bytes.size() - 1), error);
  EXPECT_EQ(error, "the sandbox layout is truncated: it ends inside 'argv'");
  decoded(bytes.substr(0, 6), error);
  EXPECT_EQ(error, "the sandbox layout is truncated: it ends inside 'version'");
  decoded(bytes.substr(0, 2), error);
  EXPECT_EQ(error, "the request is not a sandbox layout");
  decoded(bytes + "x", error);
  EXPECT_EQ(error, "the sandbox layout has 1 bytes after its end");
}

TEST(SandboxLayoutCodec, OversizedInputAndHugeCountsAreRefusedBeforeAnythingIsAllocated) {
  std::string error;
  decoded(std::string(kMaxEncodedLayout + 1, 'S'), error);
  EXPECT_EQ(error, "the sandbox layout is 262145 bytes, more than the 262144 allowed");
  // The fds count claims 2^32 - 1 entries: more than the bytes left could hold.
  std::string bytes = encode(fullLayout());
  const size_t fdsCount = 4 + 4 + 4 + 4 + 1;
  bytes.replace(fdsCount, 4, "\xff\xff\xff\xff");
  decoded(bytes, error);
  EXPECT_EQ(error, "the sandbox layout is truncated: it ends inside 'fds'");
  // A string claiming more bytes than there are.
  bytes = encode(fullLayout());
  const size_t firstCgroupFile = fdsCount + 4 + 9 * 4 + 4;
  bytes.replace(firstCgroupFile, 4, std::string("\x00\x00\x10\x00", 4));
  decoded(bytes, error);
  EXPECT_EQ(error, "the sandbox layout is truncated: it ends inside 'cgroupFiles'");
}

TEST(SandboxLayoutCodec, AnotherVersionOrUnknownFlagsAreRefused) {
  std::string bytes = encode(fullLayout());
  bytes[4] = 2;
  std::string error;
  decoded(bytes, error);
  EXPECT_EQ(error, "sandbox layout version 2 is not supported (only 1)");
  bytes = encode(fullLayout());
  bytes[16] = 3;
  decoded(bytes, error);
  EXPECT_EQ(error, "the sandbox layout sets unknown flags 3");
}

TEST(SandboxLayoutCodec, IdsMustBeUnprivilegedAndNotNobody) {
  SandboxLayout layout = fullLayout();
  for (const uid_t bad : {0u, 9999u, 65534u, 0xffffffffu}) {
    layout.uid = bad;
    EXPECT_EQ(refusal(layout), "uid '" + std::to_string(bad) + "' must be a number >= 10000 and not 65534");
  }
  layout.uid = sandbox::kMinId;
  layout.gid = 65534;
  EXPECT_EQ(refusal(layout), "gid '65534' must be a number >= 10000 and not 65534");
  layout.gid = sandbox::kMinId;
  EXPECT_EQ(refusal(layout), "");
}

TEST(SandboxLayoutCodec, PathsMustBeAbsoluteWithoutDotDotOrNul) {
  const auto withMount = [](MountOp mount) {
    SandboxLayout layout = fullLayout();
    layout.mounts.push_back(std::move(mount));
    return refusal(layout);
  };
  EXPECT_EQ(withMount(op(MountOp::Kind::kRoBind, "/opt/x", "opt/x")),
            "ro-bind path 'opt/x' must be absolute, without '..'");
  EXPECT_EQ(withMount(op(MountOp::Kind::kRoBind, "/opt/x", "/code/../etc")),
            "ro-bind path '/code/../etc' must be absolute, without '..'");
  EXPECT_EQ(withMount(op(MountOp::Kind::kRoBind, "/srv/../etc/shadow", "/x")),
            "ro-bind path '/srv/../etc/shadow' must be absolute, without '..'");
  EXPECT_EQ(withMount(op(MountOp::Kind::kRoBind, "", "/x")), "ro-bind path '' must be absolute, without '..'");
  EXPECT_EQ(withMount(op(MountOp::Kind::kSymlink, "", "/x")), "symlink at '/x' needs a link text, without NUL");
  EXPECT_EQ(withMount(op(MountOp::Kind::kTmpfs, "", std::string("/tmp\0/x", 7))),
            "tmpfs path '" + std::string("/tmp\0/x", 7) + "' must be absolute, without '..'");
  EXPECT_EQ(withMount(op(MountOp::Kind::kProc, "", "")), "proc path '' must be absolute, without '..'");
  EXPECT_EQ(withMount(op(MountOp::Kind::kRemountRo, "", "/" + std::string(4096, 'a'))).substr(0, 18),
            "remount-ro path '/");

  SandboxLayout layout = fullLayout();
  layout.cgroupFiles.push_back("tasks");
  EXPECT_EQ(refusal(layout), "cgroup file 'tasks' must be an absolute path, without '..'");
  layout = fullLayout();
  layout.chdir = "code";
  EXPECT_EQ(refusal(layout), "chdir path 'code' must be absolute, without '..'");
  layout = fullLayout();
  layout.argv = {"python3", "-S"};
  EXPECT_EQ(refusal(layout), "the program must be an absolute path");
  layout.argv = {};
  EXPECT_EQ(refusal(layout), "the program must be an absolute path");
  layout.argv = {"/bin/echo", std::string("a\0b", 3)};
  EXPECT_EQ(refusal(layout), "the program's arguments must not contain NUL");
}

TEST(SandboxLayoutCodec, DescriptorsMustBeStdioAndMoreAscendingAndEveryOneNamedSent) {
  SandboxLayout layout = fullLayout();
  layout.fds = {0, 2, 4};
  EXPECT_EQ(refusal(layout), "descriptors 0, 1 and 2 are required");
  layout.fds = {0, 1, 2, 4, 4};
  EXPECT_EQ(refusal(layout), "descriptor 4 is out of place: the sandbox's descriptors are 0-9, ascending, each once");
  layout.fds = {0, 1, 2, 4, 10};
  EXPECT_EQ(refusal(layout), "descriptor 10 is out of place: the sandbox's descriptors are 0-9, ascending, each once");
  layout.fds = {-1, 0, 1, 2};
  EXPECT_EQ(refusal(layout), "descriptor -1 is out of place: the sandbox's descriptors are 0-9, ascending, each once");
  layout.fds = {0, 1, 2, 4};
  EXPECT_EQ(refusal(layout), "ro-bind-data descriptor '5' was not sent");
  layout = fullLayout();
  layout.seccompFd = -1;
  EXPECT_EQ(refusal(layout), "a sandbox without a seccomp program is refused");
  layout.seccompFd = 9;
  EXPECT_EQ(refusal(layout), "seccomp descriptor '9' was not sent");
}

TEST(SandboxLayoutCodec, UnknownStepsAndFieldsAStepDoesNotTakeAreRefused) {
  SandboxLayout layout = fullLayout();
  layout.mounts.push_back(op(static_cast<MountOp::Kind>(99), "", "/x"));
  EXPECT_EQ(refusal(layout), "unknown mount operation 99");
  layout = fullLayout();
  MountOp sized = op(MountOp::Kind::kProc, "", "/proc2");
  sized.size = 4096;
  layout.mounts.push_back(sized);
  EXPECT_EQ(refusal(layout), "proc at '/proc2' sets a field only other operations take");
  layout = fullLayout();
  layout.mounts.push_back(op(MountOp::Kind::kDev, "/host/dev", "/dev2"));
  EXPECT_EQ(refusal(layout), "dev at '/dev2' sets a field only other operations take");
  layout = fullLayout();
  MountOp file = op(MountOp::Kind::kData, "", "/etc/x");
  file.fd = 5;
  file.perms = 010000;
  layout.mounts.push_back(file);
  EXPECT_EQ(refusal(layout), "ro-bind-data mode '10000' is not a file mode (at most 7777)");
}

TEST(SandboxLayoutCodec, EnvironmentNamesMustBeNonEmptyWithoutEquals) {
  SandboxLayout layout = fullLayout();
  layout.env.emplace_back("A=B", "c");
  EXPECT_EQ(refusal(layout), "environment variable 'A=B' needs a name without '=' and a value, both without NUL");
  layout = fullLayout();
  layout.env.emplace_back("", "c");
  EXPECT_EQ(refusal(layout), "environment variable '' needs a name without '=' and a value, both without NUL");
  layout = fullLayout();
  layout.hostname = std::string(65, 'h');
  EXPECT_EQ(refusal(layout), "hostname '" + std::string(65, 'h') + "' must be at most 64 characters, without NUL");
}

} // namespace
} // namespace surge::engine
