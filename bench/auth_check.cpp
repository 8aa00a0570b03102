// bench/auth_check: the per-call API key check (KeyStore::authenticate) with 1,000 active keys,
// for a valid key and for an unknown one. Google Benchmark; the issue asks for microseconds.
//
//   build/bench/auth_check --benchmark_out=bench/results/auth_check.json --benchmark_out_format=json
#include "auth/key_store.h"
#include "common/clock.h"
#include "store/database.h"
#include "support/temp_dir.h"

#include <benchmark/benchmark.h>

namespace {

struct Fixture {
  Fixture() {
    db = std::move(*surge::store::Database::open(dir.path() / "surge.db"));
    keys = std::move(*surge::auth::KeyStore::open(*db, surge::common::SystemClock::instance(),
                                                  [](std::function<void()> task) { task(); }));
    for (int i = 0; i < 1000; ++i) {
      auto created = keys->create("key-" + std::to_string(i), surge::auth::Role::kDeveloper, {}, {});
      if (i == 500) header = "Bearer " + created->token;
    }
  }
  surge::testing::TempDir dir;
  std::unique_ptr<surge::store::Database> db;
  std::unique_ptr<surge::auth::KeyStore> keys;
  std::string header;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_AuthenticateValidKey(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) benchmark::DoNotOptimize(f.keys->authenticate(f.header));
}
BENCHMARK(BM_AuthenticateValidKey)->Repetitions(5)->ReportAggregatesOnly(true);

void BM_AuthenticateUnknownKey(benchmark::State& state) {
  Fixture& f = fixture();
  const std::string unknown = "Bearer surge_zzzzzzzzzzzzzzzz_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw";
  for (auto _ : state) benchmark::DoNotOptimize(f.keys->authenticate(unknown));
}
BENCHMARK(BM_AuthenticateUnknownKey)->Repetitions(5)->ReportAggregatesOnly(true);

} // namespace

BENCHMARK_MAIN();
