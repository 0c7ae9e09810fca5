#include "broker/producer_state.h"

#include <filesystem>

#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"

namespace varve::broker {
namespace {

BatchHeader Batch(int64_t pid, int16_t epoch, int32_t seq, int records, int64_t base_offset = 0) {
  BatchHeader h{};
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.last_offset_delta = records - 1;
  h.records_count = records;
  h.base_offset = base_offset;
  return h;
}

using Kind = ProducerStateTable::Verdict::Kind;

TEST(ProducerStateTest, NonIdempotentBatchesAreNeverChecked) {
  ProducerStateTable t;
  EXPECT_EQ(t.Check(Batch(-1, 0, 0, 3)).kind, Kind::kAppend);
  t.Record(Batch(-1, 0, 0, 3));
  EXPECT_EQ(t.producer_count(), 0u);
}

TEST(ProducerStateTest, RetriesOfAnyOfTheLastFiveBatchesAreDuplicatesWithOriginalOffsets) {
  ProducerStateTable t;
  for (int i = 0; i < 7; ++i) {
    BatchHeader b = Batch(7, 0, i * 2, 2, 100 + i * 2);
    ASSERT_EQ(t.Check(b).kind, Kind::kAppend) << i;
    t.Record(b);
  }
  for (int i = 2; i < 7; ++i) {
    auto v = t.Check(Batch(7, 0, i * 2, 2));
    EXPECT_EQ(v.kind, Kind::kDuplicate) << i;
    EXPECT_EQ(v.base_offset, 100 + i * 2);
    EXPECT_EQ(v.last_offset, 101 + i * 2);
  }
  // Batch 1 is older than the five retained: a gap, not a duplicate.
  EXPECT_EQ(t.Check(Batch(7, 0, 2, 2)).kind, Kind::kOutOfOrder);
}

TEST(ProducerStateTest, SequenceGapIsOutOfOrder) {
  ProducerStateTable t;
  t.Record(Batch(1, 0, 0, 5, 0));
  EXPECT_EQ(t.Check(Batch(1, 0, 5, 1)).kind, Kind::kAppend);
  auto v = t.Check(Batch(1, 0, 6, 1));
  EXPECT_EQ(v.kind, Kind::kOutOfOrder);
  EXPECT_NE(v.detail.find("expected 5"), std::string::npos);
}

TEST(ProducerStateTest, EpochRules) {
  ProducerStateTable t;
  t.Record(Batch(1, 3, 0, 1, 0));
  EXPECT_EQ(t.Check(Batch(1, 2, 1, 1)).kind, Kind::kInvalidEpoch);
  EXPECT_EQ(t.Check(Batch(1, 4, 5, 1)).kind, Kind::kOutOfOrder);
  EXPECT_EQ(t.Check(Batch(1, 4, 0, 1)).kind, Kind::kAppend);
  t.Record(Batch(1, 4, 0, 1, 1));
  EXPECT_EQ(t.Check(Batch(1, 4, 1, 1)).kind, Kind::kAppend);
}

TEST(ProducerStateTest, UnknownProducersMayStartAnywhere) {
  ProducerStateTable t;
  EXPECT_EQ(t.Check(Batch(9, 0, 1234, 1)).kind, Kind::kAppend);
}

BatchHeader At(int64_t pid, int32_t seq, int64_t base_offset, int64_t max_timestamp) {
  BatchHeader h = Batch(pid, 0, seq, 2, base_offset);
  h.max_timestamp = max_timestamp;
  return h;
}

TEST(ProducerStateTest, ExpiredProducersAreForgottenByTheirLastBatchsTimestamp) {
  ProducerStateTable t;
  t.Record(At(1, 0, 0, /*max_timestamp=*/1000));
  t.Record(At(1, 2, 2, 5000));  // producer 1's last batch: 5000
  t.Record(At(2, 0, 4, 2000));
  EXPECT_EQ(t.RemoveExpired(/*now_ms=*/5999, /*expiration_ms=*/4000), 0);  // 2 is 3999 ms old
  EXPECT_EQ(t.producer_count(), 2u);
  EXPECT_EQ(t.RemoveExpired(6000, 4000), 1);  // 2: 4000 old
  EXPECT_EQ(t.producer_count(), 1u);
  EXPECT_EQ(t.Check(At(2, 7, 9, 6000)).kind, Kind::kAppend);      // unknown again: any sequence
  EXPECT_EQ(t.Check(At(1, 7, 9, 6000)).kind, Kind::kOutOfOrder);  // 1 is still known
  EXPECT_EQ(t.RemoveExpired(9000, 4000), 1);
  EXPECT_EQ(t.producer_count(), 0u);
}

TEST(ProducerStateTest, ProducersWhoseLastBatchIsBelowTheLogStartAreForgotten) {
  ProducerStateTable t;
  t.Record(At(1, 0, 0, 1000));     // offsets 0-1
  t.Record(At(2, 0, 2, 1000));     // 2-3
  t.Record(At(1, 2, 4, 1000));     // 4-5: producer 1's last batch
  EXPECT_EQ(t.RemoveBelow(4), 1);  // producer 2 (last offset 3)
  EXPECT_EQ(t.producer_count(), 1u);
  EXPECT_EQ(t.RemoveBelow(5), 0);  // producer 1's last batch still has offset 5
  EXPECT_EQ(t.RemoveBelow(6), 1);
  EXPECT_EQ(t.producer_count(), 0u);
}

TEST(ProducerStateTest, SequenceWrapsAtInt32Max) {
  ProducerStateTable t;
  t.Record(Batch(1, 0, std::numeric_limits<int32_t>::max() - 1, 2, 0));
  EXPECT_EQ(t.Check(Batch(1, 0, 0, 1)).kind, Kind::kAppend);
  EXPECT_EQ(t.Check(Batch(1, 0, 1, 1)).kind, Kind::kOutOfOrder);
}

TEST(ProducerStateTest, SnapshotRoundTripKeepsTheLastBatchOfEachProducer) {
  ProducerStateTable t;
  t.Record(Batch(1, 0, 0, 3, 10));
  t.Record(Batch(1, 0, 3, 2, 20));
  t.Record(Batch(2, 5, 0, 1, 30));
  std::string snap = t.EncodeSnapshot();
  EXPECT_EQ(snap.size(), 10u + 2 * 46);
  ProducerStateTable u;
  ASSERT_TRUE(u.LoadSnapshot(snap, "x.snapshot").ok());
  EXPECT_EQ(u.producer_count(), 2u);
  auto dup = u.Check(Batch(1, 0, 3, 2));
  EXPECT_EQ(dup.kind, Kind::kDuplicate);
  EXPECT_EQ(dup.base_offset, 20);
  EXPECT_EQ(dup.last_offset, 21);
  EXPECT_EQ(u.Check(Batch(1, 0, 5, 1)).kind, Kind::kAppend);
  EXPECT_EQ(u.Check(Batch(2, 4, 1, 1)).kind, Kind::kInvalidEpoch);
}

TEST(ProducerStateTest, CorruptSnapshotsAreDataLossNamingTheFile) {
  ProducerStateTable t;
  t.Record(Batch(1, 0, 0, 3, 10));
  std::string snap = t.EncodeSnapshot();
  for (size_t i = 0; i < snap.size(); ++i) {
    std::string bad = snap;
    bad[i] ^= 0x40;
    ProducerStateTable u;
    absl::Status s = u.LoadSnapshot(bad, "p/1.snapshot");
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << i;
    EXPECT_NE(s.message().find("p/1.snapshot"), absl::string_view::npos);
  }
  ProducerStateTable u;
  EXPECT_FALSE(u.LoadSnapshot(snap.substr(0, 20), "f").ok());
}

// Appends an idempotent batch to `log` and records it.
void AppendIdempotent(Log* log, ProducerStateTable* t, int64_t pid, int32_t seq, int records) {
  BatchBuilder::Options o;
  o.producer_id = pid;
  o.producer_epoch = 0;
  o.base_sequence = seq;
  BatchBuilder b(o);
  for (int i = 0; i < records; ++i) b.Add(1000 + i, std::nullopt, "v");
  std::string bytes = b.Build();
  auto info = log->AppendBatch(absl::MakeSpan(bytes));
  ASSERT_TRUE(info.ok()) << info.status();
  BatchHeader h = DecodeBatchHeader(bytes.data());
  t->Record(h);
}

TEST(ProducerStateTest, RecoverUsesTheNewestSnapshotThenReplaysTheLog) {
  TempDir dir;
  LogOptions options;
  auto log = Log::Open(dir.Sub("t-0"), options);
  ASSERT_TRUE(log.ok());
  ProducerStateTable live;
  AppendIdempotent(log->get(), &live, 1, 0, 2);
  AppendIdempotent(log->get(), &live, 2, 0, 1);
  ASSERT_TRUE(WriteProducerSnapshot((*log)->dir(), (*log)->end_offset(), live).ok());
  AppendIdempotent(log->get(), &live, 1, 2, 3);  // after the snapshot: found by replay
  std::string notes;
  auto recovered = RecoverProducerState(**log, &notes);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  auto dup = recovered->Check(Batch(1, 0, 2, 3));
  EXPECT_EQ(dup.kind, Kind::kDuplicate);
  EXPECT_EQ(dup.base_offset, 3);
  EXPECT_EQ(recovered->Check(Batch(2, 0, 0, 1)).kind, Kind::kDuplicate);
  EXPECT_EQ(recovered->Check(Batch(1, 0, 5, 1)).kind, Kind::kAppend);
  EXPECT_TRUE(notes.empty()) << notes;

  // A corrupt newest snapshot falls back to a full replay, and says so.
  ASSERT_TRUE(WriteProducerSnapshot((*log)->dir(), (*log)->end_offset(), live).ok());
  {
    std::FILE* f = std::fopen(ProducerSnapshotPath((*log)->dir(), 6).c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 12, SEEK_SET);
    std::fputc(0x7f, f);
    std::fclose(f);
  }
  notes.clear();
  recovered = RecoverProducerState(**log, &notes);
  ASSERT_TRUE(recovered.ok());
  EXPECT_NE(notes.find("crc mismatch"), std::string::npos) << notes;
  EXPECT_EQ(recovered->Check(Batch(1, 0, 2, 3)).kind, Kind::kDuplicate);
}

TEST(ProducerStateTest, SnapshotsAboveTheLogEndAreDeletedAndOldOnesPruned) {
  TempDir dir;
  auto log = Log::Open(dir.Sub("t-0"), LogOptions());
  ASSERT_TRUE(log.ok());
  ProducerStateTable t;
  for (int64_t off : {0, 1, 2}) ASSERT_TRUE(WriteProducerSnapshot((*log)->dir(), off, t).ok());
  EXPECT_FALSE(std::filesystem::exists(ProducerSnapshotPath((*log)->dir(), 0)));
  EXPECT_TRUE(std::filesystem::exists(ProducerSnapshotPath((*log)->dir(), 1)));
  std::string notes;
  ASSERT_TRUE(RecoverProducerState(**log, &notes).ok());  // log end is 0
  EXPECT_FALSE(std::filesystem::exists(ProducerSnapshotPath((*log)->dir(), 2)));
}

}  // namespace
}  // namespace varve::broker
