// A Sample as bytes, for the history file: versioned, little-endian, the histograms' non-empty
// buckets only. decode() checks every length against the bytes there are.
#pragma once

#include "metrics/function_metrics.h"

#include <absl/status/statusor.h>

#include <string>
#include <string_view>

namespace surge::metrics {

std::string encodeSample(const Sample& sample);
// INVALID_ARGUMENT naming what is wrong (a truncated or foreign blob).
absl::StatusOr<Sample> decodeSample(std::string_view bytes);

} // namespace surge::metrics
