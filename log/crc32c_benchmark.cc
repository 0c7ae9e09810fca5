// CRC-32C throughput per implementation and buffer size: 64 B is a tiny record batch, 4 KiB a
// typical one, 64 KiB a large one, 1 MiB the default max.message.bytes.

#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "log/crc32c.h"

namespace varve {
namespace {

using ExtendFn = uint32_t (*)(uint32_t, const void*, size_t);

void RunCrc(benchmark::State& state, ExtendFn extend) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> data(n);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>(i * 131 + 7);
  uint32_t crc = 0;
  for (auto _ : state) {
    crc = extend(crc, data.data(), n);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

void BM_Crc32cPortable(benchmark::State& state) { RunCrc(state, crc32c_internal::ExtendPortable); }

void BM_Crc32cSse42(benchmark::State& state) {
  if (!crc32c_internal::HasSse42()) {
    state.SkipWithError("CPU lacks SSE4.2");
    return;
  }
  RunCrc(state, crc32c_internal::ExtendSse42);
}

void BM_Crc32cDispatch(benchmark::State& state) { RunCrc(state, Crc32cExtend); }

BENCHMARK(BM_Crc32cPortable)->Arg(64)->Arg(4 << 10)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_Crc32cSse42)->Arg(64)->Arg(4 << 10)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_Crc32cDispatch)->Arg(64)->Arg(4 << 10)->Arg(1 << 20);

}  // namespace
}  // namespace varve
