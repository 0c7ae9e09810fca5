#include "log/segment.h"

#include <limits>
#include <string>

#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"

namespace varve {
namespace {

// One single-record batch with `timestamp`, offsets assigned as `base_offset`.
std::string Batch(int64_t base_offset, int64_t timestamp, absl::string_view value = "hi") {
  BatchBuilder::Options options;
  options.base_offset = base_offset;
  BatchBuilder builder(options);
  builder.Add(timestamp, std::nullopt, value);
  return builder.Build();
}

// Appends single-record batches for offsets [from, to) with timestamps 1000 + offset.
void AppendBatches(Segment* seg, int from, int to) {
  for (int i = from; i < to; ++i) {
    std::string b = Batch(i, 1000 + i);
    ASSERT_TRUE(seg->Append(b, DecodeBatchHeader(b.data())).ok());
  }
}

std::string ReadFile(const std::string& path) {
  auto f = PosixFileSystem()->Open(path, OpenMode::kReadOnly);
  EXPECT_TRUE(f.ok()) << f.status();
  std::string out(*(*f)->Size(), '\0');
  EXPECT_TRUE((*f)->ReadExact(0, absl::MakeSpan(out)).ok());
  return out;
}

std::string Hex(absl::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

TEST(SegmentNamesTest, TwentyDigitStems) {
  EXPECT_EQ(SegmentFileStem(0), "00000000000000000000");
  EXPECT_EQ(SegmentFileStem(42), "00000000000000000042");
  EXPECT_EQ(SegmentFileStem(std::numeric_limits<int64_t>::max()), "09223372036854775807");
  EXPECT_EQ(ParseSegmentLogFileName("00000000000000000042.log"), 42);
  EXPECT_EQ(ParseSegmentLogFileName("00000000000000000042.index"), std::nullopt);
  EXPECT_EQ(ParseSegmentLogFileName("0000000000000000042.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentLogFileName("0000000000000000004x.log"), std::nullopt);
  EXPECT_EQ(ParseSegmentLogFileName("99999999999999999999.log"), std::nullopt);  // > int64
}

// The index files of a segment must be what Kafka writes for the same appends (reference
// §2.3, §2.4). With 70-byte batches and index.interval.bytes = 100, Kafka indexes every second
// batch starting with the third: the counter is checked before adding the batch's size.
TEST(SegmentTest, IndexFilesMatchKafkaByteForByte) {
  TempDir dir;
  LogConfig config;
  config.index_interval_bytes = 100;
  auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, config, 0);
  ASSERT_TRUE(seg.ok()) << seg.status();
  for (int i = 0; i < 10; ++i) {
    std::string b = Batch(i, 1000 + i);
    ASSERT_EQ(b.size(), 70u);
    ASSERT_EQ((*seg)->ShouldRoll(DecodeBatchHeader(b.data()), 0), RollReason::kNone);
    ASSERT_TRUE((*seg)->Append(b, DecodeBatchHeader(b.data())).ok());
  }
  ASSERT_TRUE((*seg)->Close().ok());
  // (relative offset, position) big-endian: (2,140) (4,280) (6,420) (8,560).
  EXPECT_EQ(Hex(ReadFile(dir.Sub("00000000000000000000.index"))),
            "000000020000008c"
            "0000000400000118"
            "00000006000001a4"
            "0000000800000230");
  // (timestamp, relative offset): one per offset entry, plus the final entry at close.
  EXPECT_EQ(Hex(ReadFile(dir.Sub("00000000000000000000.timeindex"))),
            "00000000000003ea00000002"
            "00000000000003ec00000004"
            "00000000000003ee00000006"
            "00000000000003f000000008"
            "00000000000003f100000009");
  EXPECT_EQ(ReadFile(dir.Sub("00000000000000000000.log")).size(), 700u);
}

TEST(SegmentTest, TimeIndexSkipsTimestampsThatDoNotIncrease) {
  TempDir dir;
  LogConfig config;
  config.index_interval_bytes = 0;  // an entry for every batch after the first
  auto seg = Segment::Create(PosixFileSystem(), dir.path(), 100, config, 0);
  ASSERT_TRUE(seg.ok());
  const int64_t timestamps[] = {50, 40, 60, 60, 55, 70};
  for (int i = 0; i < 6; ++i) {
    std::string b = Batch(100 + i, timestamps[i]);
    ASSERT_TRUE((*seg)->Append(b, DecodeBatchHeader(b.data())).ok());
  }
  auto files = (*seg)->PinFiles();
  ASSERT_TRUE(files.ok()) << files.status();
  const TimeIndex& ti = *(*files)->time_index;
  ASSERT_EQ(ti.entries(), 3);
  EXPECT_EQ(ti.EntryAt(0), (TimestampOffset{50, 100}));  // max so far is batch 0's
  EXPECT_EQ(ti.EntryAt(1), (TimestampOffset{60, 102}));
  EXPECT_EQ(ti.EntryAt(2), (TimestampOffset{70, 105}));
  EXPECT_EQ((*files)->offset_index->entries(), 5);
  EXPECT_EQ((*seg)->max_timestamp(), (TimestampOffset{70, 105}));
}

TEST(SegmentTest, RollReasons) {
  TempDir dir;
  LogConfig config;
  config.segment_bytes = 200;
  config.segment_ms = 1000;
  auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, config, /*now_ms=*/5000);
  ASSERT_TRUE(seg.ok());
  std::string first = Batch(0, 10'000);
  BatchHeader h = DecodeBatchHeader(first.data());
  // An empty segment never rolls for time.
  EXPECT_EQ((*seg)->ShouldRoll(h, 1'000'000), RollReason::kNone);
  ASSERT_TRUE((*seg)->Append(first, h).ok());
  std::string second = Batch(1, 10'500);
  EXPECT_EQ((*seg)->ShouldRoll(DecodeBatchHeader(second.data()), 0), RollReason::kNone);
  // Time is measured from the first batch's max timestamp, with record timestamps.
  std::string late = Batch(1, 11'001);
  EXPECT_EQ((*seg)->ShouldRoll(DecodeBatchHeader(late.data()), 0), RollReason::kTime);
  ASSERT_TRUE((*seg)->Append(second, DecodeBatchHeader(second.data())).ok());
  // 140 bytes used; a third 70-byte batch still fits in 200? 140 > 200 - 70 → roll.
  std::string third = Batch(2, 10'600);
  EXPECT_EQ((*seg)->ShouldRoll(DecodeBatchHeader(third.data()), 0), RollReason::kSize);
  // A batch whose last offset is 2^31 past the base cannot be indexed here.
  BatchHeader far = DecodeBatchHeader(third.data());
  far.base_offset = std::numeric_limits<int32_t>::max() + int64_t{1};
  LogConfig big;
  auto seg2 = Segment::Create(PosixFileSystem(), dir.Sub(""), 1000, big, 0);
  ASSERT_TRUE(seg2.ok());
  far.base_offset = 1000 + int64_t{std::numeric_limits<int32_t>::max()};
  EXPECT_EQ((*seg2)->ShouldRoll(far, 0), RollReason::kNone);
  far.base_offset += 1;
  EXPECT_EQ((*seg2)->ShouldRoll(far, 0), RollReason::kOffsetOverflow);
}

TEST(SegmentTest, RollsWhenAnIndexIsFull) {
  TempDir dir;
  LogConfig config;
  config.index_interval_bytes = 0;
  config.segment_index_bytes = 24;  // offset index: 3 entries; time index: 2 (one kept free)
  auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, config, 0);
  ASSERT_TRUE(seg.ok());
  int appended = 0;
  while (true) {
    std::string b = Batch(appended, 1000 + appended);
    RollReason r = (*seg)->ShouldRoll(DecodeBatchHeader(b.data()), 0);
    if (r != RollReason::kNone) {
      EXPECT_EQ(r, RollReason::kIndexFull);
      break;
    }
    ASSERT_TRUE((*seg)->Append(b, DecodeBatchHeader(b.data())).ok());
    ++appended;
  }
  EXPECT_EQ(appended, 2);  // batch 0 (no entry), batch 1 (entry) → time index holds 1 of 2
  EXPECT_TRUE((*seg)->Seal().ok());
  auto files = (*seg)->PinFiles();
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ((*files)->time_index->entries(), 1);  // final entry equals the last one: skipped
}

TEST(SegmentTest, FindBatchScansFromTheIndexedPosition) {
  TempDir dir;
  LogConfig config;
  config.index_interval_bytes = 100;
  auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, config, 0);
  ASSERT_TRUE(seg.ok());
  AppendBatches(seg->get(), 0, 10);
  for (int i = 0; i < 10; ++i) {
    auto loc = (*seg)->FindBatch(i, (*seg)->size());
    ASSERT_TRUE(loc.ok() && loc->has_value()) << i;
    EXPECT_EQ((*loc)->position, 70 * i);
    EXPECT_EQ((*loc)->header.base_offset, i);
  }
  auto past = (*seg)->FindBatch(10, (*seg)->size());
  ASSERT_TRUE(past.ok());
  EXPECT_FALSE(past->has_value());
  // A limit below the data hides the batches past it.
  auto hidden = (*seg)->FindBatch(5, 5 * 70);
  ASSERT_TRUE(hidden.ok());
  EXPECT_FALSE(hidden->has_value());
}

TEST(SegmentTest, RecoverTruncatesATornTail) {
  TempDir dir;
  LogConfig config;
  auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, config, 0);
  ASSERT_TRUE(seg.ok());
  AppendBatches(seg->get(), 0, 3);
  // Half of a fourth batch reached the file.
  std::string torn = Batch(3, 1003).substr(0, 40);
  ASSERT_TRUE((*seg)->log_file()->Write(210, torn).ok());
  auto truncated = (*seg)->Recover();
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_EQ(*truncated, 40);
  EXPECT_EQ((*seg)->size(), 210);
  EXPECT_EQ((*seg)->next_offset(), 3);
  EXPECT_EQ(*(*seg)->log_file()->Size(), 210);
}

TEST(SegmentTest, RecoverTreatsZerosAsAnIncompleteTail) {
  TempDir dir;
  auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, LogConfig(), 0);
  ASSERT_TRUE(seg.ok());
  std::string b = Batch(0, 1);
  ASSERT_TRUE((*seg)->Append(b, DecodeBatchHeader(b.data())).ok());
  ASSERT_TRUE((*seg)->log_file()->Truncate(70 + 4096).ok());  // preallocated-looking tail
  auto truncated = (*seg)->Recover();
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(*truncated, 4096);
  EXPECT_EQ((*seg)->next_offset(), 1);
}

TEST(SegmentTest, RecoverStopsAtACrcMismatch) {
  TempDir dir;
  auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, LogConfig(), 0);
  ASSERT_TRUE(seg.ok());
  AppendBatches(seg->get(), 0, 3);
  ASSERT_TRUE((*seg)->log_file()->Write(70 + 65, "X").ok());  // inside batch 1's records
  auto truncated = (*seg)->Recover();
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(*truncated, 140);
  EXPECT_EQ((*seg)->next_offset(), 1);
}

TEST(SegmentTest, TruncateToMidBatchRemovesTheWholeBatch) {
  TempDir dir;
  LogConfig config;
  config.index_interval_bytes = 0;
  auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, config, 0);
  ASSERT_TRUE(seg.ok());
  int64_t offset = 0;
  for (int i = 0; i < 5; ++i) {  // batches of 3 records: offsets 0-2, 3-5, ..., 12-14
    BatchBuilder::Options o;
    o.base_offset = offset;
    BatchBuilder builder(o);
    for (int r = 0; r < 3; ++r) builder.Add(100 * i + r, std::nullopt, "v");
    std::string b = builder.Build();
    ASSERT_TRUE((*seg)->Append(b, DecodeBatchHeader(b.data())).ok());
    offset += 3;
  }
  const int64_t batch_size = (*seg)->size() / 5;
  auto removed = (*seg)->TruncateTo(7);  // inside batch 6-8
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 3 * batch_size);
  EXPECT_EQ((*seg)->size(), 2 * batch_size);
  EXPECT_EQ((*seg)->next_offset(), 6);
  auto files = (*seg)->PinFiles();
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ((*files)->offset_index->entries(), 1);  // (5, batch 1)
  EXPECT_EQ((*seg)->max_timestamp(), (TimestampOffset{102, 5}));
}

TEST(SegmentTest, SealedSegmentReopensWithoutScanningAndRebuildsAMissingIndex) {
  TempDir dir;
  LogConfig config;
  config.index_interval_bytes = 100;
  {
    auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, config, 0);
    ASSERT_TRUE(seg.ok());
    AppendBatches(seg->get(), 0, 10);
    ASSERT_TRUE((*seg)->Seal().ok());
  }
  const std::string index_bytes = ReadFile(dir.Sub("00000000000000000000.index"));
  const std::string time_bytes = ReadFile(dir.Sub("00000000000000000000.timeindex"));
  {
    auto seg = Segment::OpenSealed(PosixFileSystem(), dir.path(), 0, 10, config, 0);
    ASSERT_TRUE(seg.ok()) << seg.status();
    EXPECT_EQ((*seg)->next_offset(), 10);
    EXPECT_EQ((*seg)->max_timestamp(), (TimestampOffset{1009, 9}));
  }
  ASSERT_TRUE(PosixFileSystem()->Remove(dir.Sub("00000000000000000000.index")).ok());
  {
    auto seg = Segment::OpenSealed(PosixFileSystem(), dir.path(), 0, 10, config, 0);
    ASSERT_TRUE(seg.ok()) << seg.status();
    EXPECT_TRUE((*seg)->sealed());
  }
  EXPECT_EQ(ReadFile(dir.Sub("00000000000000000000.index")), index_bytes);
  EXPECT_EQ(ReadFile(dir.Sub("00000000000000000000.timeindex")), time_bytes);
}

TEST(SegmentTest, CorruptSealedSegmentWithBadIndexIsDataLossNamingFileAndByte) {
  TempDir dir;
  {
    auto seg = Segment::Create(PosixFileSystem(), dir.path(), 0, LogConfig(), 0);
    ASSERT_TRUE(seg.ok());
    AppendBatches(seg->get(), 0, 3);
    ASSERT_TRUE((*seg)->Seal().ok());
  }
  {
    // Sealed: its files are read-only now, so corrupt the batch through a descriptor of our own.
    auto log = PosixFileSystem()->Open(dir.Sub("00000000000000000000.log"), OpenMode::kReadWrite);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE((*log)->Write(70 + 65, "X").ok());
  }
  ASSERT_TRUE(PosixFileSystem()->Remove(dir.Sub("00000000000000000000.timeindex")).ok());
  auto seg = Segment::OpenSealed(PosixFileSystem(), dir.path(), 0, 3, LogConfig(), 0);
  ASSERT_EQ(seg.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(seg.status().message().find("00000000000000000000.log"), std::string::npos);
  EXPECT_NE(seg.status().message().find("byte 70"), std::string::npos) << seg.status();
  // Nothing was cut from the file: the caller decides.
  EXPECT_EQ(ReadFile(dir.Sub("00000000000000000000.log")).size(), 210u);
}

}  // namespace
}  // namespace varve
