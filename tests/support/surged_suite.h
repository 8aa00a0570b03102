// A test suite that shares one surged (on a free loopback port, with its own data dir and the
// bootstrap admin key as the default key) among all its tests: a real child process with real
// sandboxes (SurgedSuite), or the server in the test's own process with the FakeEngine
// (InProcessSurgedSuite, support/in_process_surged.h), for API tests not about sandboxes.
#pragma once

#include "support/client.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <gtest/gtest.h>

#include <memory>

namespace surge::testing {

template <typename Server> class SurgedSuiteOf : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    surged_ = std::make_unique<Server>(dir_->path() / "data");
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
  static inline std::unique_ptr<Server> surged_;
  static inline std::shared_ptr<grpc::Channel> channel_;
};

using SurgedSuite = SurgedSuiteOf<SurgedProcess>;

} // namespace surge::testing
