// The produce and read hot paths of one typical batch: 100 records, 10-byte keys, 100-byte
// values, no headers (about 12 KB). Goal: building it takes under 10 µs.
//
//   bazel run --config=bench //log:record_batch_benchmark

#include <string>

#include "benchmark/benchmark.h"
#include "log/batch_builder.h"
#include "log/batch_reader.h"
#include "log/batch_validator.h"

namespace varve {
namespace {

constexpr int kRecords = 100;
const std::string kKey(10, 'k');
const std::string kValue(100, 'v');

void AddRecords(BatchBuilder* builder) {
  for (int i = 0; i < kRecords; ++i) builder->Add(1700000000000 + i, kKey, kValue);
}

std::string TypicalBatch() {
  BatchBuilder builder;
  AddRecords(&builder);
  return builder.Build();
}

void SetCounters(benchmark::State& state, size_t batch_bytes) {
  state.SetItemsProcessed(state.iterations() * kRecords);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch_bytes));
}

// A fresh std::string per batch, as a producer handing batches off would do.
void BM_Build(benchmark::State& state) {
  BatchBuilder builder;
  size_t size = 0;
  for (auto _ : state) {
    AddRecords(&builder);
    std::string batch = builder.Build();
    size = batch.size();
    benchmark::DoNotOptimize(batch.data());
  }
  SetCounters(state, size);
}
BENCHMARK(BM_Build);

// One output string reused: no allocation in the steady state.
void BM_BuildInto(benchmark::State& state) {
  BatchBuilder builder;
  std::string batch;
  for (auto _ : state) {
    AddRecords(&builder);
    builder.BuildInto(&batch);
    benchmark::DoNotOptimize(batch.data());
  }
  SetCounters(state, batch.size());
}
BENCHMARK(BM_BuildInto);

// The produce path: framing, CRC, client rules and every record.
void BM_Validate(benchmark::State& state) {
  const std::string batch = TypicalBatch();
  for (auto _ : state) {
    BatchCheck check = ValidateBatch(batch, ValidationOptions());
    benchmark::DoNotOptimize(check.rule);
  }
  SetCounters(state, batch.size());
}
BENCHMARK(BM_Validate);

// Validation without the record walk: roughly the cost of the CRC.
void BM_ValidateHeaderOnly(benchmark::State& state) {
  const std::string batch = TypicalBatch();
  ValidationOptions options;
  options.check_records = false;
  for (auto _ : state) {
    BatchCheck check = ValidateBatch(batch, options);
    benchmark::DoNotOptimize(check.rule);
  }
  SetCounters(state, batch.size());
}
BENCHMARK(BM_ValidateHeaderOnly);

// A consumer reading the batch back: batch framing with CRC, then every record.
void BM_IterateRecords(benchmark::State& state) {
  const std::string batch = TypicalBatch();
  for (auto _ : state) {
    BatchIterator batches(batch);
    BatchView view;
    size_t value_bytes = 0;
    while (batches.Next(&view)) {
      RecordIterator records(view.bytes, view.position);
      RecordView record;
      while (records.Next(&record)) value_bytes += record.value->size();
    }
    benchmark::DoNotOptimize(value_bytes);
  }
  SetCounters(state, batch.size());
}
BENCHMARK(BM_IterateRecords);

}  // namespace
}  // namespace varve
