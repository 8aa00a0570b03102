// Tables, key-value blocks, JSON and value formatting for surgectl's output.
#include "cli/output.h"

#include "api/proto_time.h"
#include "common/function_ref.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/time/time.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdlib>

namespace surge::cli {

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::addRow(std::vector<std::string> cells) {
  // A row of the wrong width is a bug in the command that builds the table.
  if (cells.size() != header_.size()) std::abort();
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<size_t> widths(header_.size());
  for (size_t i = 0; i < header_.size(); ++i) widths[i] = header_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  auto printRow = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      // No padding after the last column, so lines carry no trailing blanks.
      if (i + 1 < cells.size()) line.append(widths[i] - cells[i].size() + 3, ' ');
    }
    out << line << '\n';
  };
  printRow(header_);
  for (const auto& row : rows_) printRow(row);
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

absl::Status printJsonWith(std::ostream& out, const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print the response as JSON: ", status.ToString()));
  }
  if (json.empty() || json.back() != '\n') json.push_back('\n');
  out << json;
  return absl::OkStatus();
}

} // namespace

absl::Status printJson(std::ostream& out, const google::protobuf::Message& message) {
  return printJsonWith(out, message, true);
}

absl::Status printJsonLine(std::ostream& out, const google::protobuf::Message& message) {
  return printJsonWith(out, message, false);
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
