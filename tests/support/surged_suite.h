// A test suite that shares one real surged child process (on a free loopback port, with its own
// data dir and the bootstrap admin key as the default key) among all its tests.
#pragma once

#include "support/client.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <memory>

namespace surge::testing {

class SurgedSuite : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    surged_ = std::make_unique<SurgedProcess>(dir_->path() / "data");
    channel_ = makeChannel(surged_->address());
  }
  // Every test starts with the suite's admin key as the default, whatever the one before did
  // (a test that starts a surged of its own makes that server's key the default).
  void SetUp() override { setDefaultApiKey(surged_->adminKey()); }

  static void TearDownTestSuite() {
    channel_.reset(); // closed first, so that surged stops at once
    surged_.reset();
    dir_.reset();
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<SurgedProcess> surged_;
  static inline std::shared_ptr<grpc::Channel> channel_;
};

} // namespace surge::testing
