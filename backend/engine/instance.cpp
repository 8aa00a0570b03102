// One instance's requests in flight, and the facts its exit report reads.
#include "engine/instance.h"

namespace surge::engine {

std::optional<PendingRequest> InFlightRequests::remove(const std::string& requestId) {
  auto it = requests_.find(requestId);
  if (it == requests_.end()) return std::nullopt;
  std::optional<PendingRequest> pending(std::move(it->second));
  requests_.erase(it);
  return pending;
}

bool InFlightRequests::cancel(const std::string& requestId) {
  auto it = requests_.find(requestId);
  if (it == requests_.end() || it->second.cancelled) return false;
  it->second.cancelled = true;
  return true;
}

void InFlightRequests::log(const std::string& requestId, std::string_view data) {
  auto it = requests_.find(requestId);
  if (it != requests_.end()) it->second.log.append(data);
}
ExitFacts Instance::exitFacts(int waitStatus, bool oomKilled) const {
  ExitFacts facts;
  facts.waitStatus = waitStatus;
  facts.oomKilled = oomKilled;
  facts.stopRequested = stopRequested;
  facts.killedFor = killedFor;
  facts.platformStartFailure = std::string(platformStartFailure.message());
  facts.saidLoaded = saidLoaded;
  facts.runtime = spec.runtime;
  facts.memoryMb = spec.memoryMb;
  facts.stderrTail = channel.stderrTail();
  return facts;
}

} // namespace surge::engine
