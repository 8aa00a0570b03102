// PrometheusExporter: the listen address check, the metric families, and each second folded
// into them.
#include "metrics/prometheus_exporter.h"

#include "common/function_ref.h"
#include "metrics/metrics_hub.h"

#include <absl/status/status.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <exception>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace surge::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::Labels;

// From 100 µs (a warm call's queue wait) to a minute (a long handler); slower lands in +Inf.
const std::vector<double> kLatencyBoundsSeconds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};

constexpr uint64_t kBytesPerMib = uint64_t{1} << 20;

// The label values of the scheduler's two enums, as docs/observability.md spells them.
std::string_view kindLabel(Kind kind) { return kind == Kind::kReserved ? "reserved" : "on_demand"; }

std::string_view stateLabel(State state) {
  switch (state) {
  case State::kStarting: return "starting";
  case State::kIdle: return "idle";
  case State::kBusy: return "busy";
  case State::kDraining: return "draining";
  }
  return "unknown";
}

constexpr std::array<Kind, 2> kKinds = {Kind::kReserved, Kind::kOnDemand};
constexpr std::array<State, 4> kStates = {State::kStarting, State::kIdle, State::kBusy, State::kDraining};

// What civetweb is asked to bind, and whether only this machine can reach it.
struct ListenAddress {
  std::string civetPorts; // civetweb's listening_ports: "1.2.3.4:80" or "[::1]:80"
  bool loopback = false;
  bool ipv6 = false;
};

absl::StatusOr<ListenAddress> parseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics listen address '", listen, "' is not HOST:PORT, e.g. 127.0.0.1:9464"));
  }
  const std::string host = listen.substr(0, colon);
  ListenAddress address;
  if (host == "localhost") {
    address.civetPorts = absl::StrCat("127.0.0.1:", port);
    address.loopback = true;
  } else if (in_addr v4; inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    address.civetPorts = absl::StrCat(host, ":", port);
    address.loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (in6_addr v6; host.size() > 2 && host.front() == '[' && host.back() == ']' &&
                          inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &v6) == 1) {
    address.civetPorts = absl::StrCat(host, ":", port);
    address.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    address.ipv6 = true;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics listen host '", host, "' in '", listen, "' is not an IPv4 address or localhost"));
  }
  return address;
}

// Compares in time independent of where the strings differ, so that a scraper cannot find the
// password byte by byte.
bool sameSecret(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % std::max<size_t>(expected.size(), 1)]);
  }
  return difference == 0;
}

// One second's distribution (microseconds, log buckets) as Prometheus' bucket increments. Each
// log bucket lands whole where its representative value falls, within 1 % of every value it
// holds; so a value within 1 % of a bound may be counted on the other side of it. The sum is
// the exact one.
void observe(Histogram& histogram, const HistogramData& data) {
  if (data.empty()) return;
  std::vector<double> increments(kLatencyBoundsSeconds.size() + 1, 0.0);
  for (const auto& [bucket, count] : data.buckets) {
    double micros = LogHistogram::valueOf(bucket);
    // The exact extremes are better than the representative of the bucket that holds them.
    if (data.min <= data.max) micros = std::clamp(micros, data.min, data.max);
    const double seconds = micros / 1e6;
    const auto bound = std::lower_bound(kLatencyBoundsSeconds.begin(), kLatencyBoundsSeconds.end(), seconds);
    increments[static_cast<size_t>(bound - kLatencyBoundsSeconds.begin())] += static_cast<double>(count);
  }
  histogram.ObserveMultiple(increments, data.sum / 1e6);
}

} // namespace

// Every metric family, registered once in the exporter's registry, which owns them.
struct PrometheusExporter::Families {
  explicit Families(prometheus::Registry& registry);

  Family<Counter>& invocations;
  Family<Counter>& refusals;
  Family<Counter>& heldBack;
  Family<Counter>& coldStarts;
  Family<Histogram>& endToEnd;
  Family<Histogram>& queueWait;
  Family<Histogram>& execution;
  Family<Histogram>& coldStartDuration;
  Family<Gauge>& instances;
  Family<Gauge>& inFlight;
  Family<Gauge>& queueDepth;
  Family<Gauge>& reservedTarget;
  Family<Gauge>& reservedReady;
  Family<Gauge>& utilisation;
  Gauge& memoryBudget;
  Gauge& memoryUsed;
  Gauge& memoryReserved;
  Gauge& startsInProgress;
  Family<Gauge>& prestarted;
};

namespace {

template <typename Builder> auto& family(Builder builder, const char* name, const char* help, prometheus::Registry& r) {
  return builder.Name(name).Help(help).Register(r);
}

} // namespace

PrometheusExporter::Families::Families(prometheus::Registry& r)
    : invocations(family(prometheus::BuildCounter(), "surge_invocations_total",
                         "Invocations that ended, by outcome (refused ones included).", r)),
      refusals(family(prometheus::BuildCounter(), "surge_refusals_total",
                      "Invocations refused without running, by cause.", r)),
      heldBack(family(prometheus::BuildCounter(), "surge_starts_held_back_total",
                      "Starts the function wanted that a limit held back, by limit.", r)),
      coldStarts(family(prometheus::BuildCounter(), "surge_cold_starts_total", "Instances that became ready.", r)),
      endToEnd(family(prometheus::BuildHistogram(), "surge_invocation_duration_seconds",
                      "From a request's arrival at the scheduler to its answer.", r)),
      queueWait(family(prometheus::BuildHistogram(), "surge_queue_wait_seconds",
                       "From a request's arrival to the slot that ran it, or to its refusal.", r)),
      execution(family(prometheus::BuildHistogram(), "surge_execution_duration_seconds",
                       "From a request's dispatch to its instance until the reply.", r)),
      coldStartDuration(family(prometheus::BuildHistogram(), "surge_cold_start_duration_seconds",
                               "From an instance's start to its readiness.", r)),
      instances(family(prometheus::BuildGauge(), "surge_instances", "Instances, by kind and state.", r)),
      inFlight(family(prometheus::BuildGauge(), "surge_in_flight", "Requests running.", r)),
      queueDepth(family(prometheus::BuildGauge(), "surge_queue_depth", "Requests waiting for a slot.", r)),
      reservedTarget(family(prometheus::BuildGauge(), "surge_reserved_target", "The reserved instance target.", r)),
      reservedReady(family(prometheus::BuildGauge(), "surge_reserved_ready", "Reserved instances that are ready.", r)),
      utilisation(family(prometheus::BuildGauge(), "surge_concurrency_utilisation",
                         "Requests running over the slots of ready instances; 0 without any.", r)),
      memoryBudget(family(prometheus::BuildGauge(), "surge_memory_budget_bytes",
                          "Memory all instances together may use; 0: no budget.", r)
                       .Add({})),
      memoryUsed(
          family(prometheus::BuildGauge(), "surge_memory_used_bytes", "Memory held by instances not yet gone.", r)
              .Add({})),
      memoryReserved(
          family(prometheus::BuildGauge(), "surge_memory_reserved_bytes", "Memory of the reserved instance targets.", r)
              .Add({})),
      startsInProgress(
          family(prometheus::BuildGauge(), "surge_starts_in_progress", "Instance starts under way.", r).Add({})),
      prestarted(family(prometheus::BuildGauge(), "surge_prestarted_sandboxes",
                        "Ready pre-started sandboxes, by runtime.", r)) {}

// The labelled series of one function, made once; the registry owns them.
struct PrometheusExporter::FunctionSeries {
  std::array<Counter*, kOutcomeCount> invocations{};
  std::array<Counter*, kRefusalCount> refusals{};
  std::array<Counter*, kStartLimitCount> heldBack{};
  Counter* coldStarts = nullptr;
  Histogram* endToEnd = nullptr;
  Histogram* queueWait = nullptr;
  Histogram* execution = nullptr;
  Histogram* coldStartDuration = nullptr;
  std::array<std::array<Gauge*, kStates.size()>, kKinds.size()> instances{};
  Gauge* inFlight = nullptr;
  Gauge* queueDepth = nullptr;
  Gauge* reservedTarget = nullptr;
  Gauge* reservedReady = nullptr;
  Gauge* utilisation = nullptr;

  void setGauges(const Gauges& gauges) const {
    for (const Kind kind : kKinds) {
      for (const State state : kStates) {
        instances[static_cast<size_t>(kind)][static_cast<size_t>(state)]->Set(gauges.count(kind, state));
      }
    }
    inFlight->Set(gauges.inFlight);
    queueDepth->Set(gauges.queueDepth);
    reservedTarget->Set(gauges.reservedTarget);
    reservedReady->Set(gauges.reservedReady);
    utilisation->Set(gauges.utilisation());
  }
};

absl::StatusOr<std::unique_ptr<PrometheusExporter>> PrometheusExporter::start(const ExporterOptions& options) {
  absl::StatusOr<ListenAddress> address = parseListen(options.listen);
  if (!address.ok()) return address.status();
  if (!address->loopback && !options.insecure) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics listen address '", options.listen,
                     "' is not loopback (127.0.0.0/8, [::1], localhost); the metrics name every function and its load, "
                     "so serving them beyond this machine needs --metrics-insecure (with basic auth, or a firewall)"));
  }
  if (address->ipv6) {
    // Debian's civetweb, which prometheus-cpp serves with, is built without IPv6: it would fail
    // to bind with a message that does not say so.
    return absl::InvalidArgumentError(absl::StrCat("metrics listen address '", options.listen,
                                                   "' is IPv6, which the metrics endpoint cannot bind; use "
                                                   "127.0.0.1:PORT (or an IPv4 address with --metrics-insecure)"));
  }
  if (options.basicAuthUser.empty() != options.basicAuthPassword.empty()) {
    return absl::InvalidArgumentError("metrics basic auth needs both a user and a password, or neither");
  }

  auto registry = std::make_shared<prometheus::Registry>();
  auto families = std::make_unique<Families>(*registry);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(address->civetPorts, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("cannot listen for metrics on '", options.listen, "' (", e.what(),
                                                      "); is the port in use, or the address not ours?"));
  }
  const std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot listen for metrics on '", options.listen, "'"));
  }
  if (!options.basicAuthUser.empty()) {
    exposer->RegisterAuth(
        [user = options.basicAuthUser, password = options.basicAuthPassword](const std::string& givenUser,
                                                                             const std::string& givenPassword) {
          // Both compared whole, so that a wrong user takes as long as a wrong password.
          const bool userMatches = sameSecret(givenUser, user);
          const bool passwordMatches = sameSecret(givenPassword, password);
          return userMatches && passwordMatches;
        },
        "Surge metrics");
  }
  exposer->RegisterCollectable(registry);
  return std::unique_ptr<PrometheusExporter>(new PrometheusExporter(
      std::move(exposer), std::move(registry), std::move(families), static_cast<uint16_t>(ports.front())));
}

PrometheusExporter::PrometheusExporter(std::unique_ptr<prometheus::Exposer> exposer,
                                       std::shared_ptr<prometheus::Registry> registry,
                                       std::unique_ptr<Families> families, uint16_t port)
    : registry_(std::move(registry)), families_(std::move(families)), exposer_(std::move(exposer)), port_(port) {}

PrometheusExporter::~PrometheusExporter() = default;

PrometheusExporter::FunctionSeries& PrometheusExporter::seriesOf(const std::string& key) {
  std::unique_ptr<FunctionSeries>& series = functions_[key];
  if (series) return *series;
  series = std::make_unique<FunctionSeries>();
  // The hub's keys are FunctionRef::key()s; a key without '/' would be a bug upstream, and is
  // still shown rather than lost.
  const std::optional<common::FunctionRef> ref = common::FunctionRef::parse(key);
  const Labels labels = {{"namespace", ref ? ref->ns : ""}, {"function", ref ? ref->name : key}};
  const auto with = [&labels](std::string_view name, std::string_view value) {
    Labels more = labels;
    more.emplace(name, value);
    return more;
  };
  Families& f = *families_;
  for (int i = 0; i < kOutcomeCount; ++i) {
    series->invocations[i] = &f.invocations.Add(with("outcome", toString(static_cast<Outcome>(i))));
  }
  for (int i = 0; i < kRefusalCount; ++i) {
    series->refusals[i] = &f.refusals.Add(with("cause", toString(static_cast<Refusal>(i))));
  }
  for (int i = 0; i < kStartLimitCount; ++i) {
    series->heldBack[i] = &f.heldBack.Add(with("limit", toString(static_cast<StartLimit>(i))));
  }
  series->coldStarts = &f.coldStarts.Add(labels);
  series->endToEnd = &f.endToEnd.Add(labels, kLatencyBoundsSeconds);
  series->queueWait = &f.queueWait.Add(labels, kLatencyBoundsSeconds);
  series->execution = &f.execution.Add(labels, kLatencyBoundsSeconds);
  series->coldStartDuration = &f.coldStartDuration.Add(labels, kLatencyBoundsSeconds);
  for (const Kind kind : kKinds) {
    for (const State state : kStates) {
      Labels kindAndState = with("kind", kindLabel(kind));
      kindAndState.emplace("state", stateLabel(state));
      series->instances[static_cast<size_t>(kind)][static_cast<size_t>(state)] = &f.instances.Add(kindAndState);
    }
  }
  series->inFlight = &f.inFlight.Add(labels);
  series->queueDepth = &f.queueDepth.Add(labels);
  series->reservedTarget = &f.reservedTarget.Add(labels);
  series->reservedReady = &f.reservedReady.Add(labels);
  series->utilisation = &f.utilisation.Add(labels);
  return *series;
}

void PrometheusExporter::publish(const Frame& frame) {
  common::MutexLock lock(mu_);
  std::set<std::string_view> present;
  for (const auto& [key, sample] : frame.series) {
    if (key.empty()) continue; // the server's sum
    present.insert(key);
    FunctionSeries& series = seriesOf(key);
    const Counters& counters = sample.counters;
    for (size_t i = 0; i < counters.invocations.size(); ++i) {
      series.invocations[i]->Increment(static_cast<double>(counters.invocations[i]));
    }
    for (size_t i = 0; i < counters.refused.size(); ++i) {
      series.refusals[i]->Increment(static_cast<double>(counters.refused[i]));
    }
    for (size_t i = 0; i < counters.heldBack.size(); ++i) {
      series.heldBack[i]->Increment(static_cast<double>(counters.heldBack[i]));
    }
    series.coldStarts->Increment(static_cast<double>(counters.coldStarts));
    observe(*series.endToEnd, sample.latency.endToEnd);
    observe(*series.queueWait, sample.latency.queueWait);
    observe(*series.execution, sample.latency.execution);
    observe(*series.coldStartDuration, sample.latency.coldStart);
    series.setGauges(sample.gauges);
  }
  for (const auto& [key, series] : functions_) {
    if (!present.contains(key)) series->setGauges(Gauges{}); // idle or gone: nothing runs
  }

  const ServerGauges& server = frame.server;
  families_->memoryBudget.Set(static_cast<double>(server.memoryBudgetMb * kBytesPerMib));
  families_->memoryUsed.Set(static_cast<double>(server.memoryUsedMb * kBytesPerMib));
  families_->memoryReserved.Set(static_cast<double>(server.memoryReservedMb * kBytesPerMib));
  families_->startsInProgress.Set(server.startsInProgress);
  for (const auto& [runtime, ready] : server.prestarted) {
    Gauge*& gauge = prestarted_[runtime];
    if (gauge == nullptr) gauge = &families_->prestarted.Add({{"runtime", runtime}});
  }
  for (const auto& [runtime, gauge] : prestarted_) {
    const auto ready = server.prestarted.find(runtime);
    gauge->Set(ready == server.prestarted.end() ? 0 : ready->second);
  }
}

} // namespace surge::metrics
