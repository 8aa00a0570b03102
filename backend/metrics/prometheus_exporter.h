// PrometheusExporter: serves each second's metrics on an HTTP /metrics endpoint in Prometheus'
// text format, through prometheus-cpp. Counters and histograms accumulate the frames' seconds;
// gauges show the last frame. docs/observability.md lists every name, unit and label.
#pragma once

#include "common/mutex.h"

#include <absl/status/statusor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace prometheus {
class Exposer;
class Gauge;
class Registry;
} // namespace prometheus

namespace surge::metrics {

struct Frame; // metrics_hub.h

struct ExporterOptions {
  // "HOST:PORT", HOST an IPv4 address or "localhost"; port 0: the OS picks one. IPv6 ("[::1]")
  // is refused: Debian's civetweb, which serves the endpoint, cannot bind it.
  std::string listen;
  // The metrics name every function and its load, which only an admin may see: without this,
  // HOST must be loopback (127.0.0.0/8, localhost).
  bool insecure = false;
  // When the user is set, every scrape must present these with HTTP basic authentication.
  std::string basicAuthUser;
  std::string basicAuthPassword;
};

// Thread-safe: publish() may run on any thread while the endpoint's own threads serve scrapes.
class PrometheusExporter {
public:
  // Listens on `options.listen`. INVALID_ARGUMENT for a malformed, IPv6 or (without `insecure`)
  // non-loopback address, or a user without a password or the reverse; FAILED_PRECONDITION when
  // the address cannot be bound (in use, or not this machine's).
  static absl::StatusOr<std::unique_ptr<PrometheusExporter>> start(const ExporterOptions& options);
  ~PrometheusExporter();
  PrometheusExporter(const PrometheusExporter&) = delete;
  PrometheusExporter& operator=(const PrometheusExporter&) = delete;

  // The port it listens on (the one the OS picked when asked for port 0).
  uint16_t port() const { return port_; }

  // Adds one second: its counters and histograms to the running totals, and its gauges as the
  // current values. Gauges of a function absent from `frame` drop to 0; its counters and
  // histograms stay. The server's own series ("") is not exported: PromQL's sum() makes it.
  void publish(const Frame& frame);

private:
  struct Families;
  struct FunctionSeries;

  PrometheusExporter(std::unique_ptr<prometheus::Exposer> exposer, std::shared_ptr<prometheus::Registry> registry,
                     std::unique_ptr<Families> families, uint16_t port);
  // The series of `key` ("namespace/name"), made (every label value at 0) on first sight.
  FunctionSeries& seriesOf(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Declared first so that it is destroyed last, after the endpoint that scrapes it stops.
  const std::shared_ptr<prometheus::Registry> registry_;
  const std::unique_ptr<Families> families_;
  const std::unique_ptr<prometheus::Exposer> exposer_;
  const uint16_t port_;

  common::Mutex mu_;
  // Every function seen so far, by key; kept, so that its gauges can drop to 0.
  std::map<std::string, std::unique_ptr<FunctionSeries>> functions_ ABSL_GUARDED_BY(mu_);
  // Ready pre-started sandboxes by every runtime seen so far.
  std::map<std::string, prometheus::Gauge*> prestarted_ ABSL_GUARDED_BY(mu_);
};

} // namespace surge::metrics
