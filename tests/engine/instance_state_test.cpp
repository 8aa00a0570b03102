// The instance state machine: the lifecycles it allows, and every state and event pair checked
// against the table in docs/engine.md (which must list exactly the pairs the code handles).
#include "engine/instance_state.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace surge::engine {
namespace {

using S = InstanceState;
using E = InstanceEvent;
using A = InstanceAction;
using Kind = InstanceTransition::Kind;

uint32_t bits(std::initializer_list<A> actions) {
  uint32_t result = 0;
  for (A action : actions) result |= static_cast<uint32_t>(action);
  return result;
}

// Applies `events` from `state` and returns where it ends, failing on any that does not move it.
S walk(S state, std::initializer_list<E> events) {
  for (E event : events) {
    const InstanceTransition t = nextState(state, event);
    EXPECT_EQ(t.kind, Kind::kMove) << toString(event) << " in " << toString(state);
    state = t.to;
  }
  return state;
}

TEST(InstanceState, APooledStartLoadsLinksInitializesServesAndExits) {
  EXPECT_EQ(walk(S::kStemLaunching, {E::kLaunched, E::kLoadedFrame}), S::kPooled);
  EXPECT_EQ(walk(S::kPooled, {E::kTaken, E::kLinked, E::kReadyFrame}), S::kReady);
  EXPECT_EQ(walk(S::kReady, {E::kStopDrain, E::kProcessExited}), S::kExited);
}

TEST(InstanceState, ADirectStartGetsInitOnceLaunched) {
  const InstanceTransition t = nextState(S::kLaunching, E::kLaunched);
  EXPECT_EQ(t.to, S::kInitializing);
  EXPECT_EQ(t.actions, bits({A::kSendInit}));
}

TEST(InstanceState, AStopBeforeTheLaunchKillsTheProcessOnceItExists) {
  const InstanceTransition stop = nextState(S::kLaunching, E::kStopNow);
  EXPECT_EQ(stop.to, S::kAborting);
  EXPECT_EQ(stop.actions, bits({A::kMarkStopped, A::kKillProcess}));
  const InstanceTransition launched = nextState(S::kAborting, E::kLaunched);
  EXPECT_EQ(launched.kind, Kind::kMove);
  EXPECT_EQ(launched.to, S::kAborting);
  EXPECT_EQ(launched.actions, bits({A::kKillProcess}));
  EXPECT_EQ(nextState(S::kAborting, E::kProcessExited).actions, bits({A::kReportFailedStart, A::kReportExit}));
}

TEST(InstanceState, OnlyAnExitBeforeReadyReportsAFailedStart) {
  for (S state : {S::kLinking, S::kInitializing, S::kAborting}) {
    EXPECT_TRUE(nextState(state, E::kProcessExited).has(A::kReportFailedStart)) << toString(state);
  }
  for (S state : {S::kReady, S::kDraining, S::kExiting}) {
    const InstanceTransition t = nextState(state, E::kProcessExited);
    EXPECT_FALSE(t.has(A::kReportFailedStart)) << toString(state);
    EXPECT_TRUE(t.has(A::kReportExit)) << toString(state);
  }
}

TEST(InstanceState, AStemsExitIsReportedToNobodyAndKeepsThePoolCountsRight) {
  for (S state : {S::kStemLoading, S::kPooled, S::kStemAbandoned, S::kStemRetired}) {
    const InstanceTransition t = nextState(state, E::kProcessExited);
    EXPECT_EQ(t.to, S::kExited);
    EXPECT_FALSE(t.has(A::kReportExit)) << toString(state);
    EXPECT_FALSE(t.has(A::kReportFailedStart)) << toString(state);
    EXPECT_TRUE(isStem(state));
  }
  // Counted as launching until LOADED; in the pool after it.
  EXPECT_EQ(nextState(S::kStemLoading, E::kProcessExited).actions, bits({A::kUncountLaunch}));
  EXPECT_EQ(nextState(S::kStemAbandoned, E::kProcessExited).actions, bits({A::kUncountLaunch}));
  EXPECT_EQ(nextState(S::kPooled, E::kProcessExited).actions, bits({A::kLeavePool, A::kRefillPool}));
  EXPECT_EQ(nextState(S::kStemRetired, E::kProcessExited).actions, bits({A::kRefillPool}));
  EXPECT_FALSE(isStem(S::kLinking));
}

TEST(InstanceState, AStemKilledWhileLoadingNeverJoinsThePool) {
  EXPECT_EQ(walk(S::kStemLoading, {E::kLoadTimeout}), S::kStemAbandoned);
  const InstanceTransition loaded = nextState(S::kStemAbandoned, E::kLoadedFrame);
  EXPECT_EQ(loaded.kind, Kind::kIgnored);
  EXPECT_EQ(loaded.to, S::kStemAbandoned);
  EXPECT_FALSE(loaded.why.empty());
}

TEST(InstanceState, ARequestTimeoutKillsAReadyInstanceAndOnlyAddsToTheRecordOfAKilledOne) {
  EXPECT_EQ(nextState(S::kReady, E::kRequestTimeout).actions, bits({A::kRecordCause, A::kKillProcess}));
  const InstanceTransition t = nextState(S::kExiting, E::kRequestTimeout);
  EXPECT_EQ(t.to, S::kExiting);
  EXPECT_EQ(t.actions, bits({A::kRecordCause}));
}

TEST(InstanceState, WhatCannotHappenIsImpossibleAndLeavesTheStateAlone) {
  const InstanceTransition t = nextState(S::kReady, E::kTaken);
  EXPECT_EQ(t.kind, Kind::kImpossible);
  EXPECT_EQ(t.to, S::kReady);
  EXPECT_EQ(t.actions, 0u);
}

// ---- the table in docs/engine.md ----

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, separator);) parts.push_back(trim(part));
  return parts;
}

template <typename T, int N> std::map<std::string, T> namesOf() {
  std::map<std::string, T> names;
  for (int i = 0; i < N; ++i) names[std::string(toString(static_cast<T>(i)))] = static_cast<T>(i);
  return names;
}

std::map<std::string, A> actionNames() {
  std::map<std::string, A> names;
  for (int i = 0; i < kInstanceActionCount; ++i) {
    const A action = static_cast<A>(1u << i);
    names[std::string(toString(action))] = action;
  }
  return names;
}

struct Expected {
  Kind kind;
  std::optional<S> to; // nullopt: stays
  uint32_t actions;
};

// Every (state, event) pair the docs' table lists, with what it says the transition does.
std::map<std::pair<S, E>, Expected> readDocsTable(size_t& rows) {
  std::ifstream file(SURGE_ENGINE_DOC);
  EXPECT_TRUE(file.is_open()) << SURGE_ENGINE_DOC;
  const auto states = namesOf<S, kInstanceStateCount>();
  const auto events = namesOf<E, kInstanceEventCount>();
  const auto actions = actionNames();
  std::map<std::pair<S, E>, Expected> table;
  bool inside = false;
  rows = 0;
  for (std::string line; std::getline(file, line);) {
    if (line.find("instance-state-table: begin") != std::string::npos) inside = true;
    if (line.find("instance-state-table: end") != std::string::npos) inside = false;
    if (!inside || line.rfind("| ", 0) != 0 || line.rfind("| from", 0) == 0 || line.rfind("| ---", 0) == 0) continue;
    const std::vector<std::string> cells = split(line.substr(1), '|');
    EXPECT_GE(cells.size(), 4u) << line;
    if (cells.size() < 4) continue;
    ++rows;
    Expected expected{Kind::kMove, std::nullopt, 0};
    if (cells[2] == "ignored") {
      expected.kind = Kind::kIgnored;
    } else if (cells[2] != "(stays)") {
      EXPECT_TRUE(states.contains(cells[2])) << line;
      if (states.contains(cells[2])) expected.to = states.at(cells[2]);
    }
    if (!cells[3].empty()) {
      for (const std::string& name : split(cells[3], ',')) {
        EXPECT_TRUE(actions.contains(name)) << name << " in " << line;
        if (actions.contains(name)) expected.actions |= static_cast<uint32_t>(actions.at(name));
      }
    }
    EXPECT_TRUE(events.contains(cells[1])) << line;
    for (const std::string& from : split(cells[0], ',')) {
      EXPECT_TRUE(states.contains(from)) << from << " in " << line;
      if (!states.contains(from) || !events.contains(cells[1])) continue;
      const bool fresh = table.emplace(std::pair{states.at(from), events.at(cells[1])}, expected).second;
      EXPECT_TRUE(fresh) << from << " on " << cells[1] << " is listed twice";
    }
  }
  return table;
}

TEST(InstanceStateTable, EveryStateAndEventPairIsAsTheDocsTableSaysAndUnlistedOnesAreImpossible) {
  size_t rows = 0;
  const auto table = readDocsTable(rows);
  EXPECT_GT(rows, 40u);
  size_t handled = 0;
  for (int s = 0; s < kInstanceStateCount; ++s) {
    for (int e = 0; e < kInstanceEventCount; ++e) {
      const S state = static_cast<S>(s);
      const E event = static_cast<E>(e);
      const InstanceTransition t = nextState(state, event);
      SCOPED_TRACE(std::string(toString(state)) + " on " + std::string(toString(event)));
      auto it = table.find({state, event});
      if (it == table.end()) {
        EXPECT_EQ(t.kind, Kind::kImpossible) << "the code handles a pair the docs do not list";
        EXPECT_EQ(t.to, state);
        continue;
      }
      ++handled;
      const Expected& expected = it->second;
      EXPECT_EQ(t.kind, expected.kind);
      EXPECT_EQ(t.to, expected.to.value_or(state));
      EXPECT_EQ(t.actions, expected.actions);
      if (t.kind == Kind::kIgnored) {
        EXPECT_FALSE(t.why.empty()) << "an ignored event says why";
      }
    }
  }
  // The docs list the pairs the code handles, no more: every listed pair was walked above.
  EXPECT_EQ(handled, table.size());
}

TEST(InstanceStateTable, NamesAreDistinctAndCountsMatchTheEnums) {
  EXPECT_EQ((namesOf<S, kInstanceStateCount>().size()), static_cast<size_t>(kInstanceStateCount));
  EXPECT_EQ((namesOf<E, kInstanceEventCount>().size()), static_cast<size_t>(kInstanceEventCount));
  EXPECT_EQ(actionNames().size(), static_cast<size_t>(kInstanceActionCount));
  EXPECT_FALSE((namesOf<S, kInstanceStateCount>().contains("?")));
  EXPECT_FALSE((namesOf<E, kInstanceEventCount>().contains("?")));
  EXPECT_FALSE(actionNames().contains("?"));
}

} // namespace
} // namespace surge::engine
