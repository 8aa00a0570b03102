// The pure rendering behind "surgectl metrics" and "surgectl top": hand-built snapshots in,
// exact cells, lines and JSON out; no server.
#include "cli/metrics_commands.h"

#include "api/proto_time.h"
#include "cli/output.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace surge::cli {
namespace {

namespace v1 = surge::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'796'000'000); // 2026-11-30T...Z

google::protobuf::Timestamp at(absl::Time time) { return api::toProtoTimestamp(time); }

v1::FunctionMetrics function(const std::string& ns, const std::string& name, double tps) {
  v1::FunctionMetrics f;
  f.set_namespace_(ns);
  f.set_function(name);
  f.set_invocations_per_second(tps);
  return f;
}

// A busy function: 2 reserved instances wanted, 1 ready and busy; 1 on-demand idle, 1 starting.
v1::FunctionMetrics busyFunction() {
  v1::FunctionMetrics f = function("shop", "checkout", 12);
  f.set_errors_per_second(1.5);
  f.set_instances(3);
  f.set_reserved_instances(1);
  f.set_in_flight(2);
  f.set_queue_depth(4);
  f.set_cold_starts(1);
  f.mutable_outcomes()->set_success(10);
  f.mutable_outcomes()->set_function_error(1);
  f.mutable_outcomes()->set_timeout(1);
  f.mutable_outcomes()->set_refused(3);
  f.mutable_refusals()->set_queue_full(2);
  f.mutable_refusals()->set_queue_timeout(1);
  f.mutable_held_back()->set_max_instances(5);
  f.mutable_held_back()->set_memory(1);
  v1::LatencySummary* e2e = f.mutable_end_to_end();
  e2e->set_count(12);
  e2e->set_p50_ms(3.1);
  e2e->set_p95_ms(48.3);
  e2e->set_p99_ms(250.4);
  e2e->set_max_ms(1500);
  f.mutable_execution()->set_count(12);
  f.mutable_execution()->set_p50_ms(0.42);
  f.mutable_execution()->set_p95_ms(0.9);
  f.mutable_execution()->set_p99_ms(1.2);
  f.mutable_execution()->set_max_ms(1.3);
  v1::InstanceCounts* states = f.mutable_instance_states();
  states->set_reserved_busy(1);
  states->set_on_demand_idle(1);
  states->set_on_demand_starting(1);
  f.set_reserved_target(2);
  f.set_reserved_ready(1);
  f.set_utilisation(0.5);
  return f;
}

v1::MetricsSnapshot snapshotOf(std::vector<v1::FunctionMetrics> functions) {
  v1::MetricsSnapshot snapshot;
  *snapshot.mutable_time() = at(kNow);
  for (auto& f : functions) *snapshot.add_functions() = std::move(f);
  return snapshot;
}

std::string screen(const v1::MetricsSnapshot& snapshot) {
  std::ostringstream out;
  printTopScreen(out, snapshot);
  return out.str();
}

TEST(MetricsRender, TopOrdersByTpsDescendingThenByQualifiedName) {
  const v1::MetricsSnapshot snapshot =
      snapshotOf({function("b", "idle", 0), function("a", "slow", 2.5), function("b", "fast", 40),
                  function("a", "idle", 0), function("a", "zeta", 2.5)});
  std::vector<std::string> names;
  for (const v1::FunctionMetrics* f : topOrder(snapshot)) names.push_back(f->namespace_() + "/" + f->function());
  EXPECT_THAT(names, ElementsAre("b/fast", "a/slow", "a/zeta", "a/idle", "b/idle"));
  const auto rows = topRows(snapshot);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0][0], "b/fast");
  EXPECT_EQ(rows[4][0], "b/idle");
}

TEST(MetricsRender, TopRowShowsRatesEndToEndPercentilesAndInstanceFractions) {
  const auto rows = topRows(snapshotOf({busyFunction()}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(topColumns(), ElementsAre("FUNCTION", "TPS", "ERR/S", "P50", "P95", "P99", "INST", "RESERVED",
                                        "IN FLIGHT", "QUEUE", "UTIL"));
  // INST is ready (idle or busy: the reserved busy one and the on-demand idle one) of all three; RESERVED is ready of
  // the target.
  EXPECT_THAT(rows[0], ElementsAre("shop/checkout", "12.0", "1.5", "3.10 ms", "48.3 ms", "250 ms", "2/3", "1/2", "2",
                                   "4", "50%"));
}

TEST(MetricsRender, TopRowOfAnIdleFunctionShowsDashesForLatency) {
  const auto rows = topRows(snapshotOf({function("default", "quiet", 0)}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0], ElementsAre("default/quiet", "0.0", "0.0", "-", "-", "-", "0/0", "0/0", "0", "0", "0%"));
}

TEST(MetricsRender, TopFallsBackToTheOlderPercentileFieldsWithoutAnEndToEndSummary) {
  v1::FunctionMetrics f = function("default", "old", 1);
  f.set_p50_latency_ms(2);
  f.set_p95_latency_ms(20);
  f.set_p99_latency_ms(200);
  const auto rows = topRows(snapshotOf({f}));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][3], "2.00 ms");
  EXPECT_EQ(rows[0][4], "20.0 ms");
  EXPECT_EQ(rows[0][5], "200 ms");
}

TEST(MetricsRender, TopHeadlineSumsTheFunctionsWithoutServerFigures) {
  v1::FunctionMetrics a = function("a", "x", 2);
  a.set_errors_per_second(0.5);
  const auto lines = topHeadline(snapshotOf({a, function("a", "y", 3)}));
  EXPECT_THAT(lines, ElementsAre(formatTimestamp(at(kNow)) + "   2 functions   TPS 5.0   errors/s 0.5"));
}

TEST(MetricsRender, TopHeadlineShowsTheServersTotalsMemoryStartsAndSandboxes) {
  v1::MetricsSnapshot snapshot = snapshotOf({function("a", "x", 2)});
  v1::ServerMetrics* server = snapshot.mutable_server();
  server->mutable_total()->set_invocations_per_second(7);
  server->mutable_total()->set_errors_per_second(1);
  server->set_memory_budget_mb(4096);
  server->set_memory_used_mb(512);
  server->set_memory_reserved_mb(256);
  server->set_starts_in_progress(1);
  (*server->mutable_prestarted_sandboxes())["python3"] = 2;
  (*server->mutable_prestarted_sandboxes())["nodejs20"] = 1;
  EXPECT_THAT(topHeadline(snapshot),
              ElementsAre(formatTimestamp(at(kNow)) + "   1 function   TPS 7.0   errors/s 1.0",
                          "memory: 512 MiB used of 4096 MiB, 256 MiB reserved   starts in progress: 1   "
                          "pre-started: nodejs20 1, python3 2"));

  server->set_memory_budget_mb(0);
  server->clear_prestarted_sandboxes();
  EXPECT_EQ(topHeadline(snapshot)[1], "memory: 512 MiB used, 256 MiB reserved (no budget)   starts in progress: 1   "
                                      "pre-started: none");
}

TEST(MetricsRender, TopScreenIsTheHeadlineABlankLineAndTheTable) {
  const std::string out = screen(snapshotOf({function("a", "x", 1)}));
  EXPECT_EQ(out, formatTimestamp(at(kNow)) +
                     "   1 function   TPS 1.0   errors/s 0.0\n"
                     "\n"
                     "FUNCTION   TPS   ERR/S   P50   P95   P99   INST   RESERVED   IN FLIGHT   QUEUE   UTIL\n"
                     "a/x        1.0   0.0     -     -     -     0/0    0/0        0           0       0%\n");
  EXPECT_THAT(screen(snapshotOf({})), HasSubstr("UTIL\n(no function had instances or traffic in this second)\n"));
}

TEST(MetricsRender, FunctionInGivesZerosUnderTheNameWhenTheSnapshotHasNoEntry) {
  const v1::MetricsSnapshot snapshot = snapshotOf({busyFunction(), function("shop", "cart", 1)});
  const v1::FunctionMetrics cart = functionIn(snapshot, "shop", "cart");
  EXPECT_EQ(cart.invocations_per_second(), 1);
  EXPECT_TRUE(cart.has_outcomes());
  EXPECT_TRUE(cart.has_instance_states());
  // The same name in another namespace is another function.
  const v1::FunctionMetrics other = functionIn(snapshot, "default", "cart");
  EXPECT_EQ(other.namespace_(), "default");
  EXPECT_EQ(other.function(), "cart");
  EXPECT_EQ(other.invocations_per_second(), 0);
  EXPECT_TRUE(other.has_end_to_end());
  EXPECT_TRUE(other.has_cold_start());
}

TEST(MetricsRender, JsonLineIsOneObjectOnOneLineWithEveryPartPresent) {
  v1::MetricsSnapshot snapshot = snapshotOf({function("default", "hello", 3)});
  snapshot.mutable_functions(0)->mutable_outcomes()->set_success(3);
  fillAbsentParts(snapshot);
  std::ostringstream out;
  ASSERT_TRUE(printJsonLine(out, snapshot).ok());
  const std::string line = out.str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.front(), '{');
  EXPECT_THAT(line, HasSubstr("\"time\":\"" + formatTimestamp(at(kNow)) + "\""));
  EXPECT_THAT(line, HasSubstr("\"function\":\"hello\""));
  EXPECT_THAT(line, HasSubstr("\"invocationsPerSecond\":3"));
  // uint64 is a string in protobuf's JSON mapping; zeros are printed, and so are empty parts.
  EXPECT_THAT(line, HasSubstr("\"outcomes\":{\"success\":\"3\",\"functionError\":\"0\""));
  EXPECT_THAT(line, HasSubstr("\"coldStart\":{\"count\":\"0\""));
  EXPECT_THAT(line, HasSubstr("\"instanceStates\":{\"reservedStarting\":0"));
  EXPECT_THAT(line, Not(HasSubstr("\"server\""))); // only keys that see everything get it

  v1::MetricsSnapshot parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, snapshot));
}

TEST(MetricsRender, FunctionBlockShowsOutcomesLatenciesAndInstancesByKindAndState) {
  std::ostringstream out;
  printFunctionMetrics(out, at(kNow), busyFunction());
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("function:    shop/checkout\n"));
  EXPECT_THAT(text, HasSubstr("TPS:         12.0\n"));
  EXPECT_THAT(text, HasSubstr("errors/s:    1.5\n"));
  EXPECT_THAT(text, HasSubstr("outcomes:    10 success, 1 function error, 1 timeout, 0 platform error, 3 refused\n"));
  EXPECT_THAT(text, HasSubstr("refusals:    2 queue full, 1 queue timeout\n"));
  EXPECT_THAT(text, HasSubstr("held back:   5 max instances, 1 memory, 0 creation rate, 0 concurrent starts\n"));
  EXPECT_THAT(text, HasSubstr("reserved:    1 ready of 2 wanted\n"));
  EXPECT_THAT(text, HasSubstr("utilisation: 50%\n"));
  EXPECT_THAT(text, HasSubstr("LATENCY      COUNT   P50       P95       P99       MAX\n"
                              "end to end   12      3.10 ms   48.3 ms   250 ms    1.50 s\n"
                              "queue wait   0       -         -         -         -\n"
                              "execution    12      0.42 ms   0.90 ms   1.20 ms   1.30 ms\n"
                              "cold start   0       -         -         -         -\n"));
  EXPECT_THAT(text, HasSubstr("INSTANCES   STARTING   IDLE   BUSY   DRAINING   TOTAL\n"
                              "reserved    0          0      1      0          1\n"
                              "on-demand   1          1      0      0          2\n"));
}

TEST(MetricsRender, WatchRowsLineUpUnderTheHeaderPrintedOnce) {
  const StreamingTable table = watchTable();
  EXPECT_EQ(table.header(), "TIME       TPS      ERR/S   OK     FAILED   REFUSED   P50       P95       P99       "
                            "INST    RESERVED   IN FLIGHT   QUEUE   UTIL   COLD");
  const std::vector<std::string> row = watchRow(at(kNow + absl::Seconds(2)), busyFunction());
  EXPECT_THAT(row,
              ElementsAre(absl::FormatTime("%H:%M:%S", kNow + absl::Seconds(2), absl::UTCTimeZone()), "12.0", "1.5",
                          "10", "2", "3", "3.10 ms", "48.3 ms", "250 ms", "2/3", "1/2", "2", "4", "50%", "1"));
  const std::string line = table.row(row);
  EXPECT_EQ(line.find("12.0"), table.header().find("TPS"));
  EXPECT_EQ(line.find("250 ms"), table.header().find("P99"));
  EXPECT_EQ(line.rfind('1'), table.header().find("COLD"));
}

TEST(MetricsRender, StreamingTableCatchesUpAfterAWideCell) {
  const StreamingTable table({{"A", 2}, {"B", 6}, {"C", 0}});
  EXPECT_EQ(table.header(), "A    B        C");
  EXPECT_EQ(table.row({"1", "2", "3"}), "1    2        3");
  // "wide" pushes B right, three spaces after it; C still starts under its header.
  EXPECT_EQ(table.row({"wide", "2", "3"}), "wide   2      3");
  // Too wide for C to catch up: three spaces, as Table has.
  EXPECT_EQ(table.row({"a-very-wide-cell", "2", "3"}), "a-very-wide-cell   2   3");
}

TEST(MetricsRender, CurrentSnapshotIsWithinASecondOfNowOrCameLive) {
  // The newest second of a backlog is current, the one before it is not.
  EXPECT_TRUE(isCurrentSnapshot(at(kNow - absl::Milliseconds(900)), kNow, absl::Milliseconds(1)));
  EXPECT_FALSE(isCurrentSnapshot(at(kNow - absl::Milliseconds(1900)), kNow, absl::Milliseconds(1)));
  EXPECT_FALSE(isCurrentSnapshot(at(kNow - absl::Minutes(5)), kNow, std::nullopt));
  // A server clock a little ahead is still the same second.
  EXPECT_TRUE(isCurrentSnapshot(at(kNow + absl::Milliseconds(500)), kNow, std::nullopt));
  // Clocks apart: only a snapshot that came after a pause (a live one) is current, and never the
  // first, whose wait includes connecting.
  EXPECT_FALSE(isCurrentSnapshot(at(kNow + absl::Hours(1)), kNow, std::nullopt));
  EXPECT_FALSE(isCurrentSnapshot(at(kNow + absl::Hours(1)), kNow, absl::Milliseconds(20)));
  EXPECT_TRUE(isCurrentSnapshot(at(kNow + absl::Hours(1)), kNow, absl::Milliseconds(600)));
  EXPECT_TRUE(isCurrentSnapshot(at(kNow - absl::Hours(1)), kNow, absl::Milliseconds(950)));
}

TEST(MetricsRender, ValuesAreFormattedForPeople) {
  EXPECT_EQ(formatRate(0), "0.0");
  EXPECT_EQ(formatRate(1234.56), "1234.6");
  EXPECT_EQ(formatLatency(0), "0.00 ms");
  EXPECT_EQ(formatLatency(0.001), "<0.01 ms");
  EXPECT_EQ(formatLatency(0.421), "0.42 ms");
  EXPECT_EQ(formatLatency(9.994), "9.99 ms");
  EXPECT_EQ(formatLatency(12.54), "12.5 ms");
  EXPECT_EQ(formatLatency(250.4), "250 ms");
  EXPECT_EQ(formatLatency(1500), "1.50 s");
  EXPECT_EQ(formatPercent(0), "0%");
  EXPECT_EQ(formatPercent(0.666), "67%");
  EXPECT_EQ(formatPercent(1), "100%");
}

} // namespace
} // namespace surge::cli
