#include "index/time_index.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <string>
#include <thread>

#include "base/file.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "index/index_test_util.h"

namespace varve {
namespace {

using index_test::Be32;
using index_test::Be64;
using index_test::ReadFileBytes;
using index_test::WriteFileBytes;

constexpr int64_t kBase = 100;
constexpr int64_t kNone = TimeIndex::kNoTimestamp;

class TimeIndexTest : public ::testing::Test {
 protected:
  std::unique_ptr<TimeIndex> Open(bool writable, int64_t max_bytes = kDefaultMaxIndexBytes) {
    auto index = TimeIndex::Open(PosixFileSystem(), path_, kBase, max_bytes, writable);
    EXPECT_TRUE(index.ok()) << index.status();
    return index.ok() ? std::move(index).value() : nullptr;
  }

  int64_t FileSize() { return static_cast<int64_t>(ReadFileBytes(path_).size()); }

  // An index holding (1000, 110), (2000, 110), (3000, 130): the second batch at offset 110
  // raised the maximum timestamp without a new offset.
  std::unique_ptr<TimeIndex> OpenWithThreeEntries() {
    std::unique_ptr<TimeIndex> index = Open(/*writable=*/true);
    EXPECT_TRUE(index->MaybeAppend(1000, kBase + 10).ok());
    EXPECT_TRUE(index->MaybeAppend(2000, kBase + 10).ok());
    EXPECT_TRUE(index->MaybeAppend(3000, kBase + 30).ok());
    EXPECT_EQ(index->entries(), 3);
    return index;
  }

  TempDir dir_;
  const std::string path_ = dir_.Sub("00000000000000000100.timeindex");
};

// ---- file layout and sizing ------------------------------------------------------------------

TEST_F(TimeIndexTest, FileBytesAreKafkaLayoutAfterSealAndClose) {
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true);
  ASSERT_TRUE(index->MaybeAppend(0x0102030405060708, kBase + 0x0A0B).ok());
  ASSERT_TRUE(index->MaybeAppend(INT64_MAX, kBase + INT32_MAX).ok());
  // Written out byte by byte, not with our own encoder: this is the compatibility proof.
  const std::string expected(
      "\x01\x02\x03\x04\x05\x06\x07\x08"
      "\x00\x00\x0A\x0B"  // timestamp, relative offset
      "\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF"
      "\x7F\xFF\xFF\xFF",  // INT64_MAX, INT32_MAX
      24);
  ASSERT_TRUE(index->Seal().ok());
  EXPECT_EQ(ReadFileBytes(path_), expected);
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(ReadFileBytes(path_), expected);
}

TEST_F(TimeIndexTest, DefaultSizePreallocates873813Entries) {
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true);
  EXPECT_EQ(index->max_entries(), 873813);
  EXPECT_EQ(FileSize(), 873813 * 12);
  EXPECT_EQ(index->LastEntry(), (TimestampOffset{kNone, kBase}));
}

TEST_F(TimeIndexTest, MaxSizeNotAMultipleOfTwelveRoundsDown) {
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true, 12 * 5 + 11);
  EXPECT_EQ(index->max_entries(), 5);
  EXPECT_EQ(FileSize(), 60);
}

TEST_F(TimeIndexTest, SealAndCloseTrimToEntries) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  ASSERT_TRUE(index->Seal().ok());
  EXPECT_EQ(FileSize(), 36);
  EXPECT_EQ(index->MaybeAppend(4000, kBase + 40, true).code(),
            absl::StatusCode::kFailedPrecondition);
  index->TruncateTo(kBase + 30);
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(FileSize(), 24);
}

TEST_F(TimeIndexTest, ReopenOfTrimmedIndexRestoresEntries) {
  ASSERT_TRUE(OpenWithThreeEntries()->Close().ok());
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/false);
  EXPECT_EQ(index->entries(), 3);
  EXPECT_EQ(index->EntryAt(1), (TimestampOffset{2000, kBase + 10}));
  EXPECT_EQ(index->LastEntry(), (TimestampOffset{3000, kBase + 30}));
  EXPECT_TRUE(index->SanityCheck().ok());
}

TEST_F(TimeIndexTest, ReopenWritableRegrowsAndAppends) {
  ASSERT_TRUE(OpenWithThreeEntries()->Close().ok());
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true, 12 * 10);
  EXPECT_EQ(index->entries(), 3);
  EXPECT_EQ(index->max_entries(), 10);
  EXPECT_EQ(FileSize(), 120);
  ASSERT_TRUE(index->MaybeAppend(4000, kBase + 40).ok());
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(ReadFileBytes(path_).substr(36), Be64(4000) + Be32(40));
}

// ---- lookups -----------------------------------------------------------------------------------

TEST_F(TimeIndexTest, LookupInEmptyIndexFindsNothing) {
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true);
  EXPECT_EQ(index->Lookup(5000), (TimestampOffset{kNone, kBase}));
}

TEST_F(TimeIndexTest, LookupOfSmallerTimestampThanFirstFindsNothing) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  EXPECT_EQ(index->Lookup(999), (TimestampOffset{kNone, kBase}));
  EXPECT_EQ(index->Lookup(INT64_MIN), (TimestampOffset{kNone, kBase}));
}

TEST_F(TimeIndexTest, LookupOfEqualTimestampReturnsThatEntry) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  EXPECT_EQ(index->Lookup(1000), (TimestampOffset{1000, kBase + 10}));
  EXPECT_EQ(index->Lookup(2000), (TimestampOffset{2000, kBase + 10}));
  EXPECT_EQ(index->Lookup(3000), (TimestampOffset{3000, kBase + 30}));
}

TEST_F(TimeIndexTest, LookupOfGreaterTimestampReturnsTheEntryBelow) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  EXPECT_EQ(index->Lookup(1999), (TimestampOffset{1000, kBase + 10}));
  EXPECT_EQ(index->Lookup(2500), (TimestampOffset{2000, kBase + 10}));
  EXPECT_EQ(index->Lookup(INT64_MAX), (TimestampOffset{3000, kBase + 30}));
}

// 2,000 entries (10k, base + k): the warm section holds the last 682 of them.
TEST_F(TimeIndexTest, LookupAndTruncateAcrossTheWarmSection) {
  constexpr int kEntries = 2000;
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true, 12 * (kEntries + 1));
  for (int64_t k = 0; k < kEntries; ++k) ASSERT_TRUE(index->MaybeAppend(10 * k, kBase + k).ok());
  for (int64_t target = -1; target < 10 * kEntries + 10; ++target) {
    const int64_t k = std::min<int64_t>(target / 10, kEntries - 1);
    const TimestampOffset expected =
        target < 0 ? TimestampOffset{kNone, kBase} : TimestampOffset{10 * k, kBase + k};
    ASSERT_EQ(index->Lookup(target), expected) << "target=" << target;
  }
  for (int keep : {kEntries, kEntries - 1, 1319, 1318, 1317, 500, 1, 0}) {
    index->TruncateTo(kBase + keep);
    ASSERT_EQ(index->entries(), keep);
  }
}

// ---- append rules ------------------------------------------------------------------------------

TEST_F(TimeIndexTest, MaybeAppendIgnoresNonIncreasingTimestamps) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  EXPECT_TRUE(index->MaybeAppend(3000, kBase + 40).ok());
  EXPECT_TRUE(index->MaybeAppend(2999, kBase + 40).ok());
  EXPECT_EQ(index->entries(), 3);
  EXPECT_EQ(index->LastEntry(), (TimestampOffset{3000, kBase + 30}));
}

TEST_F(TimeIndexTest, MaybeAppendIgnoresNoTimestampOnEmptyIndex) {
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true);
  EXPECT_TRUE(index->MaybeAppend(kNone, kBase).ok());  // v0 batches carry no timestamp
  EXPECT_EQ(index->entries(), 0);
}

TEST_F(TimeIndexTest, MaybeAppendRejectsOffsetGoingBackwards) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  absl::Status backwards = index->MaybeAppend(4000, kBase + 29);
  EXPECT_EQ(backwards.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(backwards.message().find(path_), std::string::npos);
  EXPECT_EQ(index->entries(), 3);
}

TEST_F(TimeIndexTest, MaybeAppendRejectsOffsetBelowBaseOnEmptyIndex) {
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true);
  EXPECT_EQ(index->MaybeAppend(1000, kBase - 1).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TimeIndexTest, MaybeAppendRejectsRelativeOffsetOverflow) {
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true);
  EXPECT_EQ(index->MaybeAppend(1000, kBase + int64_t{INT32_MAX} + 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->entries(), 0);
}

// Kafka keeps one slot free so the final entry of a roll or close always fits.
TEST_F(TimeIndexTest, FullIndexAcceptsOnlyTheFinalEntryWithSkipFullCheck) {
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true, 12 * 3);
  ASSERT_TRUE(index->MaybeAppend(1000, kBase + 1).ok());
  EXPECT_FALSE(index->IsFull());
  ASSERT_TRUE(index->MaybeAppend(2000, kBase + 2).ok());
  EXPECT_TRUE(index->IsFull());
  EXPECT_EQ(index->MaybeAppend(3000, kBase + 3).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(index->MaybeAppend(3000, kBase + 3, /*skip_full_check=*/true).ok());
  EXPECT_EQ(index->entries(), 3);
  // No slot is left at all, even for a final entry.
  EXPECT_EQ(index->MaybeAppend(4000, kBase + 4, true).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TimeIndexTest, FinalEntryOfferedAgainAfterSealIsANoOp) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  ASSERT_TRUE(index->MaybeAppend(3500, kBase + 35, /*skip_full_check=*/true).ok());  // roll
  ASSERT_TRUE(index->Seal().ok());
  EXPECT_TRUE(index->MaybeAppend(3500, kBase + 35, /*skip_full_check=*/true).ok());  // close
  EXPECT_EQ(index->entries(), 4);
}

// ---- truncation --------------------------------------------------------------------------------

TEST_F(TimeIndexTest, TruncateToInTheMiddleRemovesEntriesAtOrAfterTheOffset) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  index->TruncateTo(kBase + 30);
  EXPECT_EQ(index->entries(), 2);
  index->TruncateTo(kBase + 20);
  EXPECT_EQ(index->entries(), 2);
  EXPECT_EQ(index->LastEntry(), (TimestampOffset{2000, kBase + 10}));
}

// Both entries for offset 110 go: Kafka's own search would keep the first of the two.
TEST_F(TimeIndexTest, TruncateToAnOffsetHeldTwiceRemovesBothEntries) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  index->TruncateTo(kBase + 10);
  EXPECT_EQ(index->entries(), 0);
  EXPECT_EQ(index->LastEntry(), (TimestampOffset{kNone, kBase}));
}

TEST_F(TimeIndexTest, TruncateToBeforeFirstAndAfterLast) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  index->TruncateTo(kBase + 31);
  EXPECT_EQ(index->entries(), 3);
  index->TruncateTo(kBase);
  EXPECT_EQ(index->entries(), 0);
}

TEST_F(TimeIndexTest, ResetAllowsAppendingFromScratch) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  index->Reset();
  EXPECT_EQ(index->entries(), 0);
  EXPECT_EQ(index->Lookup(5000), (TimestampOffset{kNone, kBase}));
  ASSERT_TRUE(index->MaybeAppend(500, kBase + 1).ok());  // lower than before the reset
  EXPECT_EQ(index->LastEntry(), (TimestampOffset{500, kBase + 1}));
}

// ---- sanity checks -----------------------------------------------------------------------------

TEST_F(TimeIndexTest, SanityCheckRejectsLengthNotAMultipleOfTwelve) {
  WriteFileBytes(path_, Be64(1000) + Be32(10) + Be64(2000));
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/false);
  EXPECT_EQ(index->entries(), 1);
  absl::Status check = index->SanityCheck();
  EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(check.message().find(path_), std::string::npos) << check;
  EXPECT_NE(check.message().find("entry 1 (byte 12)"), std::string::npos) << check;
}

TEST_F(TimeIndexTest, SanityCheckRejectsLastOffsetBelowBase) {
  WriteFileBytes(path_, Be64(1000) + Be32(-7));
  absl::Status check = Open(/*writable=*/false)->SanityCheck();
  EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(check.message().find(path_), std::string::npos) << check;
  EXPECT_NE(check.message().find("entry 0 (byte 0)"), std::string::npos) << check;
}

TEST_F(TimeIndexTest, SanityCheckRejectsLastTimestampBelowFirst) {
  WriteFileBytes(path_, Be64(2000) + Be32(10) + Be64(3000) + Be32(20) + Be64(1999) + Be32(30));
  absl::Status check = Open(/*writable=*/false)->SanityCheck();
  EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(check.message().find(path_), std::string::npos) << check;
  EXPECT_NE(check.message().find("entry 2 (byte 24)"), std::string::npos) << check;
}

TEST_F(TimeIndexTest, SanityCheckAcceptsEqualOffsetsWithRisingTimestamps) {
  std::unique_ptr<TimeIndex> index = OpenWithThreeEntries();
  index->TruncateTo(kBase + 30);  // (1000, 110), (2000, 110)
  EXPECT_TRUE(index->SanityCheck().ok());
}

// ---- concurrency -------------------------------------------------------------------------------

// The writer offers timestamp 10i at offset base + i for every i but only every other timestamp
// is new (10i rises by 20 per kept entry). Readers check each answer is a kept entry, consistent
// with the counts published before and after their call.
TEST_F(TimeIndexTest, ConcurrentLookupsSeeOnlyPublishedEntries) {
  constexpr int kOffers = 60000;
  constexpr int kLookupsPerReader = 30000;
  std::unique_ptr<TimeIndex> index = Open(/*writable=*/true, 12 * (kOffers / 2 + 1));
  // Kept entry j is (20j, base + 2j).
  auto is_entry = [](const TimestampOffset& e) {
    return e.timestamp >= 0 && e.timestamp % 20 == 0 && e.offset == kBase + e.timestamp / 10;
  };
  std::latch start(3);
  std::atomic<int> bad{0};
  auto reader = [&](uint64_t seed) {
    start.arrive_and_wait();
    for (int k = 0; k < kLookupsPerReader; ++k) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      const int64_t target = static_cast<int64_t>((seed >> 33) % (10 * kOffers + 50)) - 20;
      const int before = index->entries();
      const TimestampOffset got = index->Lookup(target);
      const int after = index->entries();
      if (got.timestamp == kNone) {
        if (before > 0 && target >= 0) bad.fetch_add(1);
        continue;
      }
      const int64_t j = got.timestamp / 20;
      const bool in_range = j < after && (j >= before - 1 || j == target / 20);
      if (!is_entry(got) || !in_range || got.timestamp > target) bad.fetch_add(1);
      // The newest entry is the one most likely to be caught half-written.
      const TimestampOffset last = index->LastEntry();
      if (!is_entry(last) || last.timestamp / 20 < after - 1) bad.fetch_add(1);
    }
  };
  std::thread r1(reader, 3), r2(reader, 4);
  start.arrive_and_wait();
  for (int i = 0; i < kOffers; ++i) {
    // Offer i carries the running maximum 20 * floor(i / 2): new on even i only.
    if (!index->MaybeAppend(20 * (i / 2), kBase + i - i % 2).ok()) {
      bad.fetch_add(1);
      break;
    }
    if (i % 64 == 0) std::this_thread::yield();
  }
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(index->entries(), kOffers / 2);
}

}  // namespace
}  // namespace varve
