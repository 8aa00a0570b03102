// The one owner of a file descriptor: closes it when it goes out of scope.
#pragma once

#include <utility>

namespace surge::common {

// Move-only; -1 when it owns nothing. Not thread-safe: one owner at a time.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership: the caller now closes the descriptor.
  int release() { return std::exchange(fd_, -1); }
  // Closes the descriptor owned now, if any, and owns `fd` instead.
  void reset(int fd = -1);
  // Closes now and returns what close() did (0, or -1 with errno), for callers that must know:
  // a failing close can report a lost write. 0 when there was nothing to close.
  int close();

private:
  int fd_ = -1;
};

} // namespace surge::common
