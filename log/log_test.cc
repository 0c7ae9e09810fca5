#include "log/log.h"

#include <future>
#include <string>
#include <vector>

#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"
#include "log/batch_validator.h"
#include "log/crc32c.h"

namespace varve {
namespace {

class LogTest : public ::testing::Test {
 protected:
  LogOptions Options() {
    LogOptions options;
    options.config = config_;
    options.now_ms = [this] { return now_ms_; };
    return options;
  }
  std::unique_ptr<Log> OpenLog() {
    auto log = Log::Open(dir_.Sub("topic-0"), Options());
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  // Appends one batch of `n` records whose values are "v<offset>" and timestamps 1000+offset.
  AppendInfo AppendN(Log* log, int n) {
    std::vector<std::string> values;
    std::vector<RecordToAppend> records;
    const int64_t base = log->end_offset();
    for (int i = 0; i < n; ++i) values.push_back("v" + std::to_string(base + i));
    for (int i = 0; i < n; ++i) {
      records.push_back(
          RecordToAppend{.key = "k", .value = values[i], .timestamp = 1000 + base + i});
    }
    auto info = log->Append(records);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? *info : AppendInfo{};
  }
  // Every record value from `offset` to the end, checking offsets are dense.
  std::vector<std::string> ReadValues(Log* log, int64_t offset) {
    std::vector<std::string> out;
    LogReader reader = log->NewReader(offset);
    RecordView r;
    int64_t expected = offset;
    while (reader.NextRecord(&r)) {
      EXPECT_EQ(r.offset, expected);
      ++expected;
      out.emplace_back(*r.value);
    }
    EXPECT_TRUE(reader.status().ok()) << reader.status();
    return out;
  }

  TempDir dir_;
  LogConfig config_;
  int64_t now_ms_ = 1'000'000;
};

TEST_F(LogTest, NewLogIsEmptyAtOffsetZero) {
  auto log = OpenLog();
  EXPECT_EQ(log->start_offset(), 0);
  EXPECT_EQ(log->end_offset(), 0);
  EXPECT_EQ(log->SegmentBaseOffsets(), std::vector<int64_t>{0});
  auto read = log->Read(0, 1000);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->empty());
  EXPECT_TRUE(PosixFileSystem()->Exists(dir_.Sub("topic-0/00000000000000000000.log")).value());
}

TEST_F(LogTest, AppendAssignsDenseOffsetsAndReadsBack) {
  auto log = OpenLog();
  AppendInfo a = AppendN(log.get(), 3);
  AppendInfo b = AppendN(log.get(), 2);
  EXPECT_EQ(a.base_offset, 0);
  EXPECT_EQ(a.last_offset, 2);
  EXPECT_EQ(b.base_offset, 3);
  EXPECT_EQ(b.last_offset, 4);
  EXPECT_EQ(log->end_offset(), 5);
  EXPECT_EQ(ReadValues(log.get(), 0), (std::vector<std::string>{"v0", "v1", "v2", "v3", "v4"}));
  EXPECT_EQ(ReadValues(log.get(), 4), (std::vector<std::string>{"v4"}));
}

TEST_F(LogTest, AnAppendAsyncCallbackThatAppendsAgainOnTheSameThread) {
  // In page_cache mode the callback runs on the appending thread, while that thread's batch
  // scratch is still lent out: the nested Append must encode into its own.
  auto log = OpenLog();
  std::vector<RecordToAppend> outer = {RecordToAppend{.value = "outer-1"},
                                       RecordToAppend{.value = "outer-2"}};
  bool nested_ok = false;
  log->AppendAsync(outer, [&](absl::StatusOr<AppendInfo> info) {
    ASSERT_TRUE(info.ok()) << info.status();
    const std::string big(5000, 'i');
    std::vector<RecordToAppend> inner = {RecordToAppend{.value = big}};
    nested_ok = log->Append(inner).ok();
  });
  EXPECT_TRUE(nested_ok);
  // And the thread's own scratch is usable again afterwards.
  std::vector<RecordToAppend> last = {RecordToAppend{.value = "last"}};
  ASSERT_TRUE(log->Append(last).ok());
  EXPECT_EQ(ReadValues(log.get(), 0),
            (std::vector<std::string>{"outer-1", "outer-2", std::string(5000, 'i'), "last"}));
}

TEST_F(LogTest, NullKeyNullValueAndHeadersRoundTrip) {
  auto log = OpenLog();
  HeaderRef headers[] = {{"h1", "x"}, {"h2", std::nullopt}};
  RecordToAppend records[] = {{.key = std::nullopt, .value = std::nullopt, .timestamp = 5},
                              {.key = "", .value = "", .timestamp = 6, .headers = headers}};
  ASSERT_TRUE(log->Append(records).ok());
  LogReader reader = log->NewReader(0);
  RecordView r;
  ASSERT_TRUE(reader.NextRecord(&r));
  EXPECT_FALSE(r.key.has_value());
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.timestamp, 5);
  ASSERT_TRUE(reader.NextRecord(&r));
  EXPECT_EQ(r.key, "");
  EXPECT_EQ(r.value, "");
  std::vector<HeaderRef> got = r.Headers();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].key, "h1");
  EXPECT_EQ(got[0].value, "x");
  EXPECT_FALSE(got[1].value.has_value());
  EXPECT_FALSE(reader.NextRecord(&r));
  EXPECT_TRUE(reader.status().ok());
}

TEST_F(LogTest, UnsetTimestampsTakeTheClock) {
  auto log = OpenLog();
  RecordToAppend records[] = {{.value = "x"}};
  auto info = log->Append(records);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->max_timestamp, now_ms_);
}

TEST_F(LogTest, AppendBatchRewritesOnlyBaseOffsetAndLeaderEpoch) {
  auto log = OpenLog();
  AppendN(log.get(), 7);
  log->set_leader_epoch(3);
  BatchBuilder builder;  // BaseOffset 0, PartitionLeaderEpoch -1, as a producer sends
  builder.Add(42, "key", "value");
  builder.Add(43, std::nullopt, "value2");
  std::string produced = builder.Build();
  std::string batch = produced;
  auto info = log->AppendBatch(absl::MakeSpan(batch));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->base_offset, 7);
  EXPECT_EQ(info->last_offset, 8);
  auto read = log->Read(7, 1 << 20);
  ASSERT_TRUE(read.ok());
  std::string stored;
  ASSERT_TRUE(read->AppendTo(&stored).ok());
  ASSERT_EQ(stored.size(), produced.size());
  BatchHeader h = DecodeBatchHeader(stored.data());
  EXPECT_EQ(h.base_offset, 7);
  EXPECT_EQ(h.partition_leader_epoch, 3);
  // Bytes 8..12 (length) and 16.. (magic, CRC, everything the CRC covers) are untouched.
  EXPECT_EQ(stored.substr(8, 4), produced.substr(8, 4));
  EXPECT_EQ(stored.substr(16), produced.substr(16));
  EXPECT_EQ(ComputeBatchCrc(stored), h.crc);
}

TEST_F(LogTest, AppendValidatedBatchIsVisibleAtOnceAndWhenDurableFollowsInEveryMode) {
  for (DurabilityMode mode :
       {DurabilityMode::kPageCache, DurabilityMode::kGroupCommit, DurabilityMode::kInterval}) {
    SCOPED_TRACE(DurabilityModeName(mode));
    TempDir dir;
    config_.durability = mode;
    config_.flush_interval_ms = 60'000;  // interval mode: only WhenDurable forces the sync
    auto log = Log::Open(dir.Sub("t-0"), Options());
    ASSERT_TRUE(log.ok()) << log.status();
    BatchBuilder builder;
    builder.Add(1, "k", "v1");
    builder.Add(2, "k", "v2");
    std::string batch = builder.Build();
    BatchHeader header;
    ASSERT_TRUE(ValidateBatch(batch, ValidationOptions(), &header).ok());
    auto info = (*log)->AppendValidatedBatch(absl::MakeSpan(batch), header);
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->base_offset, 0);
    EXPECT_EQ(info->last_offset, 1);
    EXPECT_EQ((*log)->end_offset(), 2);  // visible before any sync
    std::promise<absl::Status> durable;
    (*log)->WhenDurable(2, [&](absl::Status s) { durable.set_value(s); });
    EXPECT_TRUE(durable.get_future().get().ok());
    EXPECT_GE((*log)->durable_offset(), 2);
    // Asking out of order (as two threads may) still completes both.
    builder.Add(3, "k", "v3");
    std::string second = builder.Build();
    ASSERT_TRUE(ValidateBatch(second, ValidationOptions(), &header).ok());
    ASSERT_TRUE((*log)->AppendValidatedBatch(absl::MakeSpan(second), header).ok());
    std::promise<void> later, earlier;
    (*log)->WhenDurable(3, [&](absl::Status s) {
      EXPECT_TRUE(s.ok());
      later.set_value();
    });
    (*log)->WhenDurable(2, [&](absl::Status s) {
      EXPECT_TRUE(s.ok());
      earlier.set_value();
    });
    later.get_future().wait();
    earlier.get_future().wait();
    EXPECT_EQ(ReadValues(log->get(), 0), (std::vector<std::string>{"v1", "v2", "v3"}));
  }
}

TEST_F(LogTest, AppendBatchRejectsACorruptBatchNamingTheRule) {
  auto log = OpenLog();
  BatchBuilder builder;
  builder.Add(1, std::nullopt, "payload");
  std::string batch = builder.Build();
  batch[batch.size() - 3] ^= 0x40;
  auto info = log->AppendBatch(absl::MakeSpan(batch));
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("crc"), std::string::npos) << info.status();
  EXPECT_EQ(log->end_offset(), 0);
}

TEST_F(LogTest, OversizedBatchesAreRejected) {
  config_.max_message_bytes = 200;
  config_.segment_bytes = 1000;
  auto log = OpenLog();
  std::string big(300, 'x');
  RecordToAppend records[] = {{.value = big}};
  auto info = log->Append(records);
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(info.status().message().find("max.message.bytes"), std::string::npos);
  EXPECT_EQ(log->end_offset(), 0);
}

TEST_F(LogTest, ReadReturnsWholeBatchesWithinTheBudget) {
  auto log = OpenLog();
  std::vector<int64_t> sizes;  // 10 batches of 5 records
  for (int i = 0; i < 10; ++i) sizes.push_back(AppendN(log.get(), 5).size_bytes);
  auto one = log->Read(0, 1);  // at least one whole batch
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->slices.size(), 1u);
  EXPECT_EQ(one->size_bytes, sizes[0]);
  EXPECT_EQ(one->slices[0].first_offset, 0);
  EXPECT_EQ(one->slices[0].last_offset, 4);
  const int64_t three_batches = sizes[0] + sizes[1] + sizes[2];
  auto three = log->Read(0, three_batches + sizes[3] - 1);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->size_bytes, three_batches);
  // Starting mid-batch returns the batch holding the offset.
  auto mid = log->Read(12, 1);
  ASSERT_TRUE(mid.ok());
  ASSERT_EQ(mid->slices.size(), 1u);
  EXPECT_EQ(mid->slices[0].first_offset, 10);
  EXPECT_EQ(mid->slices[0].position, sizes[0] + sizes[1]);
  // The upper bound hides batches that end at or above it.
  auto bounded = log->Read(0, 1 << 20, /*upper_bound=*/15);
  ASSERT_TRUE(bounded.ok());
  EXPECT_EQ(bounded->size_bytes, three_batches);
  auto straddling = log->Read(0, 1 << 20, /*upper_bound=*/13);
  ASSERT_TRUE(straddling.ok());
  EXPECT_EQ(straddling->size_bytes, sizes[0] + sizes[1]);
  auto at_bound = log->Read(15, 1 << 20, 15);
  ASSERT_TRUE(at_bound.ok());
  EXPECT_TRUE(at_bound->empty());
  auto at_end = log->Read(50, 1 << 20);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->empty());
  EXPECT_EQ(at_end->log_end_offset, 50);
  EXPECT_EQ(log->Read(51, 100).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log->Read(-1, 100).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(LogTest, LargeReadsJumpThroughTheIndexAndStayExact) {
  config_.index_interval_bytes = 256;
  auto log = OpenLog();
  std::vector<int64_t> ends;  // byte position after each batch
  int64_t position = 0;
  for (int i = 0; i < 200; ++i) {
    AppendInfo info = AppendN(log.get(), 1 + i % 7);
    position += info.size_bytes;
    ends.push_back(position);
  }
  for (int64_t budget : {1, 500, 1000, 4097, 10000, 1 << 20}) {
    auto read = log->Read(0, budget);
    ASSERT_TRUE(read.ok());
    // The largest whole-batch prefix within the budget (at least one batch).
    int64_t expected = ends[0];
    for (int64_t e : ends) {
      if (e <= budget) expected = e;
    }
    EXPECT_EQ(read->size_bytes, expected) << budget;
    std::string bytes;
    ASSERT_TRUE(read->AppendTo(&bytes).ok());
    BatchIterator it(bytes);
    BatchView b;
    int64_t next = 0;
    while (it.Next(&b)) {
      EXPECT_EQ(b.header.base_offset, next);
      next = b.header.last_offset() + 1;
    }
    EXPECT_TRUE(it.status().ok());
    EXPECT_EQ(read->slices.back().last_offset, next - 1);
  }
}

TEST_F(LogTest, RollsOnSizeAndReadsAcrossSegments) {
  config_.segment_bytes = 1000;
  auto log = OpenLog();
  for (int i = 0; i < 40; ++i) AppendN(log.get(), 2);
  std::vector<int64_t> bases = log->SegmentBaseOffsets();
  ASSERT_GT(bases.size(), 3u);
  EXPECT_EQ(bases[0], 0);
  for (size_t i = 0; i < bases.size(); ++i) {
    EXPECT_TRUE(PosixFileSystem()
                    ->Exists(dir_.Sub("topic-0/" + SegmentFileStem(bases[i]) + ".log"))
                    .value());
  }
  std::vector<std::string> values = ReadValues(log.get(), 0);
  ASSERT_EQ(values.size(), 80u);
  EXPECT_EQ(values[79], "v79");
  auto all = log->Read(0, 1 << 20);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->slices.size(), bases.size());
  EXPECT_EQ(all->size_bytes, log->SizeBytes());
}

TEST_F(LogTest, RollsOnTime) {
  config_.segment_ms = 1000;
  auto log = OpenLog();
  RecordToAppend first[] = {{.value = "a", .timestamp = 5000}};
  RecordToAppend within[] = {{.value = "b", .timestamp = 5900}};
  RecordToAppend later[] = {{.value = "c", .timestamp = 6001}};
  ASSERT_TRUE(log->Append(first).ok());
  EXPECT_EQ(log->Append(within)->roll, RollReason::kNone);
  EXPECT_EQ(log->Append(later)->roll, RollReason::kTime);
  EXPECT_EQ(log->SegmentBaseOffsets(), (std::vector<int64_t>{0, 2}));
}

TEST_F(LogTest, OffsetForTimestampFindsTheFirstRecordAtOrAfter) {
  config_.segment_bytes = 600;
  config_.index_interval_bytes = 100;
  auto log = OpenLog();
  for (int i = 0; i < 30; ++i) AppendN(log.get(), 3);  // record at offset o has ts 1000 + o
  ASSERT_GT(log->SegmentBaseOffsets().size(), 2u);
  for (int64_t ts : {0, 1000, 1001, 1037, 1050, 1089}) {
    auto found = log->OffsetForTimestamp(ts);
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_TRUE(found->has_value()) << ts;
    const int64_t expected = std::max<int64_t>(ts, 1000) - 1000;
    EXPECT_EQ((*found)->offset, expected) << ts;
    EXPECT_EQ((*found)->timestamp, 1000 + expected);
  }
  auto none = log->OffsetForTimestamp(1090);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(LogTest, TruncateMidBatchAndAppendAgain) {
  auto log = OpenLog();
  for (int i = 0; i < 5; ++i) AppendN(log.get(), 4);  // 0-3, 4-7, ..., 16-19
  ASSERT_TRUE(log->Truncate(10).ok());                // batch 8-11 goes whole
  EXPECT_EQ(log->end_offset(), 8);
  AppendInfo info = AppendN(log.get(), 1);
  EXPECT_EQ(info.base_offset, 8);
  std::vector<std::string> values = ReadValues(log.get(), 0);
  ASSERT_EQ(values.size(), 9u);
  EXPECT_EQ(values[8], "v8");
}

TEST_F(LogTest, TruncateIntoAnEarlierSegmentDeletesLaterOnes) {
  config_.segment_bytes = 500;
  auto log = OpenLog();
  for (int i = 0; i < 30; ++i) AppendN(log.get(), 2);
  std::vector<int64_t> bases = log->SegmentBaseOffsets();
  ASSERT_GT(bases.size(), 3u);
  const int64_t target = bases[1] + 1;  // inside the second segment (its first batch holds 2)
  ASSERT_TRUE(log->Truncate(target).ok());
  EXPECT_EQ(log->SegmentBaseOffsets(), (std::vector<int64_t>{bases[0], bases[1]}));
  EXPECT_EQ(log->end_offset(), bases[1]);
  EXPECT_FALSE(
      PosixFileSystem()->Exists(dir_.Sub("topic-0/" + SegmentFileStem(bases[2]) + ".log")).value());
  // The truncated segment is active again and takes appends; a reopen agrees.
  AppendN(log.get(), 2);
  EXPECT_EQ(log->end_offset(), bases[1] + 2);
  ASSERT_TRUE(log->Close().ok());
  log = OpenLog();
  EXPECT_EQ(log->end_offset(), bases[1] + 2);
  EXPECT_EQ(ReadValues(log.get(), 0).size(), static_cast<size_t>(bases[1] + 2));
}

TEST_F(LogTest, TruncateToZeroEmptiesTheLog) {
  config_.segment_bytes = 500;
  auto log = OpenLog();
  for (int i = 0; i < 20; ++i) AppendN(log.get(), 2);
  ASSERT_TRUE(log->Truncate(0).ok());
  EXPECT_EQ(log->end_offset(), 0);
  EXPECT_EQ(log->SegmentBaseOffsets(), std::vector<int64_t>{0});
  EXPECT_EQ(AppendN(log.get(), 1).base_offset, 0);
}

TEST_F(LogTest, ReopenKeepsEverythingAndIndexesMatch) {
  config_.segment_bytes = 2000;
  config_.index_interval_bytes = 100;
  std::vector<int64_t> bases;
  {
    auto log = OpenLog();
    for (int i = 0; i < 50; ++i) AppendN(log.get(), 3);
    bases = log->SegmentBaseOffsets();
    ASSERT_TRUE(log->Close().ok());
  }
  auto log = OpenLog();
  EXPECT_EQ(log->SegmentBaseOffsets(), bases);
  EXPECT_EQ(log->end_offset(), 150);
  std::vector<std::string> values = ReadValues(log.get(), 0);
  ASSERT_EQ(values.size(), 150u);
  EXPECT_EQ(values[149], "v149");
  EXPECT_EQ(AppendN(log.get(), 1).base_offset, 150);
}

TEST_F(LogTest, ReopenAfterATornWriteDropsOnlyTheTornBatch) {
  {
    auto log = OpenLog();
    for (int i = 0; i < 5; ++i) AppendN(log.get(), 2);
    // No Close: like a crash. Then half a batch lands at the end of the file.
    auto f =
        PosixFileSystem()->Open(dir_.Sub("topic-0/00000000000000000000.log"), OpenMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    int64_t size = *(*f)->Size();
    ASSERT_TRUE((*f)->Write(size, std::string("\0\0\0\0\0\0\0\0\0\0\0\x50\0", 13)).ok());
  }
  auto log = OpenLog();
  EXPECT_EQ(log->end_offset(), 10);
  EXPECT_EQ(ReadValues(log.get(), 0).size(), 10u);
}

TEST_F(LogTest, CorruptionInASealedSegmentFailsTheOpen) {
  config_.segment_bytes = 500;
  std::string first_log;
  {
    auto log = OpenLog();
    for (int i = 0; i < 20; ++i) AppendN(log.get(), 2);
    ASSERT_GT(log->SegmentBaseOffsets().size(), 2u);
    ASSERT_TRUE(log->Close().ok());
  }
  first_log = dir_.Sub("topic-0/00000000000000000000.log");
  {
    auto f = PosixFileSystem()->Open(first_log, OpenMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write(100, "\xff").ok());
  }
  // The index still looks fine, so open succeeds without scanning; the damage shows on read.
  auto log = Log::Open(dir_.Sub("topic-0"), Options());
  ASSERT_TRUE(log.ok()) << log.status();
  LogReader reader = (*log)->NewReader(0);
  RecordView r;
  while (reader.NextRecord(&r)) {
  }
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss) << reader.status();
  (*log)->Close().IgnoreError();
  log->reset();
  // Without its index the segment is rebuilt, the corruption found, and the open refused.
  ASSERT_TRUE(PosixFileSystem()->Remove(dir_.Sub("topic-0/00000000000000000000.index")).ok());
  auto refused = Log::Open(dir_.Sub("topic-0"), Options());
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find(first_log), std::string::npos) << refused.status();
}

TEST_F(LogTest, ClosedLogRefusesWork) {
  auto log = OpenLog();
  AppendN(log.get(), 1);
  ASSERT_TRUE(log->Close().ok());
  ASSERT_TRUE(log->Close().ok());
  RecordToAppend records[] = {{.value = "x"}};
  EXPECT_EQ(log->Append(records).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log->Read(0, 10).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log->Truncate(0).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(LogTest, SlicesOutliveTruncationOfTheirSegment) {
  config_.segment_bytes = 500;
  auto log = OpenLog();
  for (int i = 0; i < 20; ++i) AppendN(log.get(), 2);
  std::vector<int64_t> bases = log->SegmentBaseOffsets();
  auto read = log->Read(bases.back(), 1 << 20);
  ASSERT_TRUE(read.ok());
  ASSERT_FALSE(read->empty());
  ASSERT_TRUE(log->Truncate(bases[1]).ok());  // deletes the segment the slice points into
  std::string bytes;
  ASSERT_TRUE(read->AppendTo(&bytes).ok());  // its file is still open
  EXPECT_EQ(DecodeBatchHeader(bytes.data()).base_offset, bases.back());
}

}  // namespace
}  // namespace varve
