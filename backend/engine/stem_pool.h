// The pool of pre-started sandboxes ("stems") as bookkeeping: which stems are ready per kind, how
// many are being launched, which network kinds are wanted, and the ready counts other threads
// wait on. It launches and kills nothing itself: the engine asks it what to launch and tells it
// what became of each stem. Also the linking of a function's code into a taken stem's /code.
#pragma once

#include "common/mutex.h"
#include "engine/engine.h"

#include <absl/status/status.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace surge::engine {

// Stems are kept per runtime, memory size and network: a network stem sits in a namespace
// with outbound network, which a function without network must never get, and the reverse.
struct StemKey {
  common::Runtime runtime;
  uint32_t memoryMb;
  bool network;
  auto operator<=>(const StemKey&) const = default;
};
StemKey stemKeyOf(const InstanceSpec& spec);

// Everything but readyCount() and waitReady() is for the engine's loop thread only.
class StemPool {
public:
  // `enabled` false keeps no stems at all. Per runtime: `sizes[runtime]` when listed, else
  // `defaultSize`; 0 (or less) keeps none. Custom runtimes are never pre-started.
  StemPool(bool enabled, int defaultSize, std::map<common::Runtime, int> sizes);

  // How many stems to keep for `runtime` at each memory size.
  int sizeFor(common::Runtime runtime) const;
  // Network-on stems only for the kinds that stored functions use: each one holds a network
  // namespace and a helper process.
  bool wanted(const StemKey& key) const;
  // How many stems of `key` to launch now to fill the pool; they count as launching from here on.
  int reserveLaunches(const StemKey& key);
  // A stem counted as launching ended without joining the pool (its launch failed, or it died
  // or was killed before it said LOADED).
  void uncountLaunch(const StemKey& key);
  // A launching stem said LOADED. True: it is in the pool. False: its kind is no longer wanted,
  // and the caller retires it.
  bool join(const StemKey& key, InstanceId stem);
  // The oldest ready stem of `key`, out of the pool; nullopt when there is none.
  std::optional<InstanceId> take(const StemKey& key);
  // Out of the pool, if it is there.
  void remove(const StemKey& key, InstanceId stem);
  // Network kinds wanted from now on. Returns the ready stems of kinds no longer wanted, already
  // out of the pool, for the caller to retire (stems still loading are retired when they say
  // LOADED, see join()).
  std::vector<InstanceId> setNetworkKinds(std::set<NetworkSandboxKind> kinds);
  const std::set<NetworkSandboxKind>& networkKinds() const { return networkKinds_; }
  // A serial number per stem launched, for its uid.
  uint32_t nextSerial() { return serial_++; }

  // Ready stems of `key` now. Thread-safe.
  size_t readyCount(const StemKey& key) const;
  // Ready stems by runtime name, over every memory size and network. Thread-safe.
  std::map<std::string, uint32_t> readyByRuntime() const;
  // Waits until at least `count` are ready, or `timeout` passes (false). Thread-safe.
  bool waitReady(const StemKey& key, size_t count, std::chrono::milliseconds timeout) const;

private:
  void publish(const StemKey& key);

  const bool enabled_;
  const int defaultSize_;
  const std::map<common::Runtime, int> sizes_;
  std::map<StemKey, std::deque<InstanceId>> ready_; // on the loop only
  std::map<StemKey, int> launching_;                // on the loop only
  std::set<NetworkSandboxKind> networkKinds_;       // on the loop only; see wanted()
  uint32_t serial_ = 0;                             // on the loop only
  mutable common::Mutex readyMu_;
  mutable common::CondVar readyChanged_;
  std::map<StemKey, size_t> readyCounts_ ABSL_GUARDED_BY(readyMu_); // for readyCount(), from any thread
};

// Whether the tree below `dir` has at most `limit` entries (false if it cannot be read).
bool fewEntries(const std::filesystem::path& dir, int limit);

// Mirrors `source` into `target` with hard links (copies when they are on different file
// systems): instant, and the files stay the read-only originals.
absl::Status linkTree(const std::filesystem::path& source, const std::filesystem::path& target);

} // namespace surge::engine
