// CronExpression: the crontab(5) syntax it takes, the day rule, and the messages for what it refuses.
#include "reservations/cron_expression.h"

#include <gtest/gtest.h>

#include <string>

namespace surge::reservations {
namespace {

using date::days;
using date::year_month_day;

CronExpression parsed(std::string_view text) {
  absl::StatusOr<CronExpression> cron = CronExpression::parse(text);
  EXPECT_TRUE(cron.ok()) << cron.status();
  return *std::move(cron);
}

bool matches(const CronExpression& cron, date::year_month_day day) {
  return cron.matchesDay(day, date::weekday(date::sys_days(day)));
}

std::string bitsOf(const std::bitset<60>& bits) {
  std::string set;
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits.test(i)) set += (set.empty() ? "" : ",") + std::to_string(i);
  }
  return set;
}

TEST(CronExpression, KeepsItsTextAsGiven) {
  EXPECT_EQ(parsed(" 0 20 * * FRI ").text(), " 0 20 * * FRI ");
  EXPECT_EQ(parsed("@daily").text(), "@daily");
}

TEST(CronExpression, ExpandsStepsRangesAndLists) {
  EXPECT_EQ(bitsOf(parsed("*/15 * * * *").minutes()), "0,15,30,45");
  EXPECT_EQ(bitsOf(parsed("5-10/2 * * * *").minutes()), "5,7,9");
  EXPECT_EQ(bitsOf(parsed("50/3 * * * *").minutes()), "50,53,56,59");
  EXPECT_EQ(bitsOf(parsed("1,3-4,58/59 * * * *").minutes()), "1,3,4,58");
  EXPECT_EQ(bitsOf(parsed("07 * * * *").minutes()), "7");
  EXPECT_EQ(parsed("0 0-20/2 * * *").hours().to_string(), "000101010101010101010101");
  EXPECT_EQ(parsed("0 * * * *").hours().count(), 24u);
}

TEST(CronExpression, ReadsMonthAndDayNamesInAnyCase) {
  const CronExpression cron = parsed("0 0 * jan-Mar,DEC mon,Wed-fri");
  EXPECT_TRUE(matches(cron, date::year{2026} / 3 / 2));   // Monday in March
  EXPECT_FALSE(matches(cron, date::year{2026} / 3 / 3));  // Tuesday
  EXPECT_TRUE(matches(cron, date::year{2026} / 12 / 4));  // Friday in December
  EXPECT_FALSE(matches(cron, date::year{2026} / 4 / 6));  // Monday in April
  EXPECT_FALSE(matches(cron, date::year{2026} / 12 / 5)); // Saturday
}

TEST(CronExpression, TakesZeroAndSevenAsSunday) {
  const date::year_month_day sunday = date::year{2026} / 3 / 15;
  const date::year_month_day saturday = date::year{2026} / 3 / 14;
  for (const char* text : {"0 0 * * 0", "0 0 * * 7", "0 0 * * SUN", "0 0 * * 6-7", "0 0 * * */7"}) {
    EXPECT_TRUE(matches(parsed(text), sunday)) << text;
  }
  EXPECT_FALSE(matches(parsed("0 0 * * 7"), saturday));
  EXPECT_TRUE(matches(parsed("0 0 * * 6-7"), saturday));
}

TEST(CronExpression, WhenBothDayFieldsAreRestrictedEitherMatches) {
  const CronExpression cron = parsed("0 0 1,15 * 5");
  EXPECT_TRUE(matches(cron, date::year{2026} / 3 / 1));  // the 1st, a Sunday
  EXPECT_TRUE(matches(cron, date::year{2026} / 3 / 6));  // a Friday
  EXPECT_TRUE(matches(cron, date::year{2026} / 3 / 15)); // the 15th, a Sunday
  EXPECT_FALSE(matches(cron, date::year{2026} / 3 / 7)); // neither
}

TEST(CronExpression, WhenADayFieldStartsWithStarBothMustMatch) {
  // The first character decides, so */10 (1,11,21,31) is "unrestricted" and the rule is AND.
  const CronExpression steppedDays = parsed("0 0 */10 * 1");
  EXPECT_TRUE(matches(steppedDays, date::year{2026} / 5 / 11));  // the 11th and a Monday
  EXPECT_FALSE(matches(steppedDays, date::year{2026} / 5 / 4));  // a Monday only
  EXPECT_FALSE(matches(steppedDays, date::year{2026} / 5 / 21)); // the 21st only, a Thursday

  const CronExpression fridays = parsed("0 0 * * 5");
  EXPECT_TRUE(matches(fridays, date::year{2026} / 3 / 6));
  EXPECT_FALSE(matches(fridays, date::year{2026} / 3 / 7));

  const CronExpression fifteenths = parsed("0 0 15 * *");
  EXPECT_TRUE(matches(fifteenths, date::year{2026} / 3 / 15));
  EXPECT_FALSE(matches(fifteenths, date::year{2026} / 3 / 16));
}

TEST(CronExpression, MatchesOnlyItsMonths) {
  const CronExpression cron = parsed("0 0 29 2 *");
  EXPECT_TRUE(matches(cron, date::year{2028} / 2 / 29));
  EXPECT_FALSE(matches(cron, date::year{2028} / 3 / 29));
}

TEST(CronExpression, AliasesStandForTheirCrontabExpansions) {
  const struct {
    const char* alias;
    const char* fields;
  } aliases[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                 {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                 {"@hourly", "0 * * * *"}, {"@DAILY", "0 0 * * *"}};
  for (const auto& [alias, fields] : aliases) {
    const CronExpression expanded = parsed(alias);
    const CronExpression expected = parsed(fields);
    EXPECT_EQ(expanded.minutes(), expected.minutes()) << alias;
    EXPECT_EQ(expanded.hours(), expected.hours()) << alias;
    for (date::sys_days day = date::year{2026} / 1 / 1; day < date::sys_days(date::year{2027} / 1 / 1);
         day += days{1}) {
      ASSERT_EQ(matches(expanded, year_month_day(day)), matches(expected, year_month_day(day)))
          << alias << " on " << year_month_day(day);
    }
  }
}

TEST(CronExpression, RefusesWhatCrontabDoesNotDefineAndNamesTheField) {
  const std::string fields = R"("minute hour day-of-month month day-of-week")";
  const std::string aliases = "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly";
  const struct {
    std::string text;
    std::string message;
  } cases[] = {
      {"", R"(cron "": expected 5 fields )" + fields + " but found 0"},
      {"   ", R"(cron "   ": expected 5 fields )" + fields + " but found 0"},
      {"0 0 * *", R"(cron "0 0 * *": expected 5 fields )" + fields + " but found 4"},
      {"0 0 0 * * *",
       R"(cron "0 0 0 * * *": expected 5 fields )" + fields + " but found 6; a seconds or year field is not supported"},
      {"60 * * * *", R"(cron "60 * * * *": minute 60 is out of range 0-59)"},
      {"0 25 * * *", R"(cron "0 25 * * *": hour 25 is out of range 0-23)"},
      {"0 0 0 * *", R"(cron "0 0 0 * *": day-of-month 0 is out of range 1-31)"},
      {"0 0 32 * *", R"(cron "0 0 32 * *": day-of-month 32 is out of range 1-31)"},
      {"0 0 * 13 *", R"(cron "0 0 * 13 *": month 13 is out of range 1-12)"},
      {"0 0 * 0 *", R"(cron "0 0 * 0 *": month 0 is out of range 1-12)"},
      {"0 0 * * 8", R"(cron "0 0 * * 8": day-of-week 8 is out of range 0-7)"},
      {"99999999999 * * * *", R"(cron "99999999999 * * * *": minute 99999999999 is out of range 0-59)"},
      {"*/0 * * * *", R"(cron "*/0 * * * *": minute step 0 is out of range 1-59)"},
      {"0 */24 * * *", R"(cron "0 */24 * * *": hour step 24 is out of range 1-23)"},
      {"*/x * * * *", R"(cron "*/x * * * *": minute step "x" is not a number 1-59)"},
      {"0 0 * * 5-1",
       R"(cron "0 0 * * 5-1": day-of-week range "5-1" is reversed; write the lower value first, and a list to wrap around)"},
      {"0 0 * NOV-FEB *",
       R"(cron "0 0 * NOV-FEB *": month range "NOV-FEB" is reversed; write the lower value first, and a list to wrap around)"},
      {"0 0 * FOO *", R"(cron "0 0 * FOO *": month "FOO" is not a number 1-12 or a name JAN-DEC)"},
      {"0 0 * * FUNDAY", R"(cron "0 0 * * FUNDAY": day-of-week "FUNDAY" is not a number 0-7 or a name SUN-SAT)"},
      {"0 MON * * *", R"(cron "0 MON * * *": hour "MON" is not a number 0-23)"},
      {"0 0 L * *", R"(cron "0 0 L * *": day-of-month "L" is not a number 1-31)"},
      {"a b c d e", R"(cron "a b c d e": minute "a" is not a number 0-59)"},
      {"1,,2 * * * *", R"(cron "1,,2 * * * *": minute has an empty list element in "1,,2")"},
      {"0 0 1, * *", R"(cron "0 0 1, * *": day-of-month has an empty list element in "1,")"},
      {"1-2-3 * * * *", R"(cron "1-2-3 * * * *": minute "1-2-3" is not a value or a range a-b)"},
      {"-1 * * * *", R"(cron "-1 * * * *": minute "-1" is not a value or a range a-b)"},
      {"*/5/2 * * * *", R"(cron "*/5/2 * * * *": minute "*/5/2" has more than one step)"},
      {"@reboot",
       R"(cron "@reboot": @reboot has no time to schedule; use 5 fields )" + fields + " or one of " + aliases},
      {"@often", R"(cron "@often": "@often" is not an alias; use 5 fields )" + fields + " or one of " + aliases},
      {"@daily 5", R"(cron "@daily 5": "@daily 5" is not an alias; use 5 fields )" + fields + " or one of " + aliases},
  };
  for (const auto& [text, message] : cases) {
    const absl::StatusOr<CronExpression> cron = CronExpression::parse(text);
    ASSERT_FALSE(cron.ok()) << text;
    EXPECT_EQ(cron.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(cron.status().message(), message) << text;
  }
}

} // namespace
} // namespace surge::reservations
