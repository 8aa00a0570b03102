// metrics::Sample <-> surge.v1.FunctionMetrics, and a frame as a MetricsSnapshot. One place for
// what each proto field means (docs/observability.md lists them).
#pragma once

#include "metrics/history_store.h"
#include "metrics/metrics_hub.h"
#include "surge/v1/metrics.pb.h"

#include <cstdint>
#include <string>

namespace surge::api {

// A series' figures over `seconds` (1 live; the step in history). `peakInFlight` and
// `meanInFlight` come from history; live, both are the in-flight gauge.
void toProto(const metrics::Sample& sample, int64_t seconds, uint32_t peakInFlight, double meanInFlight,
             v1::FunctionMetrics& out);
// Sets namespace and function from `series` ("namespace/name").
void setSeriesName(const std::string& series, v1::FunctionMetrics& out);
// A live second of `series` ("namespace/name", or "" for the server).
void toProto(const std::string& series, const metrics::Sample& sample, v1::FunctionMetrics& out);
void toProto(const metrics::ServerGauges& gauges, v1::ServerMetrics& out);
// Every series of the frame; `server` set from the "" series and the server's gauges.
v1::MetricsSnapshot toSnapshot(const metrics::Frame& frame);

} // namespace surge::api
