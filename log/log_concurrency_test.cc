// Readers racing one appender: a reader must never see a partially written batch, offsets must
// stay dense, and every record must hold what was appended at its offset. Bounded by counts, not
// time, so it is not flaky on a slow machine; scripts/test.sh also runs it under ThreadSanitizer.

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/log.h"

namespace varve {
namespace {

std::string ValueFor(int64_t offset) {
  // Variable sizes so batch boundaries move around index entries and segment ends.
  return "v" + std::to_string(offset) + std::string(offset % 97, 'x');
}

TEST(LogConcurrencyTest, ReadersNeverSeePartialBatchesWhileAppending) {
  TempDir dir;
  LogOptions options;
  options.config.segment_bytes = 16 * 1024;
  options.config.index_interval_bytes = 256;
  auto opened = Log::Open(dir.Sub("t-0"), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Log* log = opened->get();

  constexpr int kBatches = 1500;
  std::atomic<bool> done{false};
  std::thread appender([&] {
    std::vector<std::string> values;
    std::vector<RecordToAppend> records;
    for (int b = 0; b < kBatches; ++b) {
      const int n = 1 + b % 5;
      const int64_t base = log->end_offset();
      values.clear();
      records.clear();
      for (int i = 0; i < n; ++i) values.push_back(ValueFor(base + i));
      for (int i = 0; i < n; ++i) {
        records.push_back({.key = "k", .value = values[i], .timestamp = base + i});
      }
      auto info = log->Append(records);
      ASSERT_TRUE(info.ok()) << info.status();
      ASSERT_EQ(info->base_offset, base);
    }
    done.store(true);
  });

  std::atomic<int64_t> records_checked{0};
  auto reader = [&](uint32_t seed) {
    std::mt19937 rng(seed);
    int passes = 0;
    while (!done.load() || passes < 2) {
      if (done.load()) ++passes;
      const int64_t end = log->end_offset();
      const int64_t start = end == 0 ? 0 : std::uniform_int_distribution<int64_t>(0, end)(rng);
      LogReader r = log->NewReader(start);
      RecordView record;
      int64_t expected = start;
      while (r.NextRecord(&record)) {
        ASSERT_EQ(record.offset, expected);
        ASSERT_EQ(*record.value, ValueFor(record.offset));
        ++expected;
      }
      ASSERT_TRUE(r.status().ok()) << r.status();
      // Everything visible when the reader started was read (and maybe more).
      ASSERT_GE(expected, end);
      records_checked.fetch_add(expected - start);
      // A raw read with a random budget returns whole, valid batches.
      const int64_t budget = std::uniform_int_distribution<int64_t>(1, 20000)(rng);
      auto read = log->Read(start, budget);
      ASSERT_TRUE(read.ok()) << read.status();
      std::string bytes;
      ASSERT_TRUE(read->AppendTo(&bytes).ok());
      BatchIterator batches(bytes);
      BatchView batch;
      while (batches.Next(&batch)) {
      }
      ASSERT_TRUE(batches.status().ok()) << batches.status();
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  appender.join();
  r1.join();
  r2.join();
  EXPECT_GT(records_checked.load(), 0);
  EXPECT_GT(log->SegmentBaseOffsets().size(), 10u);
}

}  // namespace
}  // namespace varve
