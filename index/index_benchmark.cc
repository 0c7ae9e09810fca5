// Index lookups and appends on full default-size indexes (10 MiB: 1,310,720 offset entries,
// 873,813 time entries), the size every active segment's indexes are preallocated to.
//
//   bazel run --config=bench //index:index_benchmark
//
// Lookup/random: uniformly random targets over the whole index, the worst case for the caches
//   (a cold consumer or a ListOffsets by time anywhere in the segment). Goal: under 1 µs.
// Lookup/tail: targets among the last 1,024 entries, the common case of consumers at the tail.
// Append: one entry per iteration; the index is reset when full.

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "base/file.h"
#include "base/temp_dir.h"
#include "benchmark/benchmark.h"
#include "index/offset_index.h"
#include "index/time_index.h"

namespace varve {
namespace {

// Entry i of the benchmark indexes: offset 10i + 1 (one entry per ten records), position 1000i,
// timestamp kT0 + 7i.
constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int kTargets = 1 << 16;  // a power of two, for cheap wrap-around

template <typename Index>
std::unique_ptr<Index> OpenOrDie(const TempDir& dir, const char* name) {
  auto index = Index::Open(PosixFileSystem(), dir.Sub(name), 0, kDefaultMaxIndexBytes, true);
  if (!index.ok()) abort();
  return std::move(index).value();
}

struct FullIndexes {
  FullIndexes() {
    offsets = OpenOrDie<OffsetIndex>(dir, "0.index");
    for (int64_t i = 0; !offsets->IsFull(); ++i) {
      if (!offsets->Append(10 * i + 1, 1000 * i).ok()) abort();
    }
    times = OpenOrDie<TimeIndex>(dir, "0.timeindex");
    for (int64_t i = 0; times->entries() < times->max_entries(); ++i) {
      if (!times->MaybeAppend(kT0 + 7 * i, 10 * i + 1, /*skip_full_check=*/true).ok()) abort();
    }
  }
  TempDir dir;
  std::unique_ptr<OffsetIndex> offsets;
  std::unique_ptr<TimeIndex> times;
};

const FullIndexes& Indexes() {
  static const FullIndexes* const indexes = new FullIndexes();
  return *indexes;
}

// kTargets values uniform in [low, high).
std::vector<int64_t> Targets(int64_t low, int64_t high) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> pick(low, high - 1);
  std::vector<int64_t> targets(kTargets);
  for (int64_t& t : targets) t = pick(rng);
  return targets;
}

template <typename Index>
void RunLookups(benchmark::State& state, const Index& index, const std::vector<int64_t>& targets) {
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(index.Lookup(targets[i++ & (kTargets - 1)]));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["entries"] = index.entries();
}

void BM_OffsetIndexLookupRandom(benchmark::State& state) {
  const OffsetIndex& index = *Indexes().offsets;
  RunLookups(state, index, Targets(0, 10 * int64_t{index.entries()} + 10));
}

void BM_OffsetIndexLookupTail(benchmark::State& state) {
  const OffsetIndex& index = *Indexes().offsets;
  const int64_t end = 10 * int64_t{index.entries()};
  RunLookups(state, index, Targets(end - 10 * 1024, end));
}

void BM_TimeIndexLookupRandom(benchmark::State& state) {
  const TimeIndex& index = *Indexes().times;
  RunLookups(state, index, Targets(kT0 - 10, kT0 + 7 * int64_t{index.entries()} + 10));
}

void BM_TimeIndexLookupTail(benchmark::State& state) {
  const TimeIndex& index = *Indexes().times;
  const int64_t end = kT0 + 7 * int64_t{index.entries()};
  RunLookups(state, index, Targets(end - 7 * 1024, end));
}

void BM_OffsetIndexAppend(benchmark::State& state) {
  TempDir dir;
  std::unique_ptr<OffsetIndex> index = OpenOrDie<OffsetIndex>(dir, "0.index");
  int64_t i = 0;
  for (auto _ : state) {
    if (index->IsFull()) {
      index->Reset();
      i = 0;
    }
    if (!index->Append(10 * i + 1, 1000 * i).ok()) abort();
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_TimeIndexMaybeAppend(benchmark::State& state) {
  TempDir dir;
  std::unique_ptr<TimeIndex> index = OpenOrDie<TimeIndex>(dir, "0.timeindex");
  int64_t i = 0;
  for (auto _ : state) {
    if (index->IsFull()) {
      index->Reset();
      i = 0;
    }
    if (!index->MaybeAppend(kT0 + 7 * i, 10 * i + 1).ok()) abort();
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_OffsetIndexLookupRandom);
BENCHMARK(BM_OffsetIndexLookupTail);
BENCHMARK(BM_TimeIndexLookupRandom);
BENCHMARK(BM_TimeIndexLookupTail);
BENCHMARK(BM_OffsetIndexAppend);
BENCHMARK(BM_TimeIndexMaybeAppend);

}  // namespace
}  // namespace varve
