// QueuedStream: the shape both server-streaming calls share (WatchMetrics, TailLogs). Messages
// come from a queue other threads fill (common::WakingQueue); the stream writes one at a time,
// asks its subclass for the next when a write is done or the queue wakes it, and finishes once:
// when the subclass says so, when the client cancels, or when a write fails. Other threads hold
// an Alive handle, never the stream, which OnDone() clears before the stream is deleted.
#pragma once

#include "api/status_mapping.h"
#include "common/mutex.h"

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

namespace surge::api {

// `Derived` implements, with mu_ held:
//   Step nextStep();  // what to do now: write a message, end with a status, or wait
// and may override onDone() (unsubscribe), called once, after the stream is gone for others.
template <typename Derived, typename Message> class QueuedStream : public grpc::ServerWriteReactor<Message> {
public:
  struct Alive {
    common::Mutex mu;
    // The base, set while the derived stream is still being constructed: it is cast to Derived
    // only once the stream is whole (ifAlive runs after the constructor has returned).
    QueuedStream* stream ABSL_GUARDED_BY(mu) = nullptr;
  };
  std::shared_ptr<Alive> alive() const { return alive_; }
  // Runs `run` on the stream unless it is gone.
  static void ifAlive(Alive& alive, const std::function<void(Derived&)>& run) {
    common::MutexLock lock(alive.mu);
    if (alive.stream) run(*static_cast<Derived*>(alive.stream));
  }

  // Ends the stream with `status` unless it has ended.
  void fail(const absl::Status& status) {
    {
      common::MutexLock lock(mu_);
      if (std::exchange(finished_, true)) return;
    }
    this->Finish(toGrpcStatus(status));
  }

  void OnWriteDone(bool ok) override {
    bool finish = false;
    {
      common::MutexLock lock(mu_);
      writing_ = false;
      if (!ok || cancelled_) finish = !std::exchange(finished_, true);
    }
    if (finish) return this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
    pump();
  }

  void OnCancel() override {
    bool finish = false;
    {
      common::MutexLock lock(mu_);
      cancelled_ = true;
      if (!writing_) finish = !std::exchange(finished_, true);
    }
    if (finish) this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled"));
  }

  void OnDone() override {
    {
      common::MutexLock lock(alive_->mu);
      alive_->stream = nullptr;
    }
    static_cast<Derived*>(this)->onDone();
    delete static_cast<Derived*>(this);
  }

protected:
  // What nextStep() returns: a message to write (it must stay alive until the next step), a
  // status to end with, or neither: wait for a wakeup.
  struct Step {
    const Message* write = nullptr;
    std::optional<grpc::Status> end;
  };

  QueuedStream() : alive_(std::make_shared<Alive>()) {
    common::MutexLock lock(alive_->mu);
    alive_->stream = this;
  }
  void onDone() {}
  // Whether the stream has ended (or is ending).
  bool ended() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return finished_; }

  // Writes the next message unless one is being written or the stream has ended.
  void pump() {
    Step step;
    {
      common::MutexLock lock(mu_);
      if (writing_ || finished_) return;
      step = static_cast<Derived*>(this)->nextStep();
      if (step.write) {
        writing_ = true;
      } else if (step.end) {
        finished_ = true;
      } else {
        return;
      }
    }
    if (step.write) return this->StartWrite(step.write);
    this->Finish(*step.end);
  }

  mutable common::Mutex mu_;

private:
  std::shared_ptr<Alive> alive_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

} // namespace surge::api
