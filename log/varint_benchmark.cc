// Encode and decode speed of the record-field varints (reference §1.2), over streams of values
// shaped like the fields of real records, so branch prediction sees a realistic mix of sizes.

#include <cstdint>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "log/varint.h"

namespace varve {
namespace {

constexpr int kValues = 4096;

// Varint fields of a record with a 16-byte key and a ~1 KiB value: Length (2 bytes), OffsetDelta
// (1-2 bytes within a batch), KeyLength (16 or -1), ValueLength (2 bytes), HeadersCount (0).
std::vector<int32_t> RecordFieldVarints() {
  std::mt19937 rng(1);
  std::vector<int32_t> v;
  for (int i = 0; v.size() < kValues; ++i) {
    const int32_t value_len = 200 + static_cast<int32_t>(rng() % 1800);
    const bool null_key = rng() % 4 == 0;
    v.push_back(value_len + 30);
    v.push_back(i % 500);
    v.push_back(null_key ? -1 : 16);
    v.push_back(value_len);
    v.push_back(0);
  }
  v.resize(kValues);
  return v;
}

// TimestampDelta: milliseconds since the batch's first record, mostly 1-2 bytes.
std::vector<int64_t> TimestampDeltas() {
  std::mt19937 rng(2);
  std::vector<int64_t> v(kValues);
  for (auto& x : v) x = rng() % 5000;
  return v;
}

// Absolute epoch-millisecond timestamps: the 6-byte case, e.g. in control records or tools.
std::vector<int64_t> AbsoluteTimestamps() {
  std::mt19937 rng(3);
  std::vector<int64_t> v(kValues);
  for (auto& x : v) x = 1'700'000'000'000 + static_cast<int64_t>(rng() % 100'000'000);
  return v;
}

template <typename T, typename Put>
std::vector<char> EncodeAll(const std::vector<T>& values, Put put, int max_bytes) {
  std::vector<char> buf(values.size() * max_bytes);
  char* p = buf.data();
  for (T x : values) p = put(p, x);
  buf.resize(p - buf.data());
  return buf;
}

template <typename T, typename Put>
void RunEncode(benchmark::State& state, const std::vector<T>& values, Put put, int max_bytes) {
  std::vector<char> buf(values.size() * max_bytes);
  for (auto _ : state) {
    char* p = buf.data();
    for (T x : values) p = put(p, x);
    benchmark::DoNotOptimize(p);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(values.size()));
}

template <typename T, typename Put, typename Get>
void RunDecode(benchmark::State& state, const std::vector<T>& values, Put put, Get get,
               int max_bytes) {
  const std::vector<char> buf = EncodeAll(values, put, max_bytes);
  const char* limit = buf.data() + buf.size();
  for (auto _ : state) {
    T sum = 0;
    const char* p = buf.data();
    while (p != limit) {
      T x;
      p = get(p, limit, &x);
      if (p == nullptr) {
        state.SkipWithError("decode failed");
        return;
      }
      sum += x;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(values.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(buf.size()));
}

void BM_VarintEncodeRecordFields(benchmark::State& state) {
  RunEncode(state, RecordFieldVarints(), PutVarint, kMaxVarintBytes);
}
void BM_VarintDecodeRecordFields(benchmark::State& state) {
  RunDecode(state, RecordFieldVarints(), PutVarint, GetVarint, kMaxVarintBytes);
}
void BM_VarlongEncodeTimestampDeltas(benchmark::State& state) {
  RunEncode(state, TimestampDeltas(), PutVarlong, kMaxVarlongBytes);
}
void BM_VarlongDecodeTimestampDeltas(benchmark::State& state) {
  RunDecode(state, TimestampDeltas(), PutVarlong, GetVarlong, kMaxVarlongBytes);
}
void BM_VarlongEncodeAbsoluteTimestamps(benchmark::State& state) {
  RunEncode(state, AbsoluteTimestamps(), PutVarlong, kMaxVarlongBytes);
}
void BM_VarlongDecodeAbsoluteTimestamps(benchmark::State& state) {
  RunDecode(state, AbsoluteTimestamps(), PutVarlong, GetVarlong, kMaxVarlongBytes);
}

BENCHMARK(BM_VarintEncodeRecordFields);
BENCHMARK(BM_VarintDecodeRecordFields);
BENCHMARK(BM_VarlongEncodeTimestampDeltas);
BENCHMARK(BM_VarlongDecodeTimestampDeltas);
BENCHMARK(BM_VarlongEncodeAbsoluteTimestamps);
BENCHMARK(BM_VarlongDecodeAbsoluteTimestamps);

}  // namespace
}  // namespace varve
