// How surgectl prints results: aligned tables and "key: value" blocks for people, protobuf's
// JSON mapping for scripts, and the value formats both share.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/status/status.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include "surge/v1/function.pb.h"
#include "surge/v1/invoke.pb.h"

namespace surge::cli {

enum class OutputFormat { kTable, kJson };

// Columns padded to their widest cell (counted in UTF-8 characters), separated by three spaces;
// the header is printed as given (upper case by convention). Cells must not contain newlines.
class Table {
public:
  explicit Table(std::vector<std::string> header);

  // `cells` must have as many entries as the header.
  void addRow(std::vector<std::string> cells);
  // A line printed beneath the row added last, indented by two spaces and outside the columns
  // (it does not widen them), e.g. a warning about that row. Must follow an addRow().
  void addNote(std::string text);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream& out) const;

private:
  struct Row {
    std::vector<std::string> cells;
    std::vector<std::string> notes;
  };
  std::vector<std::string> header_;
  std::vector<Row> rows_;
};

// A table printed a row at a time, for a stream whose later rows are not known yet: each column
// is as wide as given, or as its header if that is wider. A wider cell shifts the rest of its row
// right (until a later column has room to line up again) rather than re-aligning the rows
// already printed.
class StreamingTable {
public:
  struct Column {
    std::string header;
    size_t width = 0;
  };
  explicit StreamingTable(std::vector<Column> columns);

  // The header line and one row, without the newline; `cells` must have one entry per column.
  std::string header() const;
  std::string row(const std::vector<std::string>& cells) const;

private:
  std::vector<Column> columns_;
};

// "key: value" lines with the values aligned, for showing one object.
class KeyValueBlock {
public:
  void add(std::string key, std::string value);
  void print(std::ostream& out) const;

private:
  std::vector<std::pair<std::string, std::string>> lines_;
};

// The message in protobuf's JSON mapping: lowerCamelCase names, every field printed even at its
// default, pretty-printed, ending in a newline. Fails only for values JSON cannot represent,
// e.g. a timestamp out of range.
absl::Status printJson(std::ostream& out, const google::protobuf::Message& message);
// As printJson() on one line, for a stream of objects: one JSON object per line (JSON Lines).
absl::Status printJsonLine(std::ostream& out, const google::protobuf::Message& message);
// As printJson(), for an answer made of several messages: the members of `message`, then each of
// `extra` named as given with its message as printJson() prints it. A
// ListReservationSchedulesResponse with {"plan", &plan} gives {"schedules": [...], "plan": {...}}.
absl::Status printJsonWithMembers(std::ostream& out, const google::protobuf::Message& message,
                                  const std::vector<std::pair<std::string, const google::protobuf::Message*>>& extra);

// Server or function text on one line: control characters (a newline would break the line, an
// escape sequence would drive the terminal) become spaces.
std::string withoutControlCharacters(std::string_view text);
// Server text in one table cell: withoutControlCharacters(), and a dash for an empty value.
std::string tableCell(std::string_view text);

// "python3", "nodejs", "custom"; "unspecified" for RUNTIME_UNSPECIFIED or unknown values.
std::string_view runtimeName(surge::v1::Runtime runtime);
// "reserved", "on-demand"; "-" for INSTANCE_KIND_UNSPECIFIED or unknown values.
std::string_view instanceKindName(surge::v1::InstanceKind kind);
// "128 MiB".
std::string formatMemory(uint32_t memoryMb);
// "512 B", "1.5 KiB", "12.0 MiB".
std::string formatBytes(int64_t bytes);
// RFC 3339 in UTC to the second, e.g. "2024-05-01T12:00:00Z"; "-" if unset.
std::string formatTimestamp(const google::protobuf::Timestamp& timestamp);
// As formatTimestamp() to the millisecond, e.g. "2024-05-01T12:00:00.123Z", for events that come
// many to a second.
std::string formatTimestampMillis(const google::protobuf::Timestamp& timestamp);
// Milliseconds with three significant digits or so: "0.42 ms", "3.10 ms", "12.5 ms", "250 ms",
// "1.50 s"; "<0.01 ms" for less than would round to 0.01 (but not for 0).
std::string formatLatency(double ms);
// "default/hello".
std::string qualifiedName(std::string_view ns, std::string_view name);

} // namespace surge::cli
