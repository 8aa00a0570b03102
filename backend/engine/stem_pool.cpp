// The pool of pre-started sandboxes: bookkeeping on the loop, ready counts for other threads,
// and the hard links that give a taken stem its function's code.
#include "engine/stem_pool.h"

#include <absl/strings/str_cat.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace surge::engine {

StemKey stemKeyOf(const InstanceSpec& spec) { return {spec.runtime, spec.memoryMb, spec.networkAccess}; }

StemPool::StemPool(bool enabled, int defaultSize, std::map<common::Runtime, int> sizes)
    : enabled_(enabled), defaultSize_(defaultSize), sizes_(std::move(sizes)) {}

int StemPool::sizeFor(common::Runtime runtime) const {
  if (!enabled_ || runtime == common::Runtime::kCustom) return 0;
  auto it = sizes_.find(runtime);
  return std::max(0, it == sizes_.end() ? defaultSize_ : it->second);
}

bool StemPool::wanted(const StemKey& key) const {
  return !key.network || networkKinds_.contains(NetworkSandboxKind{key.runtime, key.memoryMb});
}

int StemPool::reserveLaunches(const StemKey& key) {
  const int size = sizeFor(key.runtime);
  if (size == 0 || !wanted(key)) return 0;
  const int have = static_cast<int>(ready_[key].size());
  int& launching = launching_[key];
  const int missing = std::max(0, size - have - launching);
  launching += missing;
  return missing;
}

void StemPool::uncountLaunch(const StemKey& key) { --launching_[key]; }

bool StemPool::join(const StemKey& key, InstanceId stem) {
  --launching_[key];
  if (!wanted(key)) return false;
  ready_[key].push_back(stem);
  publish(key);
  return true;
}

std::optional<InstanceId> StemPool::take(const StemKey& key) {
  auto it = ready_.find(key);
  if (it == ready_.end() || it->second.empty()) return std::nullopt;
  const InstanceId stem = it->second.front();
  it->second.pop_front();
  publish(key);
  return stem;
}

void StemPool::remove(const StemKey& key, InstanceId stem) {
  auto& ready = ready_[key];
  ready.erase(std::remove(ready.begin(), ready.end(), stem), ready.end());
  publish(key);
}

std::vector<InstanceId> StemPool::setNetworkKinds(std::set<NetworkSandboxKind> kinds) {
  networkKinds_ = std::move(kinds);
  std::vector<InstanceId> unwanted;
  for (auto& [key, ready] : ready_) {
    if (wanted(key)) continue;
    unwanted.insert(unwanted.end(), ready.begin(), ready.end());
    ready.clear();
    publish(key);
  }
  return unwanted;
}

void StemPool::publish(const StemKey& key) {
  {
    common::MutexLock lock(readyMu_);
    readyCounts_[key] = ready_[key].size();
  }
  readyChanged_.notifyAll();
}

size_t StemPool::readyCount(const StemKey& key) const {
  common::MutexLock lock(readyMu_);
  auto it = readyCounts_.find(key);
  return it == readyCounts_.end() ? 0 : it->second;
}

std::map<std::string, uint32_t> StemPool::readyByRuntime() const {
  std::map<std::string, uint32_t> ready;
  common::MutexLock lock(readyMu_);
  for (const auto& [key, count] : readyCounts_) ready[std::string(common::runtimeName(key.runtime))] += count;
  return ready;
}

bool StemPool::waitReady(const StemKey& key, size_t count, std::chrono::milliseconds timeout) const {
  common::MutexLock lock(readyMu_);
  return readyChanged_.waitFor(readyMu_, timeout, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(readyMu_) {
    auto it = readyCounts_.find(key);
    return it != readyCounts_.end() && it->second >= count;
  });
}

bool fewEntries(const std::filesystem::path& dir, int limit) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int count = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (++count > limit) return false;
  }
  return !ec;
}

absl::Status linkTree(const std::filesystem::path& source, const std::filesystem::path& target) {
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
  if (ec) return absl::InternalError(absl::StrCat("cannot prepare the code of ", source.string(), ": ", ec.message()));
  return absl::OkStatus();
}

} // namespace surge::engine
