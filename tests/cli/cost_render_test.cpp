// How "surgectl cost" prints a report: the period and its resolution, the usage, the actual cost
// by kind, the what-if and the recommendation with their deltas, and what is past retention.
#include "api/proto_time.h"
#include "cli/cost_commands.h"

#include "surge/v1/scaling.pb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace surge::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::CostReport report() {
  v1::CostReport r;
  r.set_namespace_("default");
  r.set_function("checkout");
  *r.mutable_from_time() = api::toProtoTimestamp(absl::FromUnixSeconds(1'796'000'000));
  *r.mutable_to_time() = api::toProtoTimestamp(absl::FromUnixSeconds(1'796'000'600));
  r.set_resolution_seconds(60);
  r.mutable_prices()->set_currency("USD");
  r.set_memory_mb(128);
  r.set_instance_concurrency(1);
  r.set_max_instances(100);
  r.mutable_usage()->set_reserved_requests(30);
  r.mutable_usage()->set_on_demand_requests(12);
  r.mutable_usage()->set_reserved_instance_gb_seconds(75);
  r.mutable_usage()->set_reserved_billed_gb_seconds(1.5);
  r.mutable_usage()->set_on_demand_billed_gb_seconds(0.25);
  r.mutable_actual()->set_total(0.0012346);
  r.mutable_actual()->set_reserved_instances(0.0003125);
  r.set_recorded_cold_starts(3);
  r.set_replayed_cold_starts(2);
  r.mutable_recommended()->set_reserved(2);
  r.mutable_recommended()->set_cold_starts(0);
  r.mutable_recommended()->set_cost_delta(-0.0001);
  r.mutable_recommended()->set_cold_starts_delta(-2);
  r.set_cold_start_budget(0.001);
  return r;
}

std::string printed(const v1::CostReport& r) {
  std::ostringstream out;
  printCostReport(out, r);
  return out.str();
}

TEST(CostRender, AReportSaysThePeriodUsageActualAndRecommendation) {
  const std::string text = printed(report());
  EXPECT_THAT(text, HasSubstr("default/checkout"));
  EXPECT_THAT(text, HasSubstr("(per minute)"));
  EXPECT_THAT(text, HasSubstr("none in the period")) << "no data range was set";
  EXPECT_THAT(text, HasSubstr("42 (30 reserved, 12 on demand)"));
  EXPECT_THAT(text, HasSubstr("75.000 GB-s"));
  EXPECT_THAT(text, HasSubstr("1.500 GB-s reserved, 0.250 GB-s on demand"));
  EXPECT_THAT(text, HasSubstr("3 recorded, 2 by the replay's rule"));
  EXPECT_THAT(text, HasSubstr("0.001235 USD (reserved instances 0.000313"));
  EXPECT_THAT(text, HasSubstr("2 reserved: 0.000000 USD"));
  EXPECT_THAT(text, HasSubstr("-0.000100 USD vs actual; 0 cold starts (-2); cold-start budget 0.1%"));
  EXPECT_THAT(text, Not(HasSubstr("what if"))) << "none was asked for";
  EXPECT_THAT(text, Not(HasSubstr("past retention")));
}

TEST(CostRender, AWhatIfAndAPeriodPastRetentionAreShown) {
  v1::CostReport r = report();
  r.set_resolution_seconds(1);
  r.set_seconds_past_retention(3600);
  r.mutable_what_if()->set_reserved(4);
  r.mutable_what_if()->set_cold_starts(0);
  r.mutable_what_if()->set_cost_delta(0.0005);
  r.mutable_what_if()->set_cold_starts_delta(-2);
  const std::string text = printed(r);
  EXPECT_THAT(text, HasSubstr("(per second)"));
  EXPECT_THAT(text, HasSubstr("3600 s of the period (usage is kept 31 days)"));
  EXPECT_THAT(text, HasSubstr("4 reserved: "));
  EXPECT_THAT(text, HasSubstr("+0.000500 USD vs actual; 0 cold starts (-2)"));
}

} // namespace
} // namespace surge::cli
