// SandboxEngine: starts instances through the SandboxLauncher and drives them over the runtime
// protocol. All instance state lives on one Asio event-loop thread; nothing in here locks. The
// parts it wires together: the pool of pre-started sandboxes (stem_pool), each instance's channel
// (instance_channel) and protocol session (runtime_session), its lifecycle (instance_state) and
// the classification of its exit (exit_classification).
#include "engine/sandbox_engine.h"

#include "common/files.h"
#include "common/mutex.h"
#include "engine/engine_loop.h"
#include "engine/cgroups.h"
#include "engine/exit_classification.h"
#include "engine/instance.h"
#include "engine/instance_sandbox.h"
#include "engine/instance_state.h"
#include "engine/runtime_session.h"
#include "engine/sandbox_launcher.h"
#include "engine/stem_pool.h"

#include <absl/strings/str_cat.h>
#include <asio.hpp>
#include <spdlog/spdlog.h>

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

namespace surge::engine {
namespace {

// A start that took a pre-started sandbox has its replacement launched when it has answered its
// first request, or this long after READY if no request comes sooner.
constexpr auto kRefillDelay = std::chrono::milliseconds(20);
// Code of at most this many files and folders is linked into a pre-started sandbox on the loop.
constexpr int kInlineLinkEntries = 16;

using A = InstanceAction;
using E = InstanceEvent;

} // namespace

struct SandboxEngine::Impl final : LifecycleHandler {
  Impl(SandboxEngineOptions options, std::unique_ptr<SandboxLauncher> launcher, Executor executor,
       InstanceObserver& observer)
      : options(std::move(options)), launcher(std::move(launcher)), nextId(this->options.firstInstanceId),
        pool(!this->options.sandboxesDir.empty(), this->options.poolSize, this->options.poolSizes),
        loop(std::move(executor), observer, this->options.loopSpin, this->options.spinMaxInFlight), io(loop.io()),
        session(loop, *this, this->options.logSink, this->options.requestLogBytes) {
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
      auto compiled = compilePythonShim(this->options);
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

  ~Impl() {
    // Stop the loop first: no handler runs after this, so what is left can be cleaned up here,
    // synchronously. Launches and clean-ups already queued on the spawner and the file thread
    // still finish, but what they hand back goes through the stopped loop and is dropped: from
    // here on nothing reaches the caller's Executor (see EngineLoop::deliver()).
    loop.stop();
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

  // ---- the state machine ----
  // Moves `instance` on `event` (instance_state.h) and returns the transition; logs one that
  // cannot happen.
  InstanceTransition advance(const InstancePtr& instance, InstanceEvent event) {
    const InstanceTransition transition = nextState(instance->state, event);
    if (transition.kind == InstanceTransition::Kind::kImpossible) {
      spdlog::error("instance {}: {} cannot happen in state {}; ignored", instance->id, toString(event),
                    toString(instance->state));
    }
    instance->state = transition.to;
    return transition;
  }

  // advance(), then carries out the transition's actions; true if it was not ignored. The exit
  // actions (kUncountLaunch, kRefillPool, kReport*) come only with kLaunchFailed and
  // kProcessExited, which failStart() and onProcessExit() apply themselves. An action may apply
  // a further event (a stem that joins an unwanted pool is retired; a small tree is linked at
  // once): each transition's own actions are all taken in the order below, which allows that.
  bool apply(const InstancePtr& instance, InstanceEvent event, Cause cause) override {
    const InstanceTransition t = advance(instance, event);
    if (t.kind != InstanceTransition::Kind::kMove) return false;
    if (t.has(A::kRecordCause)) {
      if (cause.error) instance->killedFor = std::move(cause.error);
      if (!cause.platform.ok()) instance->platformStartFailure = std::move(cause.platform);
    }
    if (t.has(A::kMarkStopped) && !instance->killedFor) {
      instance->killedFor = FunctionError{"InstanceLost", "the instance was stopped", ""};
    }
    if (t.has(A::kKillProcess) && instance->process.pid > 0) ::kill(instance->process.pid, SIGKILL);
    if (t.has(A::kLeavePool)) pool.remove(stemKeyOf(instance->spec), instance->id);
    if (t.has(A::kArmLoadTimer)) session.awaitLoaded(instance);
    if (t.has(A::kSendInit)) session.sendInit(instance);
    if (t.has(A::kStartServing)) startServing(instance);
    if (t.has(A::kStartDrain)) session.startDrain(instance);
    if (t.has(A::kJoinPool)) joinPool(instance);
    if (t.has(A::kLinkCode)) linkCode(instance);
    return true;
  }

  // ---- start ----
  void start(InstanceId id, const InstanceSpec& spec) {
    if (takeStem(id, spec)) return;
    startDirect(id, spec);
    // A memory size asked for once is kept warm from now on (launched after this start).
    refill(stemKeyOf(spec));
  }

  InstancePtr newInstance(InstanceId id, InstanceState state, StartPath path) {
    auto instance = std::make_shared<Instance>(io);
    instance->id = id;
    instance->state = state;
    instance->path = path;
    return instances[id] = instance;
  }

  void startDirect(InstanceId id, const InstanceSpec& spec) {
    InstancePtr instance = newInstance(id, InstanceState::kLaunching, StartPath::kDirect);
    instance->spec = spec;
    auto sandbox = directSandbox(id, spec, options, compiledShimDir);
    if (!sandbox.ok()) return failStart(instance, sandbox.status());
    instance->sandbox = *std::move(sandbox);
    launchSandbox(instance);
  }

  // fork/exec off the loop; the result comes back to the loop.
  void launchSandbox(const InstancePtr& instance) {
    auto childFd = instance->channel.openSocket();
    if (!childFd.ok()) return failStart(instance, childFd.status());
    instance->sandbox.protocolFd = *childFd;
    asio::post(spawner, [this, instance, childFd = *childFd] {
      absl::StatusOr<SandboxProcess> process = absl::InternalError("not launched");
      // A pooled sandbox binds a folder it has just created empty, and nothing else: never one
      // that something (an earlier run, another sandbox) filled.
      if (auto created = makeSandboxDir(instance->sandboxDir, instance->sandbox.codeDir); !created.ok()) {
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

  void onLaunched(const InstancePtr& instance, absl::StatusOr<SandboxProcess> process) {
    {
      common::MutexLock lock(unclaimedMu);
      unclaimed.erase(instance->id);
    }
    if (!process.ok()) return failStart(instance, process.status());
    instance->process = *process;
    if (process->zygote && instance->path == StartPath::kDirect) instance->path = StartPath::kZygote;
    instance->channel.adoptPipes(process->stdoutFd, process->stderrFd);
    instance->readPeakMemory = memoryPeakReader(launcher->memoryPeakFile(*process));
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, process->pid, 0));
    if (pidfd < 0) {
      ::kill(process->pid, SIGKILL);
      return failStart(instance, absl::InternalError(absl::StrCat("pidfd_open: ", std::strerror(errno))));
    }
    instance->pidfd = std::make_unique<asio::posix::stream_descriptor>(io, pidfd);
    instance->pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                                [this, instance](const asio::error_code&) { onProcessExit(instance); });
    instance->channel.readFrames(session.eventsOf(instance));
    instance->channel.readPipes(session.eventsOf(instance));
    // A stem waits for LOADED; a start gets INIT; one stopped while it was being launched (when
    // there was no process to kill) is killed now, and its exit reports it.
    apply(instance, E::kLaunched, {});
  }

  // A launch that failed, or a start that could not even be launched.
  void failStart(const InstancePtr& instance, const absl::Status& status) {
    const InstanceId id = instance->id;
    instances.erase(id);
    const InstanceTransition t = advance(instance, E::kLaunchFailed);
    if (t.has(A::kUncountLaunch)) {
      pool.uncountLaunch(stemKeyOf(instance->spec));
      spdlog::warn("cannot pre-start a sandbox: {}", status.ToString());
    }
    if (t.has(A::kReportFailedLaunch)) {
      loop.notifyStarted(
          id, StartOutcome{StartOutcome::Kind::kPlatformFault, std::string(status.message()), instance->path});
      loop.notifyExit(id, InstanceExit{absl::StrCat("failed to start: ", status.message()), false});
    }
  }

  void startServing(const InstancePtr& instance) {
    instance->lifeTimer.reset();
    if (instance->refillPending) {
      instance->refillTimer = std::make_unique<asio::steady_timer>(io, kRefillDelay);
      instance->refillTimer->async_wait([this, instance](const asio::error_code& ec) {
        if (!ec) refillAfterStart(instance);
      });
    }
    // Full speed while loading; the quota applies from the first request on.
    if (auto status = launcher->throttleCpu(instance->process, instance->sandbox); !status.ok()) {
      spdlog::warn("instance {}: cannot apply the CPU quota: {}", instance->id, status.ToString());
    }
    loop.notifyStarted(instance->id, StartOutcome{StartOutcome::Kind::kReady, "", instance->path});
  }

  // ---- the pool of pre-started sandboxes ----
  // Keeps the pool's size of stems for `key`, launching what is missing.
  void refill(const StemKey& key) {
    for (int missing = pool.reserveLaunches(key); missing > 0; --missing) launchStem(key);
  }

  void firstReplySent(const InstancePtr& instance) override { refillAfterStart(instance); }

  void refillAfterStart(const InstancePtr& instance) {
    if (!instance->refillPending) return;
    instance->refillPending = false;
    if (instance->refillTimer) instance->refillTimer->cancel();
    refill(stemKeyOf(instance->spec));
  }

  void launchStem(const StemKey& key) {
    InstancePtr instance = newInstance(nextId++, InstanceState::kStemLaunching, StartPath::kStem);
    instance->spec.runtime = key.runtime;
    instance->spec.memoryMb = key.memoryMb;
    instance->spec.networkAccess = key.network;
    instance->sandbox = stemSandbox(instance->id, key, pool.nextSerial(), options, compiledShimDir);
    instance->sandboxDir = stemSandboxDir(instance->sandbox);
    launchSandbox(instance);
  }

  void joinPool(const InstancePtr& instance) {
    instance->lifeTimer.reset();
    if (!pool.join(stemKeyOf(instance->spec), instance->id)) retire(instance);
  }

  void setNetworkKinds(std::set<NetworkSandboxKind> kinds) {
    for (InstanceId stem : pool.setNetworkKinds(std::move(kinds))) {
      if (auto it = instances.find(stem); it != instances.end()) retire(it->second);
    }
    // Stems still loading are retired when they say LOADED (see joinPool()).
    for (const NetworkSandboxKind& kind : pool.networkKinds()) refill({kind.runtime, kind.memoryMb, true});
  }

  // Kills a loaded stem nobody wants any more. It stays a stem until its exit, which is then
  // expected, not a warning, and reported to nobody.
  void retire(const InstancePtr& stem) {
    stem->stopRequested = true;
    apply(stem, E::kRetired, {});
  }

  // Gives `spec` a stem from the pool, if one is ready: the code is hard-linked into the stem's
  // /code folder and INIT follows. False when the pool has none (a direct start follows).
  bool takeStem(InstanceId id, const InstanceSpec& spec) {
    const std::optional<InstanceId> stemId = pool.take(stemKeyOf(spec));
    if (!stemId) return false;
    auto it = instances.find(*stemId);
    if (it == instances.end()) { // a stem leaves the pool before it leaves `instances`
      spdlog::error("pre-started sandbox {} is in the pool but gone", *stemId);
      return false;
    }
    InstancePtr stem = std::move(it->second);
    instances.erase(it);
    // The replacement is launched once this start is over (see Instance::refillPending):
    // launching it means forking this process, which stalls its other threads' page faults, and
    // starting an interpreter, which competes for the CPU with the import and the first request.
    stem->refillPending = true;
    stem->id = id;
    stem->spec = spec;
    instances[id] = stem;
    apply(stem, E::kTaken, {});
    return true;
  }

  void linkCode(const InstancePtr& stem) {
    // From now on it serves a start: the normal CPU weight (one cgroup write, tens of µs).
    if (auto status = launcher->foreground(stem->process); !status.ok()) {
      spdlog::warn("instance {}: cannot give it the normal CPU weight: {}", stem->id, status.ToString());
    }
    // A small tree is linked right here: tens of microseconds, against two thread hops of
    // 0.05-1 ms each (more on a busy machine) to have the file thread do it. A larger one goes
    // to the file thread, so that the loop never walks a big tree.
    if (fewEntries(stem->spec.codeDir, kInlineLinkEntries)) {
      return onLinked(stem, linkTree(stem->spec.codeDir, stem->sandbox.codeDir));
    }
    asio::post(files, [this, stem, source = stem->spec.codeDir, target = stem->sandbox.codeDir] {
      // Moved, not copied: the loop gets the only reference to the status's message.
      asio::post(io, [this, stem, linked = linkTree(source, target)] { onLinked(stem, linked); });
    });
  }

  void onLinked(const InstancePtr& stem, const absl::Status& linked) {
    if (linked.ok()) return (void)apply(stem, E::kLinked, {});
    apply(stem, E::kLinkFailed,
          {std::nullopt,
           absl::InternalError(absl::StrCat("cannot link the function's code into the sandbox: ", linked.message()))});
  }

  void invoke(InstanceId id, InvokeRequest request, InvokeCallback done, SteadyClock::time_point calledAt) {
    auto it = instances.find(id);
    if (it == instances.end()) {
      return loop.complete(std::move(done), InvokeOutcome::refusedBecause(absl::StrCat("instance ", id, " is gone")));
    }
    session.invoke(it->second, std::move(request), std::move(done), calledAt);
  }

  // ---- stop and exit ----
  void stop(InstanceId id, StopMode mode) {
    auto it = instances.find(id);
    if (it == instances.end()) return;
    const InstancePtr instance = it->second;
    instance->stopRequested = true;
    apply(instance, mode == StopMode::kNow ? E::kStopNow : E::kStopDrain, {});
  }

  void onProcessExit(const InstancePtr& instance) {
    int status = 0;
    ::waitpid(instance->process.pid, &status, 0);
    // The last words on stderr belong in the crash report, and in the log.
    instance->channel.drainPipes(
        [this, &instance](bool isStdout, std::string_view data) { session.onOutput(instance, isStdout, data); });
    const ExitFacts facts = instance->exitFacts(status, launcher->oomKilled(instance->process));
    ExitClassification exited = classifyExit(facts);
    const std::string reason = std::move(exited.reason);
    const FunctionError error = std::move(exited.requestError);
    session.failAll(*instance, error);
    session.flushOutput(*instance, instance->stopRequested ? std::string() : reason);
    const InstanceId id = instance->id;
    const StemKey key = stemKeyOf(instance->spec);
    const bool wasStem = isStem(instance->state);
    const InstanceTransition t = advance(instance, E::kProcessExited);
    // A pre-started sandbox died before anyone used it: nobody is told.
    if (t.has(A::kLeavePool)) pool.remove(key, id);
    if (t.has(A::kUncountLaunch)) pool.uncountLaunch(key);
    if (wasStem && !instance->stopRequested) {
      spdlog::warn("a pre-started sandbox died {} ({}): {}", t.has(A::kLeavePool) ? "idle" : "while loading", reason,
                   instance->channel.stderrTail());
    }
    if (t.has(A::kReportFailedStart)) loop.notifyStarted(id, classifyFailedStart(facts, reason, instance->path));
    instance->lifeTimer.reset();
    instance->channel.close();
    instance->pidfd.reset();
    instance->process.pid = -1;
    instances.erase(id);
    const bool requested = instance->stopRequested;
    const bool report = t.has(A::kReportExit);
    asio::post(spawner, [this, instance, id, reason, requested, report] {
      launcher->destroy(instance->process);
      // On the file thread, after any link into the folder that is still queued there.
      asio::post(files, [this, instance, id, reason, requested, report] {
        removeSandboxDir(instance->sandboxDir);
        // Reported from the loop, not from here: while the engine is being destroyed, this runs
        // after the loop has stopped, and the event must be dropped with the rest of the queue
        // rather than reach a caller that is tearing down its observer.
        if (report)
          asio::post(io, [this, id, reason, requested] { loop.notifyExit(id, InstanceExit{reason, requested}); });
      });
    });
    // One that died idle is replaced at once. One that never loaded is not: its runtime may be
    // broken, and relaunching at once would loop; the next start() of its kind refills the pool.
    if (t.has(A::kRefillPool)) refill(key);
    refillAfterStart(instance);
  }

  SandboxEngineOptions options;
  std::unique_ptr<SandboxLauncher> launcher;
  std::atomic<InstanceId> nextId;
  StemPool pool; // on the loop only, but for its ready counts
  // Before every member that holds asio objects of the loop: it outlives them.
  EngineLoop loop;
  asio::io_context& io;
  RuntimeSession session;
  std::map<InstanceId, InstancePtr> instances; // on the loop only
  std::filesystem::path compiledShimDir;       // on the loop only; see compilePythonShim()
  // Launched by the spawner but not yet handed to the loop; only the destructor reads it after
  // both threads have stopped.
  common::Mutex unclaimedMu;
  std::map<InstanceId, SandboxProcess> unclaimed ABSL_GUARDED_BY(unclaimedMu);
  asio::thread_pool spawner{1};
  // Links code into pooled sandboxes' folders and removes those folders.
  asio::thread_pool files{1};
};

SandboxEngine::SandboxEngine(SandboxEngineOptions options, std::unique_ptr<SandboxLauncher> launcher, Executor executor,
                             InstanceObserver& observer)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(launcher), std::move(executor), observer)) {}

SandboxEngine::~SandboxEngine() = default;

asio::io_context& SandboxEngine::loop() { return impl_->loop.io(); }

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

std::map<std::string, uint32_t> SandboxEngine::prestartedSandboxes() const { return impl_->pool.readyByRuntime(); }

size_t SandboxEngine::stemsReady(common::Runtime runtime, uint32_t memoryMb, bool network) const {
  return impl_->pool.readyCount({runtime, memoryMb, network});
}

bool SandboxEngine::waitStemsReady(common::Runtime runtime, uint32_t memoryMb, size_t count,
                                   std::chrono::milliseconds timeout, bool network) const {
  return impl_->pool.waitReady({runtime, memoryMb, network}, count, timeout);
}

void SandboxEngine::setNetworkKinds(std::set<NetworkSandboxKind> kinds) {
  asio::post(impl_->io,
             [impl = impl_.get(), kinds = std::move(kinds)]() mutable { impl->setNetworkKinds(std::move(kinds)); });
}

void SandboxEngine::stop(InstanceId id, StopMode mode) {
  asio::post(impl_->io, [impl = impl_.get(), id, mode] { impl->stop(id, mode); });
}

} // namespace surge::engine
