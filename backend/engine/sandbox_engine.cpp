// SandboxEngine: starts instances through the SandboxLauncher and drives them over the runtime
// protocol. All instance state lives on one Asio event-loop thread; nothing in here locks.
#include "engine/sandbox_engine.h"

#include "common/absl_compat.h"
#include "common/files.h"
#include "common/mutex.h"
#include "engine/exit_classification.h"
#include "engine/frame_codec.h"
#include "engine/sandbox_constants.h"
#include "engine/sandbox_launcher.h"

#include <absl/strings/str_cat.h>
#include <asio.hpp>
#include <spdlog/spdlog.h>

#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <set>
#include <thread>

namespace surge::engine {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kStderrTailBytes = 4096;
constexpr auto kDrainGrace = std::chrono::seconds(10);
// Where the runtime shims, and the compiled Python shim, are bound in every sandbox.
using sandbox::kCompiledShimDir;
using sandbox::kShimDir;
// A start that took a pre-started sandbox has its replacement launched when it has answered its
// first request, or this long after READY if no request comes sooner.
constexpr auto kRefillDelay = std::chrono::milliseconds(20);
// Code of at most this many files and folders is linked into a pre-started sandbox on the loop.
constexpr int kInlineLinkEntries = 16;
// A pre-started runtime that has not said LOADED by then is killed.
constexpr auto kStemLoadTimeout = std::chrono::seconds(60);

std::string seconds(absl::Duration d) {
  const double s = absl::ToDoubleSeconds(d);
  return s == static_cast<int64_t>(s) ? absl::StrCat(static_cast<int64_t>(s)) : absl::StrCat(s);
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

struct SandboxEngine::Impl {
  struct Pending {
    InvokeCallback done;
    std::unique_ptr<asio::steady_timer> timer;
    std::string logs;
    bool logsTruncated = false;
    SteadyClock::time_point sent;
    std::shared_ptr<CancellationToken> cancellation;
    bool cancelled = false;
    absl::Duration limit; // the function's timeout, or less when the caller's deadline is nearer
  };

  // kStem: a pre-started sandbox in the pool, runtime loaded, waiting for a function's code.
  enum class State { kStem, kStarting, kReady, kDraining, kExiting };
  // Stems are kept per runtime, memory size and network: a network stem sits in a namespace
  // with outbound network, which a function without network must never get, and the reverse.
  struct StemKey {
    common::Runtime runtime;
    uint32_t memoryMb;
    bool network;
    auto operator<=>(const StemKey&) const = default;
  };
  static StemKey keyOf(const InstanceSpec& spec) { return {spec.runtime, spec.memoryMb, spec.networkAccess}; }

  struct Instance {
    InstanceId id = 0;
    InstanceSpec spec;
    SandboxSpec sandbox;
    SandboxProcess process;
    State state = State::kStarting;
    std::unique_ptr<asio::local::stream_protocol::socket> socket;
    std::unique_ptr<asio::posix::stream_descriptor> stdoutPipe, stderrPipe, pidfd;
    std::array<char, 65536> socketBuffer{}, stdoutBuffer{}, stderrBuffer{};
    FrameDecoder decoder;
    std::deque<std::string> writes;
    bool writing = false;
    std::map<std::string, Pending> inflight;
    std::string stderrTail;
    std::unique_ptr<asio::steady_timer> lifeTimer; // initializer timeout, or drain grace
    // Why the instance is being killed, for the requests it takes down with it.
    std::optional<FunctionError> killedFor;
    // Set when the platform, not the function, failed the start: reported as a platform fault.
    absl::Status platformStartFailure;
    // The runtime has said LOADED (any start, pooled or not): until then none of the function's
    // code has run, so with one of our own shims an exit before it is the platform's fault.
    bool saidLoaded = false;
    bool stopRequested = false;
    StartPath path = StartPath::kDirect;
    bool becameReady = false;
    // Taken from the pool: refill it once this start has served its first request, or
    // kRefillDelay after READY, or when it fails or exits, whichever comes first.
    bool refillWhenStarted = false;
    std::unique_ptr<asio::steady_timer> refillTimer;
    // Pooled sandboxes: their own folder, bound at /code, that receives the code by hard links.
    std::filesystem::path sandboxDir;
    // A stem whose runtime has said LOADED: it is in the pool (or was taken from it).
    bool loaded = false;
  };
  using InstancePtr = std::shared_ptr<Instance>;

  Impl(SandboxEngineOptions options, std::unique_ptr<SandboxLauncher> launcher, Executor executor,
       InstanceObserver& observer)
      : options(std::move(options)), launcher(std::move(launcher)), executor(std::move(executor)), observer(observer),
        nextId(this->options.firstInstanceId), work(asio::make_work_guard(io)), loop([this] { runLoop(); }) {
    // Before the first sandbox: nothing an earlier engine left (its folders, with another
    // function's code linked in) may be found by a new sandbox.
    if (!this->options.sandboxesDir.empty()) {
      if (auto status = common::clearDirectory(this->options.sandboxesDir); !status.ok()) {
        spdlog::error("cannot clear the sandboxes folder: {}", status.ToString());
      }
    }
    // The compiled shim first (off the loop), then the pool; starts before that use the source.
    asio::post(spawner, [this] {
      // The zygote's children are tied to the thread that starts it (their parent-death
      // signal), so the spawner thread, which launches every sandbox, starts it.
      this->launcher->warmUp();
      auto compiled = compilePythonShim();
      asio::post(io, [this, compiled = std::move(compiled)] {
        compiledShimDir = compiled;
        for (uint32_t memoryMb : this->options.poolMemoryMb) {
          // Without network: stems with network are kept only for the kinds that stored
          // functions use (see setNetworkKinds()).
          refill({common::Runtime::kPython3, memoryMb, false});
          refill({common::Runtime::kNodejs, memoryMb, false});
        }
      });
    });
  }

  // Compiles the Python shim once, with the sandboxes' own interpreter, into
  // <sandboxesDir>/runtime-compiled/python/surge_runtime.pyc, and returns that folder's parent
  // (to bind at kCompiledShimDir), or an empty path: then instances run the source. Python never
  // caches a script's bytecode, and PYTHONDONTWRITEBYTECODE is set anyway, so without this every
  // start compiles the shim (3-10 ms of CPU here).
  std::filesystem::path compilePythonShim() const {
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
    fs::permissions(
        target, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read, ec);
    return ec ? fs::path() : dir;
  }

  // The argv of `runtime` inside the sandbox: the compiled Python shim when there is one.
  absl::StatusOr<std::vector<std::string>> commandFor(common::Runtime runtime) const {
    if (runtime == common::Runtime::kPython3 && !compiledShimDir.empty()) {
      return std::vector<std::string>{sandbox::kPython, "-S", sandbox::kCompiledPythonShim};
    }
    return runtimeCommand(runtime);
  }

  ~Impl() {
    // Stop the loop first: no handler runs after this, so what is left can be cleaned up here,
    // synchronously. Launches and clean-ups already queued on the spawner and the file thread
    // still finish, but what they hand back goes through the stopped loop and is dropped: from
    // here on nothing reaches the caller's Executor (see deliver()).
    work.reset();
    io.stop();
    loop.join();
    spawner.join();
    files.join();
    auto reap = [this](SandboxProcess& process) {
      if (process.pid > 0) {
        ::kill(process.pid, SIGKILL);
        ::waitpid(process.pid, nullptr, 0);
      }
      launcher->destroy(process);
    };
    for (auto& [id, instance] : instances) {
      reap(instance->process);
      removeSandboxDir(instance->sandboxDir);
    }
    // Sandboxes whose launch finished after the loop stopped never reached onLaunched().
    common::MutexLock lock(unclaimedMu); // uncontended: both threads have stopped
    for (auto& [id, process] : unclaimed) reap(process);
  }

  // Runs the loop. With a spin, after each burst of work the thread keeps polling for
  // `loopSpin` before it sleeps, as long as few requests are in flight: the reply to a request
  // just written (or the next request of a caller that just got its reply) usually comes within
  // that, and a sleeping thread wakes slowly on these VMs (tens of microseconds a wake-up). With
  // more requests in flight the loop has work anyway, and spinning would take the CPU the
  // instances need. sched_yield() lets any other thread ready on this CPU go first.
  void runLoop() {
    if (options.loopSpin <= std::chrono::microseconds::zero()) {
      io.run();
      return;
    }
    auto lastWork = std::chrono::steady_clock::now();
    while (!io.stopped()) {
      if (io.poll() > 0) {
        lastWork = std::chrono::steady_clock::now();
      } else if (requestsInFlight > options.spinMaxInFlight ||
                 std::chrono::steady_clock::now() - lastWork >= options.loopSpin) {
        io.run_one(); // sleeps until there is work, or the loop stops
        lastWork = std::chrono::steady_clock::now();
      } else {
        ::sched_yield();
      }
    }
  }

  // ---- on the caller's side ----
  // Through the caller's executor; without one, as a task of its own on this loop (never inline).
  // Called on the loop only, so that once the destructor has stopped the loop nothing more
  // reaches the executor. A task must not refer to the engine: the executor may run it after
  // the engine is gone, so it holds the callback or the observer, which are the caller's.
  void deliver(std::function<void()> task) {
    if (executor) return executor(std::move(task));
    asio::post(io, std::move(task));
  }
  void complete(InvokeCallback done, InvokeOutcome result) {
    deliver([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  }
  void notifyStarted(InstanceId id, StartOutcome outcome) {
    deliver([&observer = observer, id, outcome = std::move(outcome)] { observer.onStarted(id, outcome); });
  }
  void notifyExit(InstanceId id, InstanceExit exit) {
    deliver([&observer = observer, id, exit = std::move(exit)] { observer.onExit(id, exit); });
  }

  // ---- start ----
  void start(InstanceId id, const InstanceSpec& spec) {
    if (takeStem(id, spec)) return;
    startDirect(id, spec);
    // A memory size asked for once is kept warm from now on (launched after this start).
    refill(keyOf(spec));
  }

  void refillAfterStart(const InstancePtr& instance) {
    if (!instance->refillWhenStarted) return;
    instance->refillWhenStarted = false;
    if (instance->refillTimer) instance->refillTimer->cancel();
    refill(keyOf(instance->spec));
  }

  void startDirect(InstanceId id, const InstanceSpec& spec) {
    auto instance = std::make_shared<Instance>();
    instance->id = id;
    instance->spec = spec;
    instances[id] = instance;
    auto argv = commandFor(spec.runtime);
    if (!argv.ok()) return failStart(instance, argv.status());
    SandboxSpec& sandbox = instance->sandbox;
    sandbox.name = absl::StrCat("i-", id);
    sandbox.uid = sandbox.gid = options.uidBase + static_cast<uid_t>(spec.functionId % options.uidRange);
    sandbox.codeDir = spec.codeDir;
    sandbox.argv = *argv;
    sandbox.env = spec.environment;
    fillSandbox(sandbox, spec.memoryMb); // the platform's variables win over the function's
    // Python forks from the zygote (bubblewrap when it cannot serve); onLaunched() says which.
    sandbox.network = spec.networkAccess;
    sandbox.viaZygote = spec.runtime == common::Runtime::kPython3 && !spec.networkAccess;
    launchSandbox(instance);
  }

  // What every sandbox gets, pooled or not.
  void fillSandbox(SandboxSpec& sandbox, uint32_t memoryMb) const {
    sandbox.readOnlyBinds.emplace_back(options.runtimeDir, kShimDir);
    if (!compiledShimDir.empty()) sandbox.readOnlyBinds.emplace_back(compiledShimDir, kCompiledShimDir);
    sandbox.memoryMb = memoryMb;
    sandbox.pidsMax = options.pidsMax;
    sandbox.env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
    sandbox.env["HOME"] = "/tmp";
    sandbox.env["LANG"] = "C.UTF-8";
    sandbox.env["PYTHONDONTWRITEBYTECODE"] = "1";
  }

  // fork/exec off the loop; the result comes back to the loop.
  void launchSandbox(const InstancePtr& instance) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return failStart(instance, absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno))));
    }
    instance->socket =
        std::make_unique<asio::local::stream_protocol::socket>(io, asio::local::stream_protocol(), fds[0]);
    instance->sandbox.protocolFd = fds[1];
    asio::post(spawner, [this, instance, childFd = fds[1]] {
      absl::StatusOr<SandboxProcess> process = absl::InternalError("not launched");
      // A pooled sandbox binds a folder it has just created empty, and nothing else: never one
      // that something (an earlier run, another sandbox) filled.
      if (auto created = makeSandboxDir(*instance); !created.ok()) {
        process = created;
      } else {
        process = launcher->launch(instance->sandbox);
      }
      ::close(childFd);
      if (process.ok()) {
        common::MutexLock lock(unclaimedMu);
        unclaimed[instance->id] = *process;
      }
      asio::post(
          io, [this, instance, process = std::move(process)]() mutable { onLaunched(instance, std::move(process)); });
    });
  }

  // ---- the pool of pre-started sandboxes ----
  // How many stems to keep for `runtime` at each memory size.
  int poolSizeFor(common::Runtime runtime) const {
    if (options.sandboxesDir.empty() || runtime == common::Runtime::kCustom) return 0;
    auto it = options.poolSizes.find(runtime);
    return std::max(0, it == options.poolSizes.end() ? options.poolSize : it->second);
  }

  // Keeps poolSizeFor(runtime) stems for `key`, launching what is missing.
  void refill(const StemKey& key) {
    const int size = poolSizeFor(key.runtime);
    if (size == 0 || !wanted(key)) return;
    auto& ready = stems[key];
    while (static_cast<int>(ready.size()) + launchingStems[key] < size) {
      ++launchingStems[key];
      launchStem(key);
    }
  }

  // Network-on stems only for the kinds that stored functions use: each one holds a network
  // namespace and a helper process.
  bool wanted(const StemKey& key) const {
    return !key.network || networkKinds.contains(NetworkSandboxKind{key.runtime, key.memoryMb});
  }

  void setNetworkKinds(std::set<NetworkSandboxKind> kinds) {
    networkKinds = std::move(kinds);
    for (auto& [key, ready] : stems) {
      if (wanted(key)) continue;
      for (const InstancePtr& stem : ready) retire(stem);
      ready.clear();
      updateStemsReady(key);
    }
    // Stems still loading are retired when they say LOADED (see onFrame).
    for (const NetworkSandboxKind& kind : networkKinds) refill({kind.runtime, kind.memoryMb, true});
  }

  // Kills a loaded stem nobody wants any more. It stays kStem until its exit, which is then
  // expected, not a warning, and reported to nobody.
  void retire(const InstancePtr& stem) {
    stem->stopRequested = true;
    if (stem->process.pid > 0) ::kill(stem->process.pid, SIGKILL);
  }

  void launchStem(const StemKey& key) {
    auto instance = std::make_shared<Instance>();
    instance->id = nextId++;
    instance->state = State::kStem;
    instance->path = StartPath::kStem;
    instance->spec.runtime = key.runtime;
    instance->spec.memoryMb = key.memoryMb;
    instance->spec.networkAccess = key.network;
    instances[instance->id] = instance;
    SandboxSpec& sandbox = instance->sandbox;
    sandbox.name = absl::StrCat("i-", instance->id);
    // A uid of its own: the stem serves one function for life, so uids stay distinct per function.
    sandbox.uid = sandbox.gid =
        options.uidBase + options.uidRange + static_cast<uid_t>(stemSerial++ % options.uidRange);
    instance->sandboxDir = options.sandboxesDir / sandbox.name;
    sandbox.codeDir = instance->sandboxDir / "code";
    // Loading in the background: it must not slow down the instances that serve requests.
    sandbox.background = true;
    sandbox.argv = *commandFor(key.runtime);
    fillSandbox(sandbox, key.memoryMb);
    sandbox.network = key.network;
    sandbox.viaZygote = key.runtime == common::Runtime::kPython3 && !key.network;
    launchSandbox(instance);
  }

  // Gives `spec` a stem from the pool, if one is ready: the code is hard-linked into the stem's
  // /code folder and INIT follows. False when the pool has none (a direct start follows).
  bool takeStem(InstanceId id, const InstanceSpec& spec) {
    const StemKey key = keyOf(spec);
    auto it = stems.find(key);
    if (it == stems.end() || it->second.empty()) return false;
    InstancePtr stem = it->second.front();
    it->second.pop_front();
    updateStemsReady(key);
    // The replacement is launched once this start is over (see Instance::refillWhenStarted):
    // launching it means forking this process, which stalls its other threads' page faults, and
    // starting an interpreter, which competes for the CPU with the import and the first request.
    stem->refillWhenStarted = true;
    instances.erase(stem->id);
    stem->id = id;
    stem->spec = spec;
    stem->state = State::kStarting;
    instances[id] = stem;
    // From now on it serves a start: the normal CPU weight (one cgroup write, tens of µs).
    if (auto status = launcher->foreground(stem->process); !status.ok()) {
      spdlog::warn("instance {}: cannot give it the normal CPU weight: {}", id, status.ToString());
    }
    // A small tree is linked right here: tens of microseconds, against two thread hops of
    // 0.05-1 ms each (more on a busy machine) to have the file thread do it. A larger one goes
    // to the file thread, so that the loop never walks a big tree.
    if (fewEntries(spec.codeDir, kInlineLinkEntries)) {
      onLinked(stem, linkTree(spec.codeDir, stem->sandbox.codeDir));
      return true;
    }
    asio::post(files, [this, stem, source = spec.codeDir, target = stem->sandbox.codeDir] {
      // Moved, not copied: the loop gets the only reference to the status's message.
      asio::post(io, [this, stem, linked = linkTree(source, target)] { onLinked(stem, linked); });
    });
    return true;
  }

  void onLinked(const InstancePtr& stem, const absl::Status& linked) {
    if (stem->state != State::kStarting) return; // killed meanwhile
    if (!linked.ok()) {
      stem->platformStartFailure =
          absl::InternalError(absl::StrCat("cannot link the function's code into the sandbox: ", linked.message()));
      return kill(stem);
    }
    sendInit(stem);
  }

  // Whether the tree below `dir` has at most `limit` entries (false if it cannot be read).
  static bool fewEntries(const std::filesystem::path& dir, int limit) {
    namespace fs = std::filesystem;
    std::error_code ec;
    int count = 0;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (++count > limit) return false;
    }
    return !ec;
  }

  // Mirrors `source` into `target` with hard links (copies when they are on different file
  // systems): instant, and the files stay the read-only originals.
  static absl::Status linkTree(const std::filesystem::path& source, const std::filesystem::path& target) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(source, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      const fs::path destination = target / fs::relative(it->path(), source);
      if (it->is_directory()) {
        fs::create_directory(destination, ec);
      } else if (::link(it->path().c_str(), destination.c_str()) != 0) {
        if (errno != EXDEV)
          return absl::InternalError(absl::StrCat("cannot link ", it->path().string(), ": ", std::strerror(errno)));
        fs::copy_file(it->path(), destination, ec);
      }
      if (ec) break;
    }
    if (ec)
      return absl::InternalError(absl::StrCat("cannot prepare the code of ", source.string(), ": ", ec.message()));
    return absl::OkStatus();
  }

  void updateStemsReady(const StemKey& key) {
    {
      common::MutexLock lock(stemsReadyMu);
      stemsReadyCounts[key] = stems[key].size();
    }
    stemsReadyChanged.notifyAll();
  }

  void onLaunched(const InstancePtr& instance, absl::StatusOr<SandboxProcess> process) {
    {
      common::MutexLock lock(unclaimedMu);
      unclaimed.erase(instance->id);
    }
    if (!process.ok()) return failStart(instance, process.status());
    instance->process = *process;
    if (process->zygote && instance->path == StartPath::kDirect) instance->path = StartPath::kZygote;
    instance->stdoutPipe = std::make_unique<asio::posix::stream_descriptor>(io, process->stdoutFd);
    instance->stderrPipe = std::make_unique<asio::posix::stream_descriptor>(io, process->stderrFd);
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, process->pid, 0));
    if (pidfd < 0) {
      ::kill(process->pid, SIGKILL);
      return failStart(instance, absl::InternalError(absl::StrCat("pidfd_open: ", std::strerror(errno))));
    }
    instance->pidfd = std::make_unique<asio::posix::stream_descriptor>(io, pidfd);
    instance->pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                                [this, instance](const asio::error_code&) { onProcessExit(instance); });
    readSocket(instance);
    readPipe(instance, true);
    readPipe(instance, false);
    // Stopped while it was being launched: kill() found no process then. Its exit reports it.
    if (instance->state == State::kExiting) {
      ::kill(instance->process.pid, SIGKILL);
      return;
    }
    if (instance->state == State::kStem) {
      // Not in the pool before its runtime has loaded and says so (LOADED): a stem taken earlier
      // would make the start wait for the interpreter after all.
      instance->lifeTimer = std::make_unique<asio::steady_timer>(io, kStemLoadTimeout);
      instance->lifeTimer->async_wait([instance](const asio::error_code& ec) {
        if (ec || instance->state != State::kStem || instance->loaded) return;
        spdlog::warn("a pre-started sandbox did not load its runtime within {} s", kStemLoadTimeout.count());
        // Not kill(): it stays a stem, so that its exit is not reported as a failed start.
        if (instance->process.pid > 0) ::kill(instance->process.pid, SIGKILL);
      });
      return;
    }
    sendInit(instance);
  }

  // Hands the instance its function: INIT, then READY within the initializer's timeout.
  void sendInit(const InstancePtr& instance) {
    const InstanceSpec& spec = instance->spec;
    Frame init{"INIT", "-", {}, ""};
    auto line = [&](std::string_view key, std::string_view value) {
      absl::StrAppend(&init.body, common::toAbsl(key), "=", common::toAbsl(value), "\n");
    };
    line("handler", spec.handler);
    line("initializer", spec.initializer);
    line("initializer_timeout_ms", std::to_string(absl::ToInt64Milliseconds(spec.initializerTimeout)));
    line("function", spec.function);
    line("version", std::to_string(spec.version));
    line("memory_mb", std::to_string(spec.memoryMb));
    line("timeout_ms", std::to_string(absl::ToInt64Milliseconds(spec.timeout)));
    line("concurrency", std::to_string(spec.concurrency));
    line("code_dir", sandbox::kCodeDir);
    for (const auto& [key, value] : spec.environment) line("env." + key, value);
    send(instance, init);
    // Loading the handler plus the initializer may take the initializer's timeout, plus a margin
    // for the interpreter itself.
    instance->lifeTimer = std::make_unique<asio::steady_timer>(io, absl::ToChronoSeconds(spec.initializerTimeout) +
                                                                       std::chrono::seconds(10));
    instance->lifeTimer->async_wait([this, instance](const asio::error_code& ec) {
      if (ec || instance->state != State::kStarting) return;
      instance->killedFor = FunctionError{
          "InitializerError",
          absl::StrCat("initializer timed out after ", seconds(instance->spec.initializerTimeout), " s"), ""};
      kill(instance);
    });
  }

  void failStart(const InstancePtr& instance, const absl::Status& status) {
    const InstanceId id = instance->id;
    instances.erase(id);
    if (instance->state == State::kStem) {
      --launchingStems[keyOf(instance->spec)];
      spdlog::warn("cannot pre-start a sandbox: {}", status.ToString());
      return; // nobody waits for a stem; the next refill tries again
    }
    notifyStarted(id, StartOutcome{StartOutcome::Kind::kPlatformFault, std::string(status.message()), instance->path});
    notifyExit(id, InstanceExit{absl::StrCat("failed to start: ", status.message()), false});
  }

  // ---- I/O ----
  void send(const InstancePtr& instance, const Frame& frame) {
    instance->writes.push_back(encodeFrame(frame));
    if (!instance->writing) writeNext(instance);
  }

  void writeNext(const InstancePtr& instance) {
    if (instance->writes.empty() || !instance->socket) {
      instance->writing = false;
      return;
    }
    instance->writing = true;
    asio::async_write(*instance->socket, asio::buffer(instance->writes.front()),
                      [this, instance](const asio::error_code& ec, size_t) {
                        instance->writes.pop_front();
                        if (ec) {
                          instance->writes.clear();
                          instance->writing = false;
                          return; // the process exit path reports what happened
                        }
                        writeNext(instance);
                      });
  }

  void readSocket(const InstancePtr& instance) {
    instance->socket->async_read_some(
        asio::buffer(instance->socketBuffer), [this, instance](const asio::error_code& ec, size_t n) {
          if (ec) return; // EOF: the process is ending; its exit is handled by the pidfd
          instance->decoder.feed(std::string_view(instance->socketBuffer.data(), n));
          while (true) {
            auto frame = instance->decoder.next();
            if (!frame.ok()) {
              spdlog::warn("instance {} broke the runtime protocol: {}", instance->id, frame.status().ToString());
              instance->killedFor = FunctionError{"Crashed", "the runtime broke the protocol", ""};
              return kill(instance);
            }
            if (!frame->has_value()) break;
            onFrame(instance, std::move(**frame));
          }
          readSocket(instance);
        });
  }

  void readPipe(const InstancePtr& instance, bool isStdout) {
    auto& pipe = isStdout ? *instance->stdoutPipe : *instance->stderrPipe;
    auto& buffer = isStdout ? instance->stdoutBuffer : instance->stderrBuffer;
    pipe.async_read_some(asio::buffer(buffer), [this, instance, isStdout](const asio::error_code& ec, size_t n) {
      if (ec) return;
      onPipeData(instance, isStdout,
                 std::string_view((isStdout ? instance->stdoutBuffer : instance->stderrBuffer).data(), n));
      readPipe(instance, isStdout);
    });
  }

  // Reads what is already in the stdout and stderr pipes (they are non-blocking) into the
  // stderr tail and the single in-flight request's logs, as readPipe() would.
  void drainPipes(const InstancePtr& instance) {
    for (bool isStdout : {true, false}) {
      auto& pipe = isStdout ? instance->stdoutPipe : instance->stderrPipe;
      if (!pipe) continue;
      char buffer[65536];
      while (true) {
        const ssize_t n = ::read(pipe->native_handle(), buffer, sizeof(buffer));
        if (n <= 0) break;
        onPipeData(instance, isStdout, std::string_view(buffer, static_cast<size_t>(n)));
      }
    }
  }

  void onPipeData(const InstancePtr& instance, bool isStdout, std::string_view data) {
    if (!isStdout) {
      instance->stderrTail.append(data);
      if (instance->stderrTail.size() > kStderrTailBytes) {
        instance->stderrTail.erase(0, instance->stderrTail.size() - kStderrTailBytes);
      }
    }
    // Output on the raw descriptors cannot be tagged; it belongs to the request only when one runs.
    if (instance->inflight.size() == 1) appendLog(instance->inflight.begin()->second, data);
  }

  static void appendLog(Pending& pending, std::string_view data) {
    if (pending.logsTruncated) return;
    const size_t room = kMaxRequestLogBytes - pending.logs.size();
    if (data.size() <= room) {
      pending.logs.append(data);
    } else {
      pending.logs.append(data.substr(0, room));
      pending.logsTruncated = true;
    }
  }

  // ---- protocol ----
  void onFrame(const InstancePtr& instance, Frame frame) {
    if (frame.type == "LOADED") {
      // The runtime is up and waits for INIT. Only a stem acts on it; a direct start goes on to
      // READY, and only remembers it for the start-failure report.
      instance->saidLoaded = true;
      if (instance->state != State::kStem || instance->loaded) return;
      instance->loaded = true;
      instance->lifeTimer.reset();
      const StemKey key = keyOf(instance->spec);
      --launchingStems[key];
      if (!wanted(key)) return retire(instance);
      stems[key].push_back(instance);
      updateStemsReady(key);
    } else if (frame.type == "READY") {
      if (instance->state != State::kStarting) return;
      instance->state = State::kReady;
      instance->becameReady = true;
      instance->lifeTimer.reset();
      if (instance->refillWhenStarted) {
        instance->refillTimer = std::make_unique<asio::steady_timer>(io, kRefillDelay);
        instance->refillTimer->async_wait([this, instance](const asio::error_code& ec) {
          if (!ec) refillAfterStart(instance);
        });
      }
      // Full speed while loading; the quota applies from the first request on.
      if (auto status = launcher->throttleCpu(instance->process, instance->sandbox); !status.ok()) {
        spdlog::warn("instance {}: cannot apply the CPU quota: {}", instance->id, status.ToString());
      }
      notifyStarted(instance->id, StartOutcome{StartOutcome::Kind::kReady, "", instance->path});
    } else if (frame.type == "INITERROR") {
      auto error = parseError(frame.body);
      instance->killedFor =
          FunctionError{"InitializerError", absl::StrCat(error.type, ": ", error.message), error.trace};
      // The runtime exits by itself; the exit path reports the failed start.
    } else if (frame.type == "RESULT" || frame.type == "ERROR") {
      auto it = instance->inflight.find(frame.id);
      if (it == instance->inflight.end()) return;
      // What the request wrote to the raw descriptors before replying may still sit in the
      // pipes: take it now, or it would miss the request's logs.
      if (instance->inflight.size() == 1) drainPipes(instance);
      Pending pending = std::move(it->second);
      instance->inflight.erase(it);
      --requestsInFlight;
      if (pending.timer) pending.timer->cancel();
      InvokeResult result;
      result.execution = absl::FromChrono(SteadyClock::now() - pending.sent);
      if (frame.type == "RESULT") {
        result.output = std::move(frame.body);
      } else {
        auto error = parseError(frame.body);
        result.error = FunctionError{"HandlerError", absl::StrCat(error.type, ": ", error.message), error.trace};
      }
      finishLogs(pending, result);
      if (pending.cancelled) {
        complete(std::move(pending.done), InvokeOutcome::cancelledBecause("the invocation was cancelled"));
      } else {
        complete(std::move(pending.done), InvokeOutcome::fromResult(std::move(result)));
      }
      refillAfterStart(instance); // once the first reply is on its way
      if (instance->state == State::kDraining && instance->inflight.empty()) send(instance, Frame{"STOP", "-", {}, ""});
    } else if (frame.type == "LOG") {
      auto it = instance->inflight.find(frame.id);
      if (it != instance->inflight.end()) appendLog(it->second, frame.body);
    }
  }

  static FunctionError parseError(const std::string& body) {
    FunctionError error;
    const size_t first = body.find('\n');
    error.type = body.substr(0, first);
    if (first != std::string::npos) {
      const size_t second = body.find('\n', first + 1);
      error.message = body.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
      if (second != std::string::npos) error.trace = body.substr(second + 1);
    }
    return error;
  }

  static void finishLogs(Pending& pending, InvokeResult& result) {
    result.logs = std::move(pending.logs);
    result.logsTruncated = pending.logsTruncated;
    if (result.logsTruncated) result.logs.append(kLogTruncatedMarker);
  }

  // ---- invoke ----
  // `calledAt`: when the caller called invoke(), on its own thread.
  void invoke(InstanceId id, InvokeRequest request, InvokeCallback done, SteadyClock::time_point calledAt) {
    auto it = instances.find(id);
    if (it == instances.end()) {
      return complete(std::move(done), InvokeOutcome::refusedBecause(absl::StrCat("instance ", id, " is gone")));
    }
    const InstancePtr& instance = it->second;
    if (instance->state != State::kReady) {
      return complete(std::move(done), InvokeOutcome::refusedBecause(absl::StrCat("instance ", id, " is not ready")));
    }
    if (instance->inflight.size() >= instance->spec.concurrency || instance->inflight.contains(request.requestId)) {
      return complete(std::move(done),
                      InvokeOutcome::refusedBecause(absl::StrCat("instance ", id, " has no free slot")));
    }
    const auto now = SteadyClock::now();
    const auto limit = now + absl::ToChronoMilliseconds(instance->spec.timeout);
    const auto deadline = std::min(limit, request.deadline);
    const auto remainingMs = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();

    Pending& pending = instance->inflight[request.requestId];
    ++requestsInFlight;
    pending.done = std::move(done);
    pending.sent = now;
    // The time the request was given, as its Timeout error will say: the function's timeout, or
    // the caller's deadline counted from its call (not from here, a thread hop later).
    pending.limit = deadline < limit ? absl::FromChrono(deadline - calledAt) : instance->spec.timeout;
    pending.cancellation = request.cancellation;
    pending.timer = std::make_unique<asio::steady_timer>(io, deadline);
    pending.timer->async_wait([this, instance, requestId = request.requestId](const asio::error_code& ec) {
      if (!ec) onTimeout(instance, requestId);
    });
    if (request.cancellation) {
      request.cancellation->setHook([this, instance, requestId = request.requestId] {
        asio::post(io, [this, instance, requestId] { onCancel(instance, requestId); });
      });
    }
    send(instance, Frame{"INVOKE",
                         request.requestId,
                         {std::to_string(std::max<int64_t>(remainingMs, 0))},
                         std::move(request.payload)});
  }

  void onCancel(const InstancePtr& instance, const std::string& requestId) {
    auto it = instance->inflight.find(requestId);
    if (it == instance->inflight.end() || it->second.cancelled) return;
    it->second.cancelled = true;
    send(instance, Frame{"CANCEL", requestId, {}, ""});
  }

  void onTimeout(const InstancePtr& instance, const std::string& requestId) {
    auto it = instance->inflight.find(requestId);
    if (it == instance->inflight.end()) return;
    Pending pending = std::move(it->second);
    instance->inflight.erase(it);
    --requestsInFlight;
    InvokeResult result;
    result.execution = absl::FromChrono(SteadyClock::now() - pending.sent);
    result.error = FunctionError{
        "Timeout",
        absl::StrCat("timed out after ",
                     seconds(absl::Trunc(pending.limit + absl::Microseconds(500), absl::Milliseconds(1))), " s"),
        ""};
    finishLogs(pending, result);
    complete(std::move(pending.done), InvokeOutcome::fromResult(std::move(result)));
    // The handler may be stuck anywhere; only killing the instance gets the slot back safely.
    instance->killedFor = FunctionError{"InstanceLost", "another request on the instance timed out", ""};
    kill(instance);
  }

  // ---- stop and exit ----
  void stop(InstanceId id, StopMode mode) {
    auto it = instances.find(id);
    if (it == instances.end()) return;
    const InstancePtr& instance = it->second;
    instance->stopRequested = true;
    if (mode == StopMode::kNow || instance->state == State::kStarting) {
      if (!instance->killedFor) instance->killedFor = FunctionError{"InstanceLost", "the instance was stopped", ""};
      return kill(instance);
    }
    if (instance->state != State::kReady) return;
    instance->state = State::kDraining;
    if (instance->inflight.empty()) send(instance, Frame{"STOP", "-", {}, ""});
    instance->lifeTimer =
        std::make_unique<asio::steady_timer>(io, kDrainGrace + absl::ToChronoSeconds(instance->spec.timeout));
    instance->lifeTimer->async_wait([this, instance](const asio::error_code& ec) {
      if (!ec) kill(instance);
    });
  }

  void kill(const InstancePtr& instance) {
    if (instance->state == State::kExiting) return;
    instance->state = State::kExiting;
    if (instance->process.pid > 0) ::kill(instance->process.pid, SIGKILL);
  }

  void onProcessExit(const InstancePtr& instance) {
    int status = 0;
    ::waitpid(instance->process.pid, &status, 0);
    drainPipes(instance); // the last words on stderr belong in the crash report
    ExitFacts facts;
    facts.waitStatus = status;
    facts.oomKilled = launcher->oomKilled(instance->process);
    facts.stopRequested = instance->stopRequested;
    facts.killedFor = instance->killedFor;
    facts.platformStartFailure = std::string(instance->platformStartFailure.message());
    facts.saidLoaded = instance->saidLoaded;
    facts.runtime = instance->spec.runtime;
    facts.memoryMb = instance->spec.memoryMb;
    facts.stderrTail = instance->stderrTail;
    ExitClassification exited = classifyExit(facts);
    const std::string reason = std::move(exited.reason);
    const FunctionError error = std::move(exited.requestError);
    for (auto& [requestId, pending] : instance->inflight) {
      if (pending.timer) pending.timer->cancel();
      InvokeResult result;
      result.execution = absl::FromChrono(SteadyClock::now() - pending.sent);
      result.error = error;
      finishLogs(pending, result);
      complete(std::move(pending.done), InvokeOutcome::fromResult(std::move(result)));
    }
    requestsInFlight -= instance->inflight.size();
    instance->inflight.clear();
    const InstanceId id = instance->id;
    const bool wasStem = instance->state == State::kStem;
    const bool stemWasLoaded = wasStem && instance->loaded;
    if (wasStem) {
      // A pre-started sandbox died before anyone used it: nobody is told.
      const StemKey key = keyOf(instance->spec);
      if (instance->loaded) {
        auto& ready = stems[key];
        ready.erase(std::remove(ready.begin(), ready.end(), instance), ready.end());
        updateStemsReady(key);
      } else {
        --launchingStems[key];
      }
      if (!instance->stopRequested) {
        spdlog::warn("a pre-started sandbox died {} ({}): {}", instance->loaded ? "idle" : "while loading", reason,
                     instance->stderrTail);
      }
    } else if (!instance->becameReady) {
      notifyStarted(id, classifyFailedStart(facts, reason, instance->path));
    }
    instance->state = State::kExiting;
    instance->lifeTimer.reset();
    instance->socket.reset();
    instance->stdoutPipe.reset();
    instance->stderrPipe.reset();
    instance->pidfd.reset();
    instance->process.pid = -1;
    instances.erase(id);
    const bool requested = instance->stopRequested;
    asio::post(spawner, [this, instance, id, reason, requested, wasStem] {
      launcher->destroy(instance->process);
      // On the file thread, after any link into the folder that is still queued there.
      asio::post(files, [this, instance, id, reason, requested, wasStem] {
        removeSandboxDir(instance->sandboxDir);
        // Reported from the loop, not from here: while the engine is being destroyed, this runs
        // after the loop has stopped, and the event must be dropped with the rest of the queue
        // rather than reach a caller that is tearing down its observer.
        if (!wasStem)
          asio::post(io, [this, id, reason, requested] { notifyExit(id, InstanceExit{reason, requested}); });
      });
    });
    // One that died idle is replaced at once. One that never loaded is not: its runtime may be
    // broken, and relaunching at once would loop; the next start() of its kind refills the pool.
    if (stemWasLoaded) refill(keyOf(instance->spec));
    refillAfterStart(instance);
  }

  // A pooled sandbox's folder and its empty /code, both new. Nothing for a direct start.
  static absl::Status makeSandboxDir(const Instance& instance) {
    if (instance.sandboxDir.empty()) return absl::OkStatus();
    constexpr auto kMode = std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                           std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                           std::filesystem::perms::others_exec;
    if (auto status = common::makeNewDirectory(instance.sandboxDir, kMode); !status.ok()) return status;
    return common::makeNewDirectory(instance.sandbox.codeDir, kMode);
  }

  static void removeSandboxDir(const std::filesystem::path& dir) {
    if (dir.empty()) return;
    // Only links and folders of ours: the code itself stays.
    common::removeTreeOrWarn(dir);
  }

  SandboxEngineOptions options;
  std::unique_ptr<SandboxLauncher> launcher;
  Executor executor;
  InstanceObserver& observer;
  std::atomic<InstanceId> nextId;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::map<InstanceId, InstancePtr> instances;      // on the loop only
  size_t requestsInFlight = 0;                      // on the loop only: sum of instances' inflight
  std::map<StemKey, std::deque<InstancePtr>> stems; // ready stems, on the loop only
  std::map<StemKey, int> launchingStems;            // on the loop only
  std::set<NetworkSandboxKind> networkKinds;        // on the loop only; see wanted()
  uid_t stemSerial = 0;                             // on the loop only
  std::filesystem::path compiledShimDir;            // on the loop only; see compilePythonShim()
  mutable common::Mutex stemsReadyMu;
  common::CondVar stemsReadyChanged;
  std::map<StemKey, size_t> stemsReadyCounts ABSL_GUARDED_BY(stemsReadyMu); // for pooled(), from any thread
  // Launched by the spawner but not yet handed to the loop; only the destructor reads it after
  // both threads have stopped.
  common::Mutex unclaimedMu;
  std::map<InstanceId, SandboxProcess> unclaimed ABSL_GUARDED_BY(unclaimedMu);
  asio::thread_pool spawner{1};
  // Links code into pooled sandboxes' folders and removes those folders.
  asio::thread_pool files{1};
  std::thread loop;
};

SandboxEngine::SandboxEngine(SandboxEngineOptions options, std::unique_ptr<SandboxLauncher> launcher, Executor executor,
                             InstanceObserver& observer)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(launcher), std::move(executor), observer)) {}

SandboxEngine::~SandboxEngine() = default;

asio::io_context& SandboxEngine::loop() { return impl_->io; }

InstanceId SandboxEngine::start(const InstanceSpec& spec) {
  const InstanceId id = impl_->nextId++;
  asio::post(impl_->io, [impl = impl_.get(), id, spec] { impl->start(id, spec); });
  return id;
}

void SandboxEngine::invoke(InstanceId id, InvokeRequest request, InvokeCallback done) {
  asio::post(impl_->io, [impl = impl_.get(), id, request = std::move(request), done = std::move(done),
                         calledAt = SteadyClock::now()]() mutable {
    impl->invoke(id, std::move(request), std::move(done), calledAt);
  });
}

size_t SandboxEngine::stemsReady(common::Runtime runtime, uint32_t memoryMb, bool network) const {
  common::MutexLock lock(impl_->stemsReadyMu);
  auto it = impl_->stemsReadyCounts.find({runtime, memoryMb, network});
  return it == impl_->stemsReadyCounts.end() ? 0 : it->second;
}

bool SandboxEngine::waitStemsReady(common::Runtime runtime, uint32_t memoryMb, size_t count,
                                   std::chrono::milliseconds timeout, bool network) const {
  common::MutexLock lock(impl_->stemsReadyMu);
  return impl_->stemsReadyChanged.waitFor(impl_->stemsReadyMu, timeout,
                                          [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl_->stemsReadyMu) {
                                            auto it = impl_->stemsReadyCounts.find({runtime, memoryMb, network});
                                            return it != impl_->stemsReadyCounts.end() && it->second >= count;
                                          });
}

void SandboxEngine::setNetworkKinds(std::set<NetworkSandboxKind> kinds) {
  asio::post(impl_->io,
             [impl = impl_.get(), kinds = std::move(kinds)]() mutable { impl->setNetworkKinds(std::move(kinds)); });
}

void SandboxEngine::stop(InstanceId id, StopMode mode) {
  asio::post(impl_->io, [impl = impl_.get(), id, mode] { impl->stop(id, mode); });
}

} // namespace surge::engine
