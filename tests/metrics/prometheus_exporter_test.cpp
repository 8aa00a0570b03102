// PrometheusExporter over real HTTP: every scraped line parsed by the reference parser
// (check_exposition.py), the sums of the published seconds, gauges of a function that went away,
// the loopback rule, basic auth, and a port in use.
#include "metrics/prometheus_exporter.h"

#include "metrics/metrics_hub.h"
#include "support/client.h"
#include "support/function_setup.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include "surge/v1/invoke.grpc.pb.h"
#include "surge/v1/metrics.grpc.pb.h"

#include <absl/strings/escaping.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace surge::metrics {
namespace {

using Labels = std::map<std::string, std::string>;

struct HttpResponse {
  int status = 0;
  std::string body;
};

// One GET over a fresh connection. HTTP/1.0, so that the answer is never chunked and ends with
// the connection. Each socket call gives up after 10 s, so a hung server fails the test.
HttpResponse get(uint16_t port, const std::string& path, const std::optional<std::string>& authorization = {}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  const timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  HttpResponse response;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ADD_FAILURE() << "cannot connect to 127.0.0.1:" << port;
    ::close(fd);
    return response;
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n";
  if (authorization) request += "Authorization: " + *authorization + "\r\n";
  request += "\r\n";
  EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string raw;
  char buffer[16384];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) raw.append(buffer, static_cast<size_t>(n));
  EXPECT_EQ(n, 0) << "the answer did not end: " << raw;
  ::close(fd);
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  const size_t space = raw.find(' ');
  if (space != std::string::npos) response.status = std::atoi(raw.c_str() + space + 1);
  const size_t headersEnd = raw.find("\r\n\r\n");
  if (headersEnd != std::string::npos) response.body = raw.substr(headersEnd + 4);
  return response;
}

std::string basic(const std::string& user, const std::string& password) {
  return "Basic " + absl::Base64Escape(user + ":" + password);
}

// What the reference parser made of a scrape: each sample's value by its name and labels.
class Exposition {
public:
  // Parses `text` with check_exposition.py; fails the test (and holds nothing) when it refuses.
  explicit Exposition(const std::string& text) {
    testing::TempDir dir;
    const std::filesystem::path file = dir.path() / "exposition.txt";
    std::ofstream(file) << text;
    const testing::CommandResult checked = testing::runCommand({SURGE_PYTHON3, SURGE_CHECK_EXPOSITION, file.string()});
    EXPECT_EQ(checked.exitCode, 0) << checked.err << "\nthe exposition:\n" << text;
    if (checked.exitCode != 0) return;
    const auto parsed = google::protobuf::util::JsonStringToMessage(checked.out, &parsed_);
    EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << checked.out;
  }

  // The sample's value; nullopt when the scrape has no such sample.
  std::optional<double> value(const std::string& name, const Labels& labels) const {
    std::string key = name + "{";
    for (const auto& [label, value] : labels) {
      if (key.back() != '{') key += ",";
      key += label + "=\"" + value + "\"";
    }
    key += "}";
    const auto& samples = parsed_.fields().at("samples").struct_value().fields();
    const auto found = samples.find(key);
    if (found == samples.end()) return std::nullopt;
    return found->second.number_value();
  }

  std::string type(const std::string& family) const {
    const auto& families = parsed_.fields().at("families").struct_value().fields();
    const auto found = families.find(family);
    return found == families.end() ? "" : found->second.string_value();
  }

  // How many samples name `label`="`value`".
  int samplesWith(const std::string& label, const std::string& value) const {
    int count = 0;
    for (const auto& [key, sample] : parsed_.fields().at("samples").struct_value().fields()) {
      if (key.find(label + "=\"" + value + "\"") != std::string::npos) ++count;
    }
    return count;
  }

private:
  google::protobuf::Struct parsed_;
};

Exposition scrape(const PrometheusExporter& exporter) {
  const HttpResponse response = get(exporter.port(), "/metrics");
  EXPECT_EQ(response.status, 200);
  return Exposition(response.body);
}

// Spelt out: GCC's -Wmissing-field-initializers flags designated initializers that skip fields.
ExporterOptions options(std::string listen, bool insecure = false, std::string user = "", std::string password = "") {
  ExporterOptions made;
  made.listen = std::move(listen);
  made.insecure = insecure;
  made.basicAuthUser = std::move(user);
  made.basicAuthPassword = std::move(password);
  return made;
}

std::unique_ptr<PrometheusExporter> startOnLoopback(ExporterOptions loopback = {}) {
  loopback.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<PrometheusExporter>> exporter = PrometheusExporter::start(loopback);
  EXPECT_TRUE(exporter.ok()) << exporter.status();
  return exporter.ok() ? std::move(*exporter) : nullptr;
}

HistogramData histogram(const std::vector<std::pair<double, int>>& microsAndTimes) {
  LogHistogram recorded;
  for (const auto& [micros, times] : microsAndTimes) {
    for (int i = 0; i < times; ++i) recorded.record(micros);
  }
  return recorded.data();
}

// One second of shop/checkout: 10 successes, 1 function error, 2 refusals (queue full); end to
// end 10 × 2 ms and 3 × 40 ms; one cold start of 300 ms, and one start held back by memory.
Sample checkoutSecond(int64_t second) {
  Sample sample;
  sample.second = second;
  Counters& counters = sample.counters;
  counters.invocations[static_cast<size_t>(Outcome::kSuccess)] = 10;
  counters.invocations[static_cast<size_t>(Outcome::kFunctionError)] = 1;
  counters.invocations[static_cast<size_t>(Outcome::kRefused)] = 2;
  counters.refused[static_cast<size_t>(Refusal::kQueueFull)] = 2;
  counters.heldBack[static_cast<size_t>(StartLimit::kMemory)] = 1;
  counters.coldStarts = 1;
  sample.latency.endToEnd = histogram({{2'000, 10}, {40'000, 3}});
  sample.latency.queueWait = histogram({{150, 13}});
  sample.latency.execution = histogram({{1'800, 10}, {39'000, 1}});
  sample.latency.coldStart = histogram({{300'000, 1}});
  Gauges& gauges = sample.gauges;
  gauges.count(Kind::kReserved, State::kIdle) = 2;
  gauges.count(Kind::kOnDemand, State::kBusy) = 3;
  gauges.inFlight = 3;
  gauges.queueDepth = 4;
  gauges.reservedTarget = 2;
  gauges.reservedReady = 2;
  gauges.readyCapacity = 6;
  return sample;
}

Sample busySecond(int64_t second, uint32_t inFlight) {
  Sample sample;
  sample.second = second;
  sample.counters.invocations[static_cast<size_t>(Outcome::kSuccess)] = 1;
  sample.gauges.count(Kind::kOnDemand, State::kBusy) = 1;
  sample.gauges.inFlight = inFlight;
  sample.gauges.readyCapacity = 1;
  return sample;
}

Frame frame(int64_t second, std::vector<std::pair<std::string, Sample>> functions) {
  Frame made;
  made.second = second;
  // The server's series, with counts of its own: none of it may show up.
  Sample server;
  server.counters.invocations[static_cast<size_t>(Outcome::kSuccess)] = 999;
  server.gauges.inFlight = 999;
  made.series.emplace_back("", server);
  for (auto& function : functions) made.series.push_back(std::move(function));
  made.server.memoryBudgetMb = 1024;
  made.server.memoryUsedMb = 300;
  made.server.memoryReservedMb = 256;
  made.server.startsInProgress = 1;
  made.server.prestarted = {{"python3.11", 2}, {"nodejs18", 1}};
  return made;
}

const Labels kCheckout = {{"namespace", "shop"}, {"function", "checkout"}};

Labels with(Labels labels, const std::string& name, const std::string& value) {
  labels[name] = value;
  return labels;
}

TEST(PrometheusExporter, AScrapeParsesAndHoldsTheSumsOfEveryPublishedSecond) {
  auto exporter = startOnLoopback();
  ASSERT_NE(exporter, nullptr);
  for (int64_t second = 100; second < 103; ++second) {
    exporter->publish(frame(second, {{"shop/checkout", checkoutSecond(second)}}));
  }
  const Exposition scraped = scrape(*exporter);

  EXPECT_EQ(scraped.type("surge_invocations"), "counter");
  EXPECT_EQ(scraped.value("surge_invocations_total", with(kCheckout, "outcome", "success")), 30);
  EXPECT_EQ(scraped.value("surge_invocations_total", with(kCheckout, "outcome", "function_error")), 3);
  EXPECT_EQ(scraped.value("surge_invocations_total", with(kCheckout, "outcome", "refused")), 6);
  // Every label value is there from the first second, so that rate() has a start.
  EXPECT_EQ(scraped.value("surge_invocations_total", with(kCheckout, "outcome", "timeout")), 0);
  EXPECT_EQ(scraped.value("surge_invocations_total", with(kCheckout, "outcome", "platform_error")), 0);
  EXPECT_EQ(scraped.value("surge_refusals_total", with(kCheckout, "cause", "queue_full")), 6);
  EXPECT_EQ(scraped.value("surge_refusals_total", with(kCheckout, "cause", "queue_timeout")), 0);
  EXPECT_EQ(scraped.value("surge_starts_held_back_total", with(kCheckout, "limit", "memory")), 3);
  EXPECT_EQ(scraped.value("surge_starts_held_back_total", with(kCheckout, "limit", "max_instances")), 0);
  EXPECT_EQ(scraped.value("surge_cold_starts_total", kCheckout), 3);

  // End to end: 30 × 2 ms and 9 × 40 ms, in seconds, cumulative by le.
  EXPECT_EQ(scraped.type("surge_invocation_duration_seconds"), "histogram");
  const std::string e2e = "surge_invocation_duration_seconds";
  EXPECT_EQ(scraped.value(e2e + "_count", kCheckout), 39);
  EXPECT_NEAR(*scraped.value(e2e + "_sum", kCheckout), 30 * 0.002 + 9 * 0.04, 1e-9);
  EXPECT_EQ(scraped.value(e2e + "_bucket", with(kCheckout, "le", "0.001")), 0);
  EXPECT_EQ(scraped.value(e2e + "_bucket", with(kCheckout, "le", "0.0025")), 30);
  EXPECT_EQ(scraped.value(e2e + "_bucket", with(kCheckout, "le", "0.025")), 30);
  EXPECT_EQ(scraped.value(e2e + "_bucket", with(kCheckout, "le", "0.05")), 39);
  EXPECT_EQ(scraped.value(e2e + "_bucket", with(kCheckout, "le", "+Inf")), 39);
  EXPECT_EQ(scraped.value("surge_queue_wait_seconds_bucket", with(kCheckout, "le", "0.0001")), 0);
  EXPECT_EQ(scraped.value("surge_queue_wait_seconds_bucket", with(kCheckout, "le", "0.00025")), 39);
  EXPECT_EQ(scraped.value("surge_execution_duration_seconds_count", kCheckout), 33);
  EXPECT_EQ(scraped.value("surge_execution_duration_seconds_bucket", with(kCheckout, "le", "0.0025")), 30);
  EXPECT_EQ(scraped.value("surge_cold_start_duration_seconds_bucket", with(kCheckout, "le", "0.25")), 0);
  EXPECT_EQ(scraped.value("surge_cold_start_duration_seconds_bucket", with(kCheckout, "le", "0.5")), 3);
  EXPECT_NEAR(*scraped.value("surge_cold_start_duration_seconds_sum", kCheckout), 0.9, 1e-9);

  // Gauges: the last second's.
  EXPECT_EQ(scraped.value("surge_instances", with(with(kCheckout, "kind", "reserved"), "state", "idle")), 2);
  EXPECT_EQ(scraped.value("surge_instances", with(with(kCheckout, "kind", "on_demand"), "state", "busy")), 3);
  EXPECT_EQ(scraped.value("surge_instances", with(with(kCheckout, "kind", "on_demand"), "state", "draining")), 0);
  EXPECT_EQ(scraped.value("surge_in_flight", kCheckout), 3);
  EXPECT_EQ(scraped.value("surge_queue_depth", kCheckout), 4);
  EXPECT_EQ(scraped.value("surge_reserved_target", kCheckout), 2);
  EXPECT_EQ(scraped.value("surge_reserved_ready", kCheckout), 2);
  EXPECT_EQ(scraped.value("surge_concurrency_utilisation", kCheckout), 0.5);

  // The server's gauges, in bytes; and nothing of the server's own series.
  EXPECT_EQ(scraped.value("surge_memory_budget_bytes", {}), 1024.0 * 1024 * 1024);
  EXPECT_EQ(scraped.value("surge_memory_used_bytes", {}), 300.0 * 1024 * 1024);
  EXPECT_EQ(scraped.value("surge_memory_reserved_bytes", {}), 256.0 * 1024 * 1024);
  EXPECT_EQ(scraped.value("surge_starts_in_progress", {}), 1);
  EXPECT_EQ(scraped.value("surge_prestarted_sandboxes", {{"runtime", "python3.11"}}), 2);
  EXPECT_EQ(scraped.value("surge_prestarted_sandboxes", {{"runtime", "nodejs18"}}), 1);
  EXPECT_EQ(scraped.samplesWith("function", ""), 0);
}

TEST(PrometheusExporter, AFunctionMissingFromAFrameHasItsGaugesAtZeroAndKeepsItsCounters) {
  auto exporter = startOnLoopback();
  ASSERT_NE(exporter, nullptr);
  exporter->publish(frame(1, {{"shop/cart", busySecond(1, 1)}, {"shop/checkout", checkoutSecond(1)}}));
  Frame withoutCheckout = frame(2, {{"shop/cart", busySecond(2, 1)}});
  withoutCheckout.server.prestarted = {{"nodejs18", 1}}; // python3.11's pool ran dry
  exporter->publish(withoutCheckout);
  const Exposition scraped = scrape(*exporter);

  EXPECT_EQ(scraped.value("surge_in_flight", kCheckout), 0);
  EXPECT_EQ(scraped.value("surge_queue_depth", kCheckout), 0);
  EXPECT_EQ(scraped.value("surge_reserved_target", kCheckout), 0);
  EXPECT_EQ(scraped.value("surge_reserved_ready", kCheckout), 0);
  EXPECT_EQ(scraped.value("surge_concurrency_utilisation", kCheckout), 0);
  EXPECT_EQ(scraped.value("surge_instances", with(with(kCheckout, "kind", "on_demand"), "state", "busy")), 0);
  EXPECT_EQ(scraped.value("surge_instances", with(with(kCheckout, "kind", "reserved"), "state", "idle")), 0);
  EXPECT_EQ(scraped.value("surge_invocations_total", with(kCheckout, "outcome", "success")), 10);
  EXPECT_EQ(scraped.value("surge_invocation_duration_seconds_count", kCheckout), 13);
  EXPECT_EQ(scraped.value("surge_prestarted_sandboxes", {{"runtime", "python3.11"}}), 0);

  const Labels cart = {{"namespace", "shop"}, {"function", "cart"}};
  EXPECT_EQ(scraped.value("surge_in_flight", cart), 1);
  EXPECT_EQ(scraped.value("surge_invocations_total", with(cart, "outcome", "success")), 2);
}

TEST(PrometheusExporter, ANonLoopbackAddressNeedsInsecure) {
  for (const std::string listen : {"0.0.0.0:0", "192.0.2.1:9464", "[::]:0", "[2001:db8::1]:9464"}) {
    const auto exporter = PrometheusExporter::start(options(listen));
    ASSERT_FALSE(exporter.ok()) << listen;
    EXPECT_EQ(exporter.status().code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_NE(exporter.status().message().find("--metrics-insecure"), std::string::npos) << exporter.status();
  }
}

TEST(PrometheusExporter, LocalhostAndAnyLoopbackAddressNeedNoInsecure) {
  for (const std::string listen : {"localhost:0", "127.0.0.2:0"}) {
    const auto exporter = PrometheusExporter::start(options(listen));
    ASSERT_TRUE(exporter.ok()) << listen << ": " << exporter.status();
    EXPECT_NE((*exporter)->port(), 0) << listen;
  }
}

TEST(PrometheusExporter, AnIPv6AddressIsInvalidArgumentSayingWhy) {
  const auto exporter = PrometheusExporter::start(options("[::1]:0"));
  ASSERT_FALSE(exporter.ok());
  EXPECT_EQ(exporter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(exporter.status().message(), "metrics listen address '[::1]:0' is IPv6, which the metrics endpoint cannot "
                                         "bind; use 127.0.0.1:PORT (or an IPv4 address with --metrics-insecure)");
}

TEST(PrometheusExporter, AMalformedAddressIsInvalidArgumentNamingIt) {
  for (const std::string listen : {"", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:65536", "metrics.example:9464"}) {
    const auto exporter = PrometheusExporter::start(options(listen, /*insecure=*/true));
    ASSERT_FALSE(exporter.ok()) << listen;
    EXPECT_EQ(exporter.status().code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_NE(exporter.status().message().find("'" + listen + "'"), std::string::npos) << exporter.status();
  }
}

TEST(PrometheusExporter, APortInUseIsFailedPrecondition) {
  auto first = startOnLoopback();
  ASSERT_NE(first, nullptr);
  const std::string listen = "127.0.0.1:" + std::to_string(first->port());
  const auto second = PrometheusExporter::start(options(listen));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(listen), std::string::npos) << second.status();
  // The first one still serves.
  EXPECT_EQ(get(first->port(), "/metrics").status, 200);
}

TEST(PrometheusExporter, BasicAuthAnswers401WithoutTheCredentialsAnd200WithThem) {
  auto exporter = startOnLoopback(options("", false, "prometheus", "s3cret"));
  ASSERT_NE(exporter, nullptr);
  exporter->publish(frame(1, {{"shop/checkout", checkoutSecond(1)}}));
  EXPECT_EQ(get(exporter->port(), "/metrics").status, 401);
  EXPECT_EQ(get(exporter->port(), "/metrics", basic("prometheus", "wrong")).status, 401);
  EXPECT_EQ(get(exporter->port(), "/metrics", basic("grafana", "s3cret")).status, 401);
  const HttpResponse allowed = get(exporter->port(), "/metrics", basic("prometheus", "s3cret"));
  ASSERT_EQ(allowed.status, 200);
  EXPECT_EQ(Exposition(allowed.body).value("surge_invocations_total", with(kCheckout, "outcome", "success")), 10);
}

TEST(PrometheusExporter, AUserWithoutAPasswordIsInvalidArgument) {
  const auto exporter = PrometheusExporter::start(options("127.0.0.1:0", false, "prometheus"));
  ASSERT_FALSE(exporter.ok());
  EXPECT_EQ(exporter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(exporter.status().message(), "metrics basic auth needs both a user and a password, or neither");
}

TEST(PrometheusExporter, ScrapesWhilePublishingSeeCountersThatNeverDecrease) {
  auto exporter = startOnLoopback();
  ASSERT_NE(exporter, nullptr);
  exporter->publish(frame(0, {{"shop/checkout", checkoutSecond(0)}}));
  std::atomic<bool> stop = false;
  std::thread publisher([&] {
    for (int64_t second = 1; !stop; ++second) {
      exporter->publish(frame(second, {{"shop/checkout", checkoutSecond(second)}}));
    }
  });
  double last = 0;
  for (int i = 0; i < 20; ++i) {
    const HttpResponse response = get(exporter->port(), "/metrics");
    ASSERT_EQ(response.status, 200);
    const std::string line = "surge_invocations_total{function=\"checkout\",namespace=\"shop\",outcome=\"success\"} ";
    const size_t at = response.body.find(line);
    ASSERT_NE(at, std::string::npos) << response.body;
    const double now = std::stod(response.body.substr(at + line.size()));
    EXPECT_GE(now, last);
    last = now;
  }
  stop = true;
  publisher.join();
  EXPECT_GE(last, 10);
}

// The endpoint of a real surged (--metrics-listen, --metrics-auth-file) with a real sandboxed
// function: invocations reach the scrape, which the reference parser reads whole.
TEST(PrometheusEndpoint, SurgedServesItsInvocationsBehindBasicAuth) {
  testing::TempDir dir;
  const std::filesystem::path credentials = dir.path() / "metrics.auth";
  std::ofstream(credentials) << "scraper:s3cret\n";
  testing::SurgedProcess surged(dir.path() / "data",
                                {"--metrics-listen", "127.0.0.1:0", "--metrics-auth-file", credentials.string()});
  const std::string log = surged.log();
  const std::string marker = "serving Prometheus metrics on http://127.0.0.1:";
  const size_t at = log.find(marker);
  ASSERT_NE(at, std::string::npos) << log;
  const auto port = static_cast<uint16_t>(std::stoi(log.substr(at + marker.size())));

  auto channel = testing::makeChannel(surged.address());
  ASSERT_TRUE(
      testing::deployPythonFunction(channel, {.name = "scraped", .code = "def handler(e, c):\n    return e\n"}).ok());
  auto invoke = v1::InvokeService::NewStub(channel);
  for (int i = 0; i < 3; ++i) {
    v1::InvokeRequest request;
    request.set_function("scraped");
    request.set_payload("x");
    v1::InvokeResponse response;
    auto context = testing::contextWithDeadline();
    ASSERT_TRUE(invoke->Invoke(context.get(), request, &response).ok());
  }

  EXPECT_EQ(get(port, "/metrics").status, 401) << "no credentials";
  const Labels success = {{"namespace", "default"}, {"function", "scraped"}, {"outcome", "success"}};
  // A second a watcher has seen has reached the endpoint too (FramePipeline): watch until the
  // three calls have been counted, then scrape once.
  auto watcher = v1::MetricsService::NewStub(channel);
  v1::WatchMetricsRequest watch;
  watch.set_function("scraped");
  auto watchContext = testing::contextWithDeadline(std::chrono::seconds(10));
  auto stream = watcher->WatchMetrics(watchContext.get(), watch);
  v1::MetricsSnapshot snapshot;
  uint64_t watched = 0;
  while (watched < 3 && stream->Read(&snapshot)) {
    for (const auto& entry : snapshot.functions()) watched += entry.outcomes().success();
  }
  watchContext->TryCancel();
  stream->Finish();
  ASSERT_EQ(watched, 3u);
  const HttpResponse scraped = get(port, "/metrics", basic("scraper", "s3cret"));
  ASSERT_EQ(scraped.status, 200);
  const std::optional<double> counted = Exposition(scraped.body).value("surge_invocations_total", success);
  EXPECT_EQ(counted, 3);
  const std::string body = get(port, "/metrics", basic("scraper", "s3cret")).body;
  const Exposition last(body);
  SCOPED_TRACE(body);
  EXPECT_EQ(last.type("surge_invocation_duration_seconds"), "histogram");
  EXPECT_EQ(last.value("surge_invocation_duration_seconds_count", {{"namespace", "default"}, {"function", "scraped"}}),
            3);
  EXPECT_EQ(last.value("surge_cold_starts_total", {{"namespace", "default"}, {"function", "scraped"}}), 1);
}

} // namespace
} // namespace surge::metrics
