// The fd owner: closes what it owns exactly once, and nothing it gave away.
#include "common/unique_fd.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace surge::common {
namespace {

bool isOpen(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

int openDevNull() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

TEST(UniqueFd, ClosesWhatItOwnsWhenItGoesOutOfScope) {
  int raw = -1;
  {
    UniqueFd fd(openDevNull());
    raw = fd.get();
    ASSERT_TRUE(fd.valid());
    EXPECT_TRUE(isOpen(raw));
  }
  EXPECT_FALSE(isOpen(raw));
  EXPECT_EQ(errno, EBADF);
}

TEST(UniqueFd, OwnsNothingByDefault) {
  UniqueFd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(fd.get(), -1);
  EXPECT_EQ(fd.close(), 0);
}

TEST(UniqueFd, ReleaseHandsTheDescriptorOverUnclosed) {
  int raw = -1;
  {
    UniqueFd fd(openDevNull());
    raw = fd.release();
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_TRUE(isOpen(raw));
  ::close(raw);
}

TEST(UniqueFd, MovingTransfersOwnershipAndAssignmentClosesTheOldDescriptor) {
  UniqueFd first(openDevNull());
  const int firstRaw = first.get();
  UniqueFd moved(std::move(first));
  EXPECT_FALSE(first.valid()); // the moved-from state is part of the contract
  EXPECT_EQ(moved.get(), firstRaw);

  UniqueFd second(openDevNull());
  const int secondRaw = second.get();
  moved = std::move(second);
  EXPECT_FALSE(isOpen(firstRaw));
  EXPECT_EQ(moved.get(), secondRaw);
  EXPECT_TRUE(isOpen(secondRaw));
}

TEST(UniqueFd, ResetClosesTheOldDescriptorAndOwnsTheNewOne) {
  UniqueFd fd(openDevNull());
  const int oldRaw = fd.get();
  const int newRaw = ::fcntl(oldRaw, F_DUPFD_CLOEXEC, 0);
  fd.reset(newRaw);
  EXPECT_FALSE(isOpen(oldRaw));
  EXPECT_EQ(fd.get(), newRaw);
  fd.reset();
  EXPECT_FALSE(fd.valid());
  EXPECT_FALSE(isOpen(newRaw));
}

TEST(UniqueFd, CloseReportsTheResultAndLeavesNothingToCloseTwice) {
  int pipe[2];
  ASSERT_EQ(::pipe2(pipe, O_CLOEXEC), 0);
  UniqueFd reader(pipe[0]);
  UniqueFd writer(pipe[1]);
  EXPECT_EQ(writer.close(), 0);
  EXPECT_FALSE(writer.valid());
  EXPECT_FALSE(isOpen(pipe[1]));
  EXPECT_EQ(writer.close(), 0);

  // A descriptor closed behind its owner's back: close() says so.
  ::close(reader.get());
  EXPECT_EQ(reader.close(), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_FALSE(reader.valid());
}

} // namespace
} // namespace surge::common
