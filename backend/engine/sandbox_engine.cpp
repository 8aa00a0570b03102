// SandboxEngine: starts instances through the SandboxLauncher and drives them over the runtime
// protocol. All instance state lives on one Asio event-loop thread; nothing in here locks. The
// parts it wires together: the pool of pre-started sandboxes (stem_pool), each instance's channel
// (instance_channel) and protocol session (runtime_session), its lifecycle (instance_state) and
// the classification of its exit (exit_classification).
#include "engine/sandbox_engine.h"

#include "common/files.h"
#include "common/mutex.h"
#include "engine/exit_classification.h"
#include "engine/frame_codec.h"
#include "engine/instance_channel.h"
#include "engine/instance_sandbox.h"
#include "engine/instance_state.h"
#include "engine/runtime_session.h"
#include "engine/sandbox_launcher.h"
#include "engine/stem_pool.h"

#include <absl/strings/str_cat.h>
#include <asio.hpp>
#include <spdlog/spdlog.h>

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <thread>

namespace surge::engine {
namespace {

constexpr auto kDrainGrace = std::chrono::seconds(10);
// A start that took a pre-started sandbox has its replacement launched when it has answered its
// first request, or this long after READY if no request comes sooner.
constexpr auto kRefillDelay = std::chrono::milliseconds(20);
// Code of at most this many files and folders is linked into a pre-started sandbox on the loop.
constexpr int kInlineLinkEntries = 16;
// A pre-started runtime that has not said LOADED by then is killed.
constexpr auto kStemLoadTimeout = std::chrono::seconds(60);

using A = InstanceAction;
using E = InstanceEvent;

struct Instance {
  explicit Instance(asio::io_context& io) : channel(io) {}

  InstanceId id = 0;
  InstanceSpec spec;
  SandboxSpec sandbox;
  SandboxProcess process;
  InstanceState state = InstanceState::kLaunching; // changed by SandboxEngine::Impl::apply() only
  StartPath path = StartPath::kDirect;
  InstanceChannel channel;
  RuntimeSession session;
  std::unique_ptr<asio::posix::stream_descriptor> pidfd;
  std::unique_ptr<asio::steady_timer> lifeTimer; // stem load, initializer timeout, or drain grace
  // Pooled sandboxes: their own folder, bound at /code, that receives the code by hard links.
  std::filesystem::path sandboxDir;
  // What its exit report reads (ExitFacts). Facts, not states: they say what happened, in
  // whichever state it happened.
  std::optional<FunctionError> killedFor; // why the engine killed it, for the requests it takes down
  absl::Status platformStartFailure;      // the platform, not the function, failed the start
  // The runtime has said LOADED (any start, pooled or not): until then none of the function's
  // code has run, so with one of our own shims an exit before it is the platform's fault.
  bool saidLoaded = false;
  bool stopRequested = false; // the platform asked for its end (stop(), or a retired stem)
  // A task pending rather than a state: taken from the pool, the pool is refilled once this
  // start has served its first request, or kRefillDelay after READY, or when it fails or exits,
  // whichever comes first, in whatever state it is then.
  bool refillPending = false;
  std::unique_ptr<asio::steady_timer> refillTimer;
};
using InstancePtr = std::shared_ptr<Instance>;

// What an event brings for InstanceAction::kRecordCause.
struct Cause {
  std::optional<FunctionError> error; // killedFor
  absl::Status platform;              // platformStartFailure
};

} // namespace

struct SandboxEngine::Impl {
  // What an instance's channel reports. It holds the instance, which keeps the channel alive
  // until its last completion has run.
  struct ChannelEvents {
    Impl* engine;
    InstancePtr instance;
    void onFrame(Frame&& frame) { engine->onFrame(instance, std::move(frame)); }
    void onBroken(const absl::Status& status) { engine->onBroken(instance, status); }
    void onOutput(std::string_view data) { instance->session.output(data); }
  };

  Impl(SandboxEngineOptions options, std::unique_ptr<SandboxLauncher> launcher, Executor executor,
       InstanceObserver& observer)
      : options(std::move(options)), launcher(std::move(launcher)), executor(std::move(executor)), observer(observer),
        nextId(this->options.firstInstanceId),
        pool(!this->options.sandboxesDir.empty(), this->options.poolSize, this->options.poolSizes),
        work(asio::make_work_guard(io)), loop([this] { runLoop(); }) {
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
  bool apply(const InstancePtr& instance, InstanceEvent event, Cause cause = {}) {
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
    if (t.has(A::kArmLoadTimer)) armLoadTimer(instance);
    if (t.has(A::kSendInit)) sendInit(instance);
    if (t.has(A::kStartServing)) startServing(instance);
    if (t.has(A::kStartDrain)) startDrain(instance);
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

  void startDirect(InstanceId id, const InstanceSpec& spec) {
    auto instance = std::make_shared<Instance>(io);
    instance->id = id;
    instance->spec = spec;
    instances[id] = instance;
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
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, process->pid, 0));
    if (pidfd < 0) {
      ::kill(process->pid, SIGKILL);
      return failStart(instance, absl::InternalError(absl::StrCat("pidfd_open: ", std::strerror(errno))));
    }
    instance->pidfd = std::make_unique<asio::posix::stream_descriptor>(io, pidfd);
    instance->pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                                [this, instance](const asio::error_code&) { onProcessExit(instance); });
    instance->channel.readFrames(ChannelEvents{this, instance});
    instance->channel.readPipes(ChannelEvents{this, instance});
    // A stem waits for LOADED; a start gets INIT; one stopped while it was being launched (when
    // there was no process to kill) is killed now, and its exit reports it.
    apply(instance, E::kLaunched);
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
      notifyStarted(id,
                    StartOutcome{StartOutcome::Kind::kPlatformFault, std::string(status.message()), instance->path});
      notifyExit(id, InstanceExit{absl::StrCat("failed to start: ", status.message()), false});
    }
  }

  // Hands the instance its function: INIT, then READY within the initializer's timeout.
  void sendInit(const InstancePtr& instance) {
    instance->channel.send(initFrame(instance->spec), instance);
    // Loading the handler plus the initializer may take the initializer's timeout, plus a margin
    // for the interpreter itself.
    instance->lifeTimer = std::make_unique<asio::steady_timer>(
        io, absl::ToChronoSeconds(instance->spec.initializerTimeout) + std::chrono::seconds(10));
    instance->lifeTimer->async_wait([this, instance](const asio::error_code& ec) {
      if (!ec) apply(instance, E::kInitTimeout, {initializerTimeout(instance->spec.initializerTimeout), {}});
    });
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
    notifyStarted(instance->id, StartOutcome{StartOutcome::Kind::kReady, "", instance->path});
  }

  // ---- the pool of pre-started sandboxes ----
  // Keeps the pool's size of stems for `key`, launching what is missing.
  void refill(const StemKey& key) {
    for (int missing = pool.reserveLaunches(key); missing > 0; --missing) launchStem(key);
  }

  void refillAfterStart(const InstancePtr& instance) {
    if (!instance->refillPending) return;
    instance->refillPending = false;
    if (instance->refillTimer) instance->refillTimer->cancel();
    refill(stemKeyOf(instance->spec));
  }

  void launchStem(const StemKey& key) {
    auto instance = std::make_shared<Instance>(io);
    instance->id = nextId++;
    instance->state = InstanceState::kStemLaunching;
    instance->path = StartPath::kStem;
    instance->spec.runtime = key.runtime;
    instance->spec.memoryMb = key.memoryMb;
    instance->spec.networkAccess = key.network;
    instances[instance->id] = instance;
    instance->sandbox = stemSandbox(instance->id, key, pool.nextSerial(), options, compiledShimDir);
    instance->sandboxDir = stemSandboxDir(instance->sandbox);
    launchSandbox(instance);
  }

  void armLoadTimer(const InstancePtr& instance) {
    // Not in the pool before its runtime has loaded and says so (LOADED): a stem taken earlier
    // would make the start wait for the interpreter after all.
    instance->lifeTimer = std::make_unique<asio::steady_timer>(io, kStemLoadTimeout);
    instance->lifeTimer->async_wait([this, instance](const asio::error_code& ec) {
      if (!ec && apply(instance, E::kLoadTimeout)) {
        spdlog::warn("a pre-started sandbox did not load its runtime within {} s", kStemLoadTimeout.count());
      }
    });
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
    apply(stem, E::kRetired);
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
    apply(stem, E::kTaken);
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
    if (linked.ok()) {
      apply(stem, E::kLinked);
      return;
    }
    apply(stem, E::kLinkFailed,
          {std::nullopt,
           absl::InternalError(absl::StrCat("cannot link the function's code into the sandbox: ", linked.message()))});
  }

  // ---- protocol ----
  void onFrame(const InstancePtr& instance, Frame&& frame) {
    if (frame.type == "RESULT" || frame.type == "ERROR") return onReply(instance, std::move(frame));
    if (frame.type == "LOG") return instance->session.log(frame.id, frame.body);
    if (frame.type == "LOADED") {
      // The runtime is up and waits for INIT. Only a stem acts on it; a direct start goes on to
      // READY, and only remembers it for the start-failure report.
      instance->saidLoaded = true;
      apply(instance, E::kLoadedFrame);
    } else if (frame.type == "READY") {
      apply(instance, E::kReadyFrame);
    } else if (frame.type == "INITERROR") {
      // The runtime exits by itself; the exit path reports the failed start.
      apply(instance, E::kInitErrorFrame, {initializerError(frame.body), {}});
    }
  }

  void onReply(const InstancePtr& instance, Frame&& frame) {
    RuntimeSession& session = instance->session;
    // What the request wrote to the raw descriptors before replying may still sit in the
    // pipes: take it now, or it would miss the request's logs.
    if (session.size() == 1) instance->channel.drainPipes([&session](std::string_view data) { session.output(data); });
    std::optional<PendingRequest> pending = session.remove(frame.id);
    if (!pending) return;
    --requestsInFlight;
    if (pending->timer) pending->timer->cancel();
    complete(std::move(pending->done), replyOutcome(*pending, std::move(frame), SteadyClock::now()));
    refillAfterStart(instance); // once the first reply is on its way
    // Draining: STOP once the last request has finished.
    if (instance->state == InstanceState::kDraining && session.empty()) {
      instance->channel.send(Frame{"STOP", "-", {}, ""}, instance);
    }
  }

  void onBroken(const InstancePtr& instance, const absl::Status& status) {
    spdlog::warn("instance {} broke the runtime protocol: {}", instance->id, status.ToString());
    apply(instance, E::kProtocolError, {FunctionError{"Crashed", "the runtime broke the protocol", ""}, {}});
  }

  // ---- invoke ----
  // `calledAt`: when the caller called invoke(), on its own thread.
  void invoke(InstanceId id, InvokeRequest request, InvokeCallback done, SteadyClock::time_point calledAt) {
    auto it = instances.find(id);
    if (it == instances.end()) {
      return complete(std::move(done), InvokeOutcome::refusedBecause(absl::StrCat("instance ", id, " is gone")));
    }
    const InstancePtr& instance = it->second;
    if (instance->state != InstanceState::kReady) {
      return complete(std::move(done), InvokeOutcome::refusedBecause(absl::StrCat("instance ", id, " is not ready")));
    }
    if (auto refusal = instance->session.refusal(id, request.requestId, instance->spec.concurrency)) {
      return complete(std::move(done), InvokeOutcome::refusedBecause(std::move(*refusal)));
    }
    const auto now = SteadyClock::now();
    const auto limit = now + absl::ToChronoMilliseconds(instance->spec.timeout);
    const auto deadline = std::min(limit, request.deadline);
    const auto remainingMs = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();

    PendingRequest& pending = instance->session.add(request.requestId);
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
    instance->channel.send(Frame{"INVOKE",
                                 request.requestId,
                                 {std::to_string(std::max<int64_t>(remainingMs, 0))},
                                 std::move(request.payload)},
                           instance);
  }

  void onCancel(const InstancePtr& instance, const std::string& requestId) {
    if (instance->session.cancel(requestId)) instance->channel.send(Frame{"CANCEL", requestId, {}, ""}, instance);
  }

  void onTimeout(const InstancePtr& instance, const std::string& requestId) {
    std::optional<PendingRequest> pending = instance->session.remove(requestId);
    if (!pending) return;
    --requestsInFlight;
    complete(std::move(pending->done), timeoutOutcome(*pending, SteadyClock::now()));
    // The handler may be stuck anywhere; only killing the instance gets the slot back safely.
    apply(instance, E::kRequestTimeout,
          {FunctionError{"InstanceLost", "another request on the instance timed out", ""}, {}});
  }

  // ---- stop and exit ----
  void stop(InstanceId id, StopMode mode) {
    auto it = instances.find(id);
    if (it == instances.end()) return;
    const InstancePtr instance = it->second;
    instance->stopRequested = true;
    apply(instance, mode == StopMode::kNow ? E::kStopNow : E::kStopDrain);
  }

  // Drain: no new requests; STOP once idle, and a kill if the runtime has not exited after the
  // function timeout plus a grace.
  void startDrain(const InstancePtr& instance) {
    if (instance->session.empty()) instance->channel.send(Frame{"STOP", "-", {}, ""}, instance);
    instance->lifeTimer =
        std::make_unique<asio::steady_timer>(io, kDrainGrace + absl::ToChronoSeconds(instance->spec.timeout));
    instance->lifeTimer->async_wait([this, instance](const asio::error_code& ec) {
      if (!ec) apply(instance, E::kDrainTimeout);
    });
  }

  void onProcessExit(const InstancePtr& instance) {
    int status = 0;
    ::waitpid(instance->process.pid, &status, 0);
    RuntimeSession& session = instance->session;
    // The last words on stderr belong in the crash report.
    instance->channel.drainPipes([&session](std::string_view data) { session.output(data); });
    ExitFacts facts;
    facts.waitStatus = status;
    facts.oomKilled = launcher->oomKilled(instance->process);
    facts.stopRequested = instance->stopRequested;
    facts.killedFor = instance->killedFor;
    facts.platformStartFailure = std::string(instance->platformStartFailure.message());
    facts.saidLoaded = instance->saidLoaded;
    facts.runtime = instance->spec.runtime;
    facts.memoryMb = instance->spec.memoryMb;
    facts.stderrTail = instance->channel.stderrTail();
    ExitClassification exited = classifyExit(facts);
    const std::string reason = std::move(exited.reason);
    const FunctionError error = std::move(exited.requestError);
    std::map<std::string, PendingRequest> lost = session.removeAll();
    for (auto& [requestId, pending] : lost) {
      if (pending.timer) pending.timer->cancel();
      complete(std::move(pending.done), lostOutcome(pending, error, SteadyClock::now()));
    }
    requestsInFlight -= lost.size();
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
    if (t.has(A::kReportFailedStart)) notifyStarted(id, classifyFailedStart(facts, reason, instance->path));
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
        if (report) asio::post(io, [this, id, reason, requested] { notifyExit(id, InstanceExit{reason, requested}); });
      });
    });
    // One that died idle is replaced at once. One that never loaded is not: its runtime may be
    // broken, and relaunching at once would loop; the next start() of its kind refills the pool.
    if (t.has(A::kRefillPool)) refill(key);
    refillAfterStart(instance);
  }

  SandboxEngineOptions options;
  std::unique_ptr<SandboxLauncher> launcher;
  Executor executor;
  InstanceObserver& observer;
  std::atomic<InstanceId> nextId;
  StemPool pool; // on the loop only, but for its ready counts
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::map<InstanceId, InstancePtr> instances; // on the loop only
  size_t requestsInFlight = 0;                 // on the loop only: the sum of the instances' sessions
  std::filesystem::path compiledShimDir;       // on the loop only; see compilePythonShim()
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
