// The sandboxes of direct starts and pre-started stems, and the compiled Python shim.
#include "engine/instance_sandbox.h"

#include "common/files.h"
#include "engine/sandbox_constants.h"

#include <absl/strings/str_cat.h>
#include <spdlog/spdlog.h>

#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

namespace surge::engine {
namespace {

// Where the runtime shims, and the compiled Python shim, are bound in every sandbox.
using sandbox::kCompiledShimDir;
using sandbox::kShimDir;

// The argv of `runtime` inside the sandbox: the compiled Python shim when there is one.
absl::StatusOr<std::vector<std::string>> commandFor(common::Runtime runtime,
                                                    const std::filesystem::path& compiledShimDir) {
  if (runtime == common::Runtime::kPython3 && !compiledShimDir.empty()) {
    return std::vector<std::string>{sandbox::kPython, "-S", sandbox::kCompiledPythonShim};
  }
  return runtimeCommand(runtime);
}

// What every sandbox gets, pooled or not.
void fillSandbox(SandboxSpec& sandbox, uint32_t memoryMb, const SandboxEngineOptions& options,
                 const std::filesystem::path& compiledShimDir) {
  sandbox.readOnlyBinds.emplace_back(options.runtimeDir, kShimDir);
  if (!compiledShimDir.empty()) sandbox.readOnlyBinds.emplace_back(compiledShimDir, kCompiledShimDir);
  sandbox.memoryMb = memoryMb;
  sandbox.pidsMax = options.pidsMax;
  sandbox.env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  sandbox.env["HOME"] = "/tmp";
  sandbox.env["LANG"] = "C.UTF-8";
  sandbox.env["PYTHONDONTWRITEBYTECODE"] = "1";
}

} // namespace

absl::StatusOr<std::vector<std::string>> runtimeCommand(common::Runtime runtime) {
  switch (runtime) {
  case common::Runtime::kPython3:
    // Debian's interpreter, never a shim on PATH; -S skips site-packages: faster, and nothing of the host.
    return std::vector<std::string>{sandbox::kPython, "-S", sandbox::kPythonShim};
  case common::Runtime::kNodejs: return std::vector<std::string>{sandbox::kNode, sandbox::kNodeShim};
  case common::Runtime::kCustom:
    // The function's own executable speaks the runtime protocol on fd 3.
    return std::vector<std::string>{sandbox::kCustomBootstrap};
  }
  return absl::InvalidArgumentError("unknown runtime");
}

// Python never caches a script's bytecode, and PYTHONDONTWRITEBYTECODE is set anyway, so without
// this every start compiles the shim (3-10 ms of CPU here).
std::filesystem::path compilePythonShim(const SandboxEngineOptions& options) {
  namespace fs = std::filesystem;
  if (options.sandboxesDir.empty()) return {};
  const fs::path source = options.runtimeDir / "python" / "surge_runtime.py";
  const fs::path dir = options.sandboxesDir / "runtime-compiled";
  const fs::path target = dir / "python" / "surge_runtime.pyc";
  std::error_code ec;
  fs::remove(target, ec);
  fs::create_directories(target.parent_path(), ec);
  if (ec || !fs::is_regular_file(source, ec)) return {};
  for (const fs::path& folder : {options.sandboxesDir, dir, target.parent_path()}) {
    fs::permissions(folder, fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add, ec);
  }
  // Compiled under the name the shim has inside the sandbox, so its tracebacks read the same.
  const std::string insideName = sandbox::kPythonShim;
  std::vector<std::string> args = {
      sandbox::kPython, // the sandboxes' interpreter is the host's
      "-I",
      "-S",
      "-c",
      "import py_compile, sys\n"
      "py_compile.compile(sys.argv[1], cfile=sys.argv[2], dfile=sys.argv[3], doraise=True)",
      source.string(),
      target.string(),
      insideName};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char* noEnv[] = {nullptr};
  pid_t pid = -1;
  if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), noEnv) != 0) return {};
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    spdlog::warn("cannot compile the Python shim {}; instances run it from source", source.string());
    return {};
  }
  fs::permissions(target,
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read, ec);
  return ec ? fs::path() : dir;
}

absl::StatusOr<SandboxSpec> directSandbox(InstanceId id, const InstanceSpec& spec, const SandboxEngineOptions& options,
                                          const std::filesystem::path& compiledShimDir) {
  auto argv = commandFor(spec.runtime, compiledShimDir);
  if (!argv.ok()) return argv.status();
  SandboxSpec sandbox;
  sandbox.name = absl::StrCat("i-", id);
  sandbox.uid = sandbox.gid = options.uidBase + static_cast<uid_t>(spec.functionId % options.uidRange);
  sandbox.codeDir = spec.codeDir;
  sandbox.argv = *std::move(argv);
  sandbox.env = spec.environment;
  fillSandbox(sandbox, spec.memoryMb, options, compiledShimDir); // the platform's variables win over the function's
  // Python forks from the zygote (bubblewrap when it cannot serve); onLaunched() says which.
  sandbox.network = spec.networkAccess;
  sandbox.viaZygote = spec.runtime == common::Runtime::kPython3 && !spec.networkAccess;
  return sandbox;
}

SandboxSpec stemSandbox(InstanceId id, const StemKey& key, uint32_t serial, const SandboxEngineOptions& options,
                        const std::filesystem::path& compiledShimDir) {
  SandboxSpec sandbox;
  sandbox.name = absl::StrCat("i-", id);
  // A uid of its own: the stem serves one function for life, so uids stay distinct per function.
  sandbox.uid = sandbox.gid = options.uidBase + options.uidRange + static_cast<uid_t>(serial % options.uidRange);
  sandbox.codeDir = options.sandboxesDir / sandbox.name / "code";
  // Loading in the background: it must not slow down the instances that serve requests.
  sandbox.background = true;
  sandbox.argv = *commandFor(key.runtime, compiledShimDir);
  fillSandbox(sandbox, key.memoryMb, options, compiledShimDir);
  sandbox.network = key.network;
  sandbox.viaZygote = key.runtime == common::Runtime::kPython3 && !key.network;
  return sandbox;
}

std::filesystem::path stemSandboxDir(const SandboxSpec& sandbox) { return sandbox.codeDir.parent_path(); }

absl::Status makeSandboxDir(const std::filesystem::path& sandboxDir, const std::filesystem::path& codeDir) {
  if (sandboxDir.empty()) return absl::OkStatus();
  constexpr auto kMode = std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                         std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                         std::filesystem::perms::others_exec;
  if (auto status = common::makeNewDirectory(sandboxDir, kMode); !status.ok()) return status;
  return common::makeNewDirectory(codeDir, kMode);
}

void removeSandboxDir(const std::filesystem::path& sandboxDir) {
  if (sandboxDir.empty()) return;
  // Only links and folders of ours: the code itself stays.
  common::removeTreeOrWarn(sandboxDir);
}

} // namespace surge::engine
