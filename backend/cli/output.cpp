// Tables, key-value blocks, JSON and value formatting for surgectl's output.
#include "cli/output.h"

#include "api/proto_time.h"
#include "common/function_ref.h"

#include <absl/status/statusor.h>
#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/strings/str_replace.h>
#include <absl/time/time.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdlib>

namespace surge::cli {

namespace {

// Characters rather than bytes, so that a cell holding "→" or a name in another script lines up.
// (Wide characters such as CJK take two columns on a terminal; they are rare enough in cells.)
size_t displayWidth(std::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

} // namespace

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::addRow(std::vector<std::string> cells) {
  // A row of the wrong width is a bug in the command that builds the table.
  if (cells.size() != header_.size()) std::abort();
  rows_.push_back(Row{std::move(cells), {}});
}

void Table::addNote(std::string text) {
  // A note with no row to go under is a bug in the command that builds the table.
  if (rows_.empty()) std::abort();
  rows_.back().notes.push_back(std::move(text));
}

void Table::print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size());
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = displayWidth(header_[i]);
  for (const Row& row : rows_) {
    for (size_t i = 0; i < row.cells.size(); ++i) widths[i] = std::max(widths[i], displayWidth(row.cells[i]));
  }
  auto printRow = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      // No padding after the last column, so lines carry no trailing blanks.
      if (i + 1 < cells.size()) line.append(widths[i] - displayWidth(cells[i]) + 3, ' ');
    }
    out << line << '\n';
  };
  printRow(header_);
  for (const Row& row : rows_) {
    printRow(row.cells);
    for (const std::string& note : row.notes) out << "  " << note << '\n';
  }
}

StreamingTable::StreamingTable(std::vector<Column> columns) : columns_(std::move(columns)) {
  for (Column& column : columns_) column.width = std::max(column.width, column.header.size());
}

std::string StreamingTable::header() const {
  std::vector<std::string> cells;
  for (const Column& column : columns_) cells.push_back(column.header);
  return row(cells);
}

std::string StreamingTable::row(const std::vector<std::string>& cells) const {
  // A row of the wrong width is a bug in the command that builds it.
  if (cells.size() != columns_.size()) std::abort();
  std::string line;
  size_t start = 0; // where the next column starts when every cell before it fits
  for (size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 == cells.size()) break;
    start += columns_[i].width + 3;
    // Three spaces at least, as Table has; the later cells line up again where they can.
    line.append(start > line.size() + 3 ? start - line.size() : 3, ' ');
  }
  return line;
}

void KeyValueBlock::add(std::string key, std::string value) { lines_.emplace_back(std::move(key), std::move(value)); }

void KeyValueBlock::print(std::ostream& out) const {
  size_t width = 0;
  for (const auto& [key, value] : lines_) width = std::max(width, key.size());
  for (const auto& [key, value] : lines_) {
    std::string line = absl::StrCat(key, ":");
    if (!value.empty()) {
      line.append(width - key.size() + 1, ' ');
      line += value;
    }
    out << line << '\n';
  }
}

namespace {

// The message's JSON without a final newline.
absl::StatusOr<std::string> toJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print the response as JSON: ", status.ToString()));
  }
  while (!json.empty() && absl::ascii_isspace(static_cast<unsigned char>(json.back()))) json.pop_back();
  return json;
}

absl::Status printJsonWith(std::ostream& out, const google::protobuf::Message& message, bool pretty) {
  auto json = toJson(message, pretty);
  if (!json.ok()) return json.status();
  out << *json << '\n';
  return absl::OkStatus();
}

} // namespace

absl::Status printJson(std::ostream& out, const google::protobuf::Message& message) {
  return printJsonWith(out, message, true);
}

absl::Status printJsonLine(std::ostream& out, const google::protobuf::Message& message) {
  return printJsonWith(out, message, false);
}

absl::Status printJsonWithMembers(std::ostream& out, const google::protobuf::Message& message,
                                  const std::vector<std::pair<std::string, const google::protobuf::Message*>>& extra) {
  auto json = toJson(message, true);
  if (!json.ok()) return json.status();
  // Reopen the object: drop its closing brace, then add the members indented as the printer
  // indents the message's own. JSON strings hold no raw newline, so indenting after each
  // newline touches layout only.
  std::string text = std::move(*json);
  if (text.empty() || text.back() != '}')
    return absl::InternalError("cannot print the response as JSON: not an object");
  text.pop_back();
  while (!text.empty() && absl::ascii_isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  std::string indent = "  ";
  if (const size_t newline = text.find('\n'); newline != std::string::npos) {
    indent = text.substr(newline + 1, text.find_first_not_of(' ', newline + 1) - newline - 1);
  }
  bool first = text == "{";
  for (const auto& [name, member] : extra) {
    auto memberJson = toJson(*member, true);
    if (!memberJson.ok()) return memberJson.status();
    absl::StrAppend(&text, first ? "\n" : ",\n", indent, "\"", name,
                    "\": ", absl::StrReplaceAll(*memberJson, {{"\n", "\n" + indent}}));
    first = false;
  }
  out << text << "\n}\n";
  return absl::OkStatus();
}

std::string withoutControlCharacters(std::string_view text) {
  std::string result(text);
  std::replace_if(
      result.begin(), result.end(), [](unsigned char c) { return c < ' ' || c == 0x7f; }, ' ');
  return result;
}

std::string tableCell(std::string_view text) { return text.empty() ? "-" : withoutControlCharacters(text); }

std::string_view runtimeName(surge::v1::Runtime runtime) {
  switch (runtime) {
  case surge::v1::RUNTIME_PYTHON3: return "python3";
  case surge::v1::RUNTIME_NODEJS: return "nodejs";
  case surge::v1::RUNTIME_CUSTOM: return "custom";
  default: return "unspecified";
  }
}

std::string_view instanceKindName(surge::v1::InstanceKind kind) {
  switch (kind) {
  case surge::v1::RESERVED: return "reserved";
  case surge::v1::ON_DEMAND: return "on-demand";
  default: return "-";
  }
}

std::string formatMemory(uint32_t memoryMb) { return absl::StrCat(memoryMb, " MiB"); }

std::string formatBytes(int64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string formatTimestamp(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", api::fromProtoTimestamp(timestamp), absl::UTCTimeZone());
}

std::string formatTimestampMillis(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", api::fromProtoTimestamp(timestamp), absl::UTCTimeZone());
}

std::string formatLatency(double ms) {
  // A microsecond or so would print as "0.00 ms", which reads as none at all.
  if (ms > 0 && ms < 0.005) return "<0.01 ms";
  if (ms < 10) return absl::StrFormat("%.2f ms", ms);
  if (ms < 100) return absl::StrFormat("%.1f ms", ms);
  if (ms < 1000) return absl::StrFormat("%.0f ms", ms);
  return absl::StrFormat("%.2f s", ms / 1000);
}

std::string qualifiedName(std::string_view ns, std::string_view name) {
  return common::FunctionRef{std::string(ns), std::string(name)}.key();
}

} // namespace surge::cli
