// The crontab(5) parser: fields, lists, ranges, steps, names and aliases.
#include "reservations/cron_expression.h"

#include <absl/status/status.h>
#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>

#include <array>
#include <charconv>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "common/absl_compat.h"

namespace surge::reservations {
namespace {

using common::toAbsl;

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

// One of the five fields: its name in messages, its values, and the names that stand for
// low, low + 1, ... where it has them.
struct Field {
  std::string_view name;
  int low;
  int high;
  std::span<const std::string_view> names;
};

constexpr Field kMinute{"minute", 0, 59, {}};
constexpr Field kHour{"hour", 0, 23, {}};
constexpr Field kDayOfMonth{"day-of-month", 1, 31, {}};
constexpr Field kMonth{"month", 1, 12, kMonthNames};
constexpr Field kDayOfWeek{"day-of-week", 0, 7, kDayNames};

constexpr std::string_view kFieldList = "\"minute hour day-of-month month day-of-week\"";
constexpr std::string_view kAliasList = "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly";

// crontab(5)'s expansions of the aliases.
struct Alias {
  std::string_view name;
  std::string_view expansion;
};
constexpr std::array<Alias, 7> kAliases = {{{"@yearly", "0 0 1 1 *"},
                                            {"@annually", "0 0 1 1 *"},
                                            {"@monthly", "0 0 1 * *"},
                                            {"@weekly", "0 0 * * 0"},
                                            {"@daily", "0 0 * * *"},
                                            {"@midnight", "0 0 * * *"},
                                            {"@hourly", "0 * * * *"}}};

using Bits = std::bitset<64>;

std::string quoted(std::string_view text) { return absl::StrCat("\"", toAbsl(text), "\""); }

std::string range(const Field& field) { return absl::StrCat(field.low, "-", field.high); }

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t begin = 0;
  for (size_t end; (end = text.find(separator, begin)) != std::string_view::npos; begin = end + 1) {
    parts.push_back(text.substr(begin, end - begin));
  }
  parts.push_back(text.substr(begin));
  return parts;
}

std::vector<std::string_view> splitOnWhitespace(std::string_view text) {
  std::vector<std::string_view> words;
  size_t at = 0;
  while (at < text.size()) {
    if (absl::ascii_isspace(static_cast<unsigned char>(text[at]))) {
      ++at;
      continue;
    }
    size_t end = at;
    while (end < text.size() && !absl::ascii_isspace(static_cast<unsigned char>(text[end]))) ++end;
    words.push_back(text.substr(at, end - at));
    at = end;
  }
  return words;
}

// A decimal number with nothing around it; nullopt otherwise. Values too large for an int read as
// INT_MAX, which every range check refuses.
std::optional<int> parseNumber(std::string_view token) {
  if (token.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(token.front()))) return std::nullopt;
  int value = 0;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (end != token.data() + token.size()) return std::nullopt;
  if (error == std::errc::result_out_of_range) return std::numeric_limits<int>::max();
  return value;
}

// Reads one field of an expression into the set of its values; errors name the field and the token.
class FieldParser {
public:
  FieldParser(std::string_view text, const Field& field) : text_(text), field_(field) {}

  absl::StatusOr<Bits> parse(std::string_view spec) const {
    Bits bits;
    for (std::string_view element : split(spec, ',')) {
      if (element.empty()) return error(absl::StrCat("has an empty list element in ", quoted(spec)));
      absl::Status status = addElement(element, bits);
      if (!status.ok()) return status;
    }
    return bits;
  }

private:
  absl::Status addElement(std::string_view element, Bits& bits) const {
    const std::vector<std::string_view> stepParts = split(element, '/');
    if (stepParts.size() > 2) return error(absl::StrCat(quoted(element), " has more than one step"));
    const std::string_view base = stepParts[0];

    int first = field_.low;
    int last = field_.high;
    if (base != "*") {
      const std::vector<std::string_view> bounds = split(base, '-');
      const bool emptyBound = bounds[0].empty() || (bounds.size() == 2 && bounds[1].empty());
      if (bounds.size() > 2 || emptyBound) {
        return error(absl::StrCat(quoted(element), " is not a value or a range a-b"));
      }
      absl::StatusOr<int> start = value(bounds[0]);
      if (!start.ok()) return start.status();
      first = *start;
      if (bounds.size() == 2) {
        absl::StatusOr<int> end = value(bounds[1]);
        if (!end.ok()) return end.status();
        last = *end;
        if (first > last) {
          return error(absl::StrCat("range ", quoted(base),
                                    " is reversed; write the lower value first, and a list to wrap around"));
        }
      } else if (stepParts.size() == 1) {
        last = first;
      }
    }

    int step = 1;
    if (stepParts.size() == 2) {
      const std::optional<int> number = parseNumber(stepParts[1]);
      const std::string allowed = absl::StrCat("1-", field_.high);
      if (!number) return error(absl::StrCat("step ", quoted(stepParts[1]), " is not a number ", allowed));
      if (*number < 1 || *number > field_.high) {
        return error(absl::StrCat("step ", toAbsl(stepParts[1]), " is out of range ", allowed));
      }
      step = *number;
    }
    for (int v = first; v <= last; v += step) bits.set(static_cast<size_t>(v));
    return absl::OkStatus();
  }

  absl::StatusOr<int> value(std::string_view token) const {
    if (const std::optional<int> number = parseNumber(token)) {
      if (*number < field_.low || *number > field_.high) {
        return error(absl::StrCat(toAbsl(token), " is out of range ", range(field_)));
      }
      return *number;
    }
    for (size_t i = 0; i < field_.names.size(); ++i) {
      if (absl::EqualsIgnoreCase(toAbsl(token), toAbsl(field_.names[i]))) return field_.low + static_cast<int>(i);
    }
    if (field_.names.empty()) return error(absl::StrCat(quoted(token), " is not a number ", range(field_)));
    return error(absl::StrCat(quoted(token), " is not a number ", range(field_), " or a name ",
                              toAbsl(field_.names.front()), "-", toAbsl(field_.names.back())));
  }

  absl::Status error(std::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat("cron ", quoted(text_), ": ", toAbsl(field_.name), " ", toAbsl(problem)));
  }

  std::string_view text_;
  const Field& field_;
};

// The fields an alias such as "@daily" stands for.
absl::StatusOr<std::string_view> expandAlias(std::string_view text, std::string_view alias) {
  for (const Alias& known : kAliases) {
    if (absl::EqualsIgnoreCase(toAbsl(alias), toAbsl(known.name))) return known.expansion;
  }
  const std::string problem = absl::EqualsIgnoreCase(toAbsl(alias), "@reboot")
                                  ? std::string("@reboot has no time to schedule")
                                  : absl::StrCat(quoted(alias), " is not an alias");
  return absl::InvalidArgumentError(absl::StrCat("cron ", quoted(text), ": ", problem, "; use 5 fields ",
                                                 toAbsl(kFieldList), " or one of ", toAbsl(kAliasList)));
}

} // namespace

absl::StatusOr<CronExpression> CronExpression::parse(std::string_view text) {
  std::vector<std::string_view> fields = splitOnWhitespace(text);
  if (!fields.empty() && fields.front().starts_with('@')) {
    const char* end = fields.back().data() + fields.back().size();
    const std::string_view alias(fields.front().data(), static_cast<size_t>(end - fields.front().data()));
    absl::StatusOr<std::string_view> expansion = expandAlias(text, alias);
    if (!expansion.ok()) return expansion.status();
    fields = splitOnWhitespace(*expansion);
  }
  if (fields.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("cron ", quoted(text), ": expected 5 fields ", toAbsl(kFieldList), " but found ", fields.size(),
                     fields.size() == 6 ? "; a seconds or year field is not supported" : ""));
  }

  absl::StatusOr<Bits> minutes = FieldParser(text, kMinute).parse(fields[0]);
  if (!minutes.ok()) return minutes.status();
  absl::StatusOr<Bits> hours = FieldParser(text, kHour).parse(fields[1]);
  if (!hours.ok()) return hours.status();
  absl::StatusOr<Bits> daysOfMonth = FieldParser(text, kDayOfMonth).parse(fields[2]);
  if (!daysOfMonth.ok()) return daysOfMonth.status();
  absl::StatusOr<Bits> months = FieldParser(text, kMonth).parse(fields[3]);
  if (!months.ok()) return months.status();
  absl::StatusOr<Bits> daysOfWeek = FieldParser(text, kDayOfWeek).parse(fields[4]);
  if (!daysOfWeek.ok()) return daysOfWeek.status();
  if (daysOfWeek->test(7)) daysOfWeek->set(0);

  CronExpression cron;
  cron.text_ = std::string(text);
  cron.minutes_ = std::bitset<60>(minutes->to_ullong());
  cron.hours_ = std::bitset<24>(hours->to_ullong());
  cron.daysOfMonth_ = std::bitset<32>(daysOfMonth->to_ullong());
  cron.months_ = std::bitset<13>(months->to_ullong());
  cron.daysOfWeek_ = std::bitset<7>(daysOfWeek->to_ullong());
  // Vixie cron decides the day rule on the first character, so "*/2" counts as unrestricted.
  cron.dayOfMonthStar_ = fields[2].starts_with('*');
  cron.dayOfWeekStar_ = fields[4].starts_with('*');
  return cron;
}

bool CronExpression::matchesDay(date::year_month_day day, date::weekday weekday) const {
  if (!months_.test(static_cast<unsigned>(day.month()))) return false;
  const bool dayOfMonth = daysOfMonth_.test(static_cast<unsigned>(day.day()));
  const bool dayOfWeek = daysOfWeek_.test(weekday.c_encoding());
  if (dayOfMonthStar_ || dayOfWeekStar_) return dayOfMonth && dayOfWeek;
  return dayOfMonth || dayOfWeek;
}

} // namespace surge::reservations
