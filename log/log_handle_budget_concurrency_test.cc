// Readers, an appender, retention and flushes racing over a budget of four open segments: every
// read returns the right bytes, slices held across deletions stay readable, and nothing races
// (scripts/test.sh runs this under ThreadSanitizer). Bounded by counts, not time.

#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/flusher.h"
#include "log/log.h"
#include "log/segment_handle_cache.h"

namespace varve {
namespace {

std::string ValueFor(int64_t offset) {
  // Variable sizes so batch boundaries move around index entries and segment ends.
  return "v" + std::to_string(offset) + std::string(offset % 61, 'x');
}

// Checks that `bytes` are whole batches holding ValueFor(offset) at every offset.
void ExpectValidBatches(const std::string& bytes) {
  BatchIterator batches(bytes);
  BatchView batch;
  while (batches.Next(&batch)) {
    RecordIterator records(batch.bytes);
    RecordView record;
    while (records.Next(&record)) ASSERT_EQ(*record.value, ValueFor(record.offset));
    ASSERT_TRUE(records.status().ok()) << records.status();
  }
  ASSERT_TRUE(batches.status().ok()) << batches.status();
}

TEST(LogHandleBudgetConcurrencyTest, ReadersAppenderAndRetentionShareATinyBudget) {
  constexpr int64_t kBudget = 4;
  const int64_t saved_capacity = SegmentHandleCache::Global().capacity();
  ASSERT_TRUE(SegmentHandleCache::Global().SetCapacity(kBudget).ok());
  TempDir dir;
  LogOptions options;
  // Not io_uring: liburing maps its rings with raw syscalls that ThreadSanitizer does not see,
  // and a ring placed where an evicted index was mapped (index files are shorter than a page,
  // so unmapping them leaves ThreadSanitizer's shadow of the page behind) reads as a race.
  options.io_backend = IoBackendKind::kPwritev;
  options.config.segment_bytes = 400;
  options.config.index_interval_bytes = 64;
  options.config.segment_index_bytes = 4096;
  // Only DeleteRecordsBefore deletes: it raises the log start offset before segments go, so a
  // reader overtaken by it gets OutOfRange. (The timestamps are from 1970.)
  options.config.retention_ms = -1;
  auto opened = Log::Open(dir.Sub("t-0"), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Log* log = opened->get();

  constexpr int kBatches = 1000;
  std::atomic<bool> done{false};
  std::thread appender([&] {
    for (int b = 0; b < kBatches; ++b) {
      const int n = 1 + b % 3;
      const int64_t base = log->end_offset();
      std::vector<std::string> values;
      std::vector<RecordToAppend> records;
      for (int i = 0; i < n; ++i) values.push_back(ValueFor(base + i));
      for (int i = 0; i < n; ++i) {
        records.push_back({.key = "k", .value = values[i], .timestamp = base + i});
      }
      auto info = log->Append(records);
      ASSERT_TRUE(info.ok()) << info.status();
    }
    done.store(true);
  });

  // Deletes all but the newest ~100 offsets now and then, under the readers' feet.
  std::thread retention([&] {
    for (int pass = 1; !done.load(); ++pass) {
      const int64_t end = log->end_offset();
      if (end > 100 && pass % 10 == 0) {
        auto result = log->DeleteRecordsBefore(end - 100);
        ASSERT_TRUE(result.ok()) << result.status();
      }
      if (pass % 50 == 0) {
        ASSERT_TRUE(log->Flush().ok());  // syncs from this thread too
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });

  std::atomic<int64_t> records_checked{0};
  auto reader = [&](uint32_t seed) {
    std::mt19937 rng(seed);
    // A slice kept across iterations, while retention deletes its segment.
    std::optional<ReadResult> held;
    std::string held_bytes;
    int passes = 0;
    while (!done.load() || passes < 2) {
      if (done.load()) ++passes;
      const int64_t start_offset = log->start_offset();
      const int64_t end = log->end_offset();
      const int64_t start =
          std::uniform_int_distribution<int64_t>(start_offset, std::max(start_offset, end))(rng);
      LogReader r = log->NewReader(start);
      RecordView record;
      int64_t expected = start;
      while (r.NextRecord(&record)) {
        ASSERT_EQ(record.offset, expected);
        ASSERT_EQ(*record.value, ValueFor(record.offset));
        ++expected;
      }
      if (absl::IsOutOfRange(r.status())) {
        // Retention overtook the reader.
        ASSERT_LT(r.next_offset(), log->start_offset()) << r.status();
      } else {
        ASSERT_TRUE(r.status().ok()) << r.status();
        ASSERT_GE(expected, end);
      }
      records_checked.fetch_add(expected - start);

      if (held) {
        std::string bytes;
        ASSERT_TRUE(held->AppendTo(&bytes).ok());
        ASSERT_EQ(bytes, held_bytes);
      }
      auto read = log->Read(std::max(start, log->start_offset()),
                            std::uniform_int_distribution<int64_t>(1, 4000)(rng));
      if (read.ok()) {
        held_bytes.clear();
        ASSERT_TRUE(read->AppendTo(&held_bytes).ok());
        ASSERT_NO_FATAL_FAILURE(ExpectValidBatches(held_bytes));
        held = std::move(*read);
      } else {
        ASSERT_TRUE(absl::IsOutOfRange(read.status())) << read.status();
      }

      const int64_t ts = std::uniform_int_distribution<int64_t>(0, end)(rng);
      auto found = log->OffsetForTimestamp(ts);
      ASSERT_TRUE(found.ok()) << found.status();
      if (found->has_value()) {
        ASSERT_GE((*found)->offset, ts);
        ASSERT_EQ((*found)->timestamp, (*found)->offset);
      }
      // Readers back to back would starve the appender's rolls (std::shared_mutex on glibc
      // prefers readers) and make the test slow, not better.
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  appender.join();
  retention.join();
  r1.join();
  r2.join();
  EXPECT_GT(records_checked.load(), 0);
  EXPECT_GT(SegmentHandleCache::Global().stats().evictions, 0);

  Flusher::Global().WaitUntilIdle();
  // With nothing pinned any more, the next eviction brings the count within the budget.
  ASSERT_TRUE(SegmentHandleCache::Global().SetCapacity(kBudget).ok());
  EXPECT_LE(SegmentHandleCache::Global().open(), kBudget);
  ASSERT_TRUE(log->Close().ok());
  opened->reset();
  EXPECT_EQ(SegmentHandleCache::Global().open(), 0);
  ASSERT_TRUE(SegmentHandleCache::Global().SetCapacity(saved_capacity).ok());
}

}  // namespace
}  // namespace varve
