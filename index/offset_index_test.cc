#include "index/offset_index.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/file.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "index/index_test_util.h"

namespace varve {
namespace {

using index_test::Be32;
using index_test::ReadFileBytes;
using index_test::WriteFileBytes;

constexpr int64_t kBase = 100;

class OffsetIndexTest : public ::testing::Test {
 protected:
  std::unique_ptr<OffsetIndex> Open(bool writable, int64_t max_bytes = kDefaultMaxIndexBytes) {
    auto index = OffsetIndex::Open(PosixFileSystem(), path_, kBase, max_bytes, writable);
    EXPECT_TRUE(index.ok()) << index.status();
    return index.ok() ? std::move(index).value() : nullptr;
  }

  int64_t FileSize() { return static_cast<int64_t>(ReadFileBytes(path_).size()); }

  // An index holding (110, 1000), (120, 2000), (130, 3000).
  std::unique_ptr<OffsetIndex> OpenWithThreeEntries() {
    std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true);
    for (int64_t i = 1; i <= 3; ++i) EXPECT_TRUE(index->Append(kBase + 10 * i, 1000 * i).ok());
    return index;
  }

  TempDir dir_;
  const std::string path_ = dir_.Sub("00000000000000000100.index");
};

// ---- file layout and sizing ------------------------------------------------------------------

TEST_F(OffsetIndexTest, FileBytesAreKafkaLayoutAfterSealAndClose) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true);
  ASSERT_TRUE(index->Append(kBase, 0).ok());
  ASSERT_TRUE(index->Append(kBase + 0x0102, 0x0A0B0C0D).ok());
  ASSERT_TRUE(index->Append(kBase + INT32_MAX, INT32_MAX).ok());
  // Written out byte by byte, not with our own encoder: this is the compatibility proof.
  const std::string expected(
      "\x00\x00\x00\x00"
      "\x00\x00\x00\x00"  // relative offset 0, position 0
      "\x00\x00\x01\x02"
      "\x0A\x0B\x0C\x0D"  // relative offset 0x102, position 0x0A0B0C0D
      "\x7F\xFF\xFF\xFF"
      "\x7F\xFF\xFF\xFF",  // both INT32_MAX
      24);
  ASSERT_TRUE(index->Seal().ok());
  EXPECT_EQ(ReadFileBytes(path_), expected);
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(ReadFileBytes(path_), expected);
}

TEST_F(OffsetIndexTest, DefaultSizePreallocates1310720Entries) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true);
  EXPECT_EQ(index->max_entries(), 1310720);
  EXPECT_EQ(index->entries(), 0);
  EXPECT_EQ(index->size_bytes(), 0);
  EXPECT_EQ(FileSize(), 10 * 1024 * 1024);
}

TEST_F(OffsetIndexTest, MaxSizeNotAMultipleOfEightRoundsDown) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true, 8 * 10 + 7);
  EXPECT_EQ(index->max_entries(), 10);
  EXPECT_EQ(FileSize(), 80);
}

TEST_F(OffsetIndexTest, MaxSizeBelowOneEntryIsRejected) {
  auto index = OffsetIndex::Open(PosixFileSystem(), path_, kBase, 7, /*writable=*/true);
  EXPECT_EQ(index.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(OffsetIndexTest, NegativeBaseOffsetIsRejected) {
  auto index = OffsetIndex::Open(PosixFileSystem(), path_, -1, kDefaultMaxIndexBytes, true);
  EXPECT_EQ(index.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(OffsetIndexTest, ReadOnlyOpenOfMissingFileIsNotFoundAndCreatesNothing) {
  auto index = OffsetIndex::Open(PosixFileSystem(), path_, kBase, kDefaultMaxIndexBytes, false);
  EXPECT_EQ(index.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(*PosixFileSystem()->Exists(path_));
}

TEST_F(OffsetIndexTest, SealTrimsFileAndStopsAppendsButNotLookups) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  ASSERT_TRUE(index->Seal().ok());
  EXPECT_EQ(FileSize(), 24);
  EXPECT_EQ(index->max_entries(), 3);
  EXPECT_TRUE(index->IsFull());
  EXPECT_FALSE(index->writable());
  EXPECT_EQ(index->Append(kBase + 40, 4000).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(index->Lookup(kBase + 25), (OffsetPosition{kBase + 20, 2000}));
  EXPECT_TRUE(index->Seal().ok());  // again: nothing to do
}

TEST_F(OffsetIndexTest, CloseTrimsFile) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(FileSize(), 24);
}

TEST_F(OffsetIndexTest, ReopenOfTrimmedIndexRestoresEntries) {
  ASSERT_TRUE(OpenWithThreeEntries()->Close().ok());
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/false);
  EXPECT_EQ(index->entries(), 3);
  EXPECT_EQ(index->max_entries(), 3);
  EXPECT_FALSE(index->writable());
  EXPECT_EQ(index->EntryAt(1), (OffsetPosition{kBase + 20, 2000}));
  EXPECT_EQ(index->LastEntry(), (OffsetPosition{kBase + 30, 3000}));
  EXPECT_TRUE(index->SanityCheck().ok());
  EXPECT_EQ(index->Append(kBase + 40, 4000).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(OffsetIndexTest, ReopenWritableRegrowsAndKeepsEntries) {
  ASSERT_TRUE(OpenWithThreeEntries()->Close().ok());
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true);
  EXPECT_EQ(index->entries(), 3);
  EXPECT_EQ(index->max_entries(), 1310720);
  EXPECT_EQ(FileSize(), 10 * 1024 * 1024);
  ASSERT_TRUE(index->Append(kBase + 40, 4000).ok());
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(FileSize(), 32);
}

TEST_F(OffsetIndexTest, MakeWritableRegrowsSealedIndex) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  ASSERT_TRUE(index->Seal().ok());
  ASSERT_TRUE(index->MakeWritable(8 * 100).ok());
  EXPECT_EQ(index->max_entries(), 100);
  EXPECT_EQ(FileSize(), 800);
  ASSERT_TRUE(index->Append(kBase + 40, 4000).ok());
  EXPECT_EQ(index->Lookup(kBase + 45), (OffsetPosition{kBase + 40, 4000}));
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(FileSize(), 32);
}

TEST_F(OffsetIndexTest, MakeWritableReopensReadOnlyIndexForWriting) {
  ASSERT_TRUE(OpenWithThreeEntries()->Close().ok());
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/false);
  ASSERT_TRUE(index->MakeWritable(kDefaultMaxIndexBytes).ok());
  EXPECT_TRUE(index->writable());
  ASSERT_TRUE(index->Append(kBase + 40, 4000).ok());
  ASSERT_TRUE(index->Flush().ok());
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(ReadFileBytes(path_).substr(24), Be32(40) + Be32(4000));
}

// Kafka's rule: the entry count is length / 8, so an index that was never trimmed (a crash)
// reopens full of zero entries. This is why recovery rebuilds the active segment's index.
TEST_F(OffsetIndexTest, UntrimmedIndexReopensWithPreallocatedSlotsAsEntries) {
  {
    std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true, 8 * 10);
    ASSERT_TRUE(index->Append(kBase + 1, 10).ok());
  }  // destroyed without Close
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/false);
  EXPECT_EQ(index->entries(), 10);
  // The zero tail reads as entries at the base offset, before the real first entry.
  EXPECT_EQ(index->SanityCheck().code(), absl::StatusCode::kDataLoss);
}

// ---- lookups -----------------------------------------------------------------------------------

TEST_F(OffsetIndexTest, LookupInEmptyIndexReturnsBase) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true);
  EXPECT_EQ(index->Lookup(kBase + 5), (OffsetPosition{kBase, 0}));
  EXPECT_EQ(index->LastEntry(), (OffsetPosition{kBase, 0}));
}

TEST_F(OffsetIndexTest, LookupBeforeFirstEntryReturnsBase) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  EXPECT_EQ(index->Lookup(kBase + 9), (OffsetPosition{kBase, 0}));
  EXPECT_EQ(index->Lookup(0), (OffsetPosition{kBase, 0}));
  EXPECT_EQ(index->Lookup(INT64_MIN), (OffsetPosition{kBase, 0}));
}

TEST_F(OffsetIndexTest, LookupExactHitsReturnTheEntry) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  for (int64_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(index->Lookup(kBase + 10 * i), (OffsetPosition{kBase + 10 * i, 1000 * i}));
  }
}

TEST_F(OffsetIndexTest, LookupBetweenEntriesReturnsTheLowerOne) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  EXPECT_EQ(index->Lookup(kBase + 11), (OffsetPosition{kBase + 10, 1000}));
  EXPECT_EQ(index->Lookup(kBase + 29), (OffsetPosition{kBase + 20, 2000}));
}

TEST_F(OffsetIndexTest, LookupAfterLastEntryReturnsTheLast) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  EXPECT_EQ(index->Lookup(kBase + 31), (OffsetPosition{kBase + 30, 3000}));
  EXPECT_EQ(index->Lookup(INT64_MAX), (OffsetPosition{kBase + 30, 3000}));
}

TEST_F(OffsetIndexTest, LookupAgreesWithLinearScanAtEverySize) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true, 8 * 70);
  for (int n = 1; n <= 70; ++n) {
    ASSERT_TRUE(index->Append(kBase + 2 * n, n).ok());
    for (int64_t target = kBase; target <= kBase + 2 * n + 1; ++target) {
      const int64_t k = (target - kBase) / 2;  // the entry with offset base + 2k, if any
      const OffsetPosition expected =
          k == 0 ? OffsetPosition{kBase, 0} : OffsetPosition{kBase + 2 * k, k};
      ASSERT_EQ(index->Lookup(target), expected) << "n=" << n << " target=" << target;
    }
  }
}

// 3,000 entries: targets in the warm section (the last 8 KiB, 1,024 entries) and before it.
TEST_F(OffsetIndexTest, LookupAgreesWithLinearScanAcrossTheWarmSection) {
  constexpr int kEntries = 3000;
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true, 8 * kEntries);
  for (int64_t k = 1; k <= kEntries; ++k) ASSERT_TRUE(index->Append(kBase + 2 * k, k).ok());
  for (int64_t target = kBase; target <= kBase + 2 * kEntries + 1; ++target) {
    const int64_t k = (target - kBase) / 2;
    const OffsetPosition expected =
        k == 0 ? OffsetPosition{kBase, 0} : OffsetPosition{kBase + 2 * k, k};
    ASSERT_EQ(index->Lookup(target), expected) << "target=" << target;
  }
}

// ---- append rules ------------------------------------------------------------------------------

TEST_F(OffsetIndexTest, AppendOfNonIncreasingOffsetIsRejected) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  EXPECT_EQ(index->Append(kBase + 30, 5000).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Append(kBase + 29, 5000).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->entries(), 3);
}

TEST_F(OffsetIndexTest, AppendToFullIndexIsRejected) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true, 16);
  ASSERT_TRUE(index->Append(kBase + 1, 1).ok());
  EXPECT_FALSE(index->IsFull());
  ASSERT_TRUE(index->Append(kBase + 2, 2).ok());
  EXPECT_TRUE(index->IsFull());
  EXPECT_EQ(index->Append(kBase + 3, 3).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(index->entries(), 2);
}

TEST_F(OffsetIndexTest, AppendOfOffsetBelowBaseIsRejected) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true);
  EXPECT_EQ(index->Append(kBase - 1, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->entries(), 0);
}

TEST_F(OffsetIndexTest, AppendOfRelativeOffsetOverflowIsRejected) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true);
  absl::Status overflow = index->Append(kBase + int64_t{INT32_MAX} + 1, 0);
  EXPECT_EQ(overflow.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(overflow.message().find(path_), std::string::npos);
  EXPECT_TRUE(index->Append(kBase + INT32_MAX, 0).ok());
}

TEST_F(OffsetIndexTest, AppendOfPositionOutsideInt32IsRejected) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true);
  EXPECT_EQ(index->Append(kBase + 1, int64_t{INT32_MAX} + 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Append(kBase + 1, -1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->entries(), 0);
}

// ---- truncation --------------------------------------------------------------------------------

TEST_F(OffsetIndexTest, TruncateToAnEntryRemovesItAndLaterOnes) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  index->TruncateTo(kBase + 20);
  EXPECT_EQ(index->entries(), 1);
  EXPECT_EQ(index->LastEntry(), (OffsetPosition{kBase + 10, 1000}));
  ASSERT_TRUE(index->Append(kBase + 15, 1500).ok());  // the log continues from there
}

TEST_F(OffsetIndexTest, TruncateToBetweenEntriesKeepsTheLowerOne) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  index->TruncateTo(kBase + 25);
  EXPECT_EQ(index->entries(), 2);
  EXPECT_EQ(index->Lookup(kBase + 29), (OffsetPosition{kBase + 20, 2000}));
}

TEST_F(OffsetIndexTest, TruncateToBeforeFirstEntryRemovesAll) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  index->TruncateTo(kBase);
  EXPECT_EQ(index->entries(), 0);
  EXPECT_EQ(index->Lookup(kBase + 30), (OffsetPosition{kBase, 0}));
}

TEST_F(OffsetIndexTest, TruncateToAfterLastEntryKeepsAll) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  index->TruncateTo(kBase + 31);
  EXPECT_EQ(index->entries(), 3);
}

TEST_F(OffsetIndexTest, TruncationOfSealedIndexReachesTheFileOnClose) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  ASSERT_TRUE(index->Seal().ok());
  index->TruncateTo(kBase + 20);
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(ReadFileBytes(path_), Be32(10) + Be32(1000));
}

TEST_F(OffsetIndexTest, ResetRemovesAllEntriesForRebuild) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  index->Reset();
  EXPECT_EQ(index->entries(), 0);
  EXPECT_EQ(index->LastEntry(), (OffsetPosition{kBase, 0}));
  ASSERT_TRUE(index->Append(kBase + 5, 500).ok());
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(ReadFileBytes(path_), Be32(5) + Be32(500));
}

// ---- sanity checks -----------------------------------------------------------------------------

TEST_F(OffsetIndexTest, SanityCheckAcceptsEmptyAndValidIndexes) {
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true);
  EXPECT_TRUE(index->SanityCheck().ok());
  ASSERT_TRUE(index->Append(kBase, 0).ok());
  EXPECT_TRUE(index->SanityCheck().ok());
  ASSERT_TRUE(index->Append(kBase + 1, 0).ok());  // an entry at position 0 twice is odd, not bad
  EXPECT_TRUE(index->SanityCheck().ok());
}

TEST_F(OffsetIndexTest, SanityCheckRejectsLengthNotAMultipleOfEight) {
  WriteFileBytes(path_, Be32(10) + Be32(1000) + "xyz");
  for (bool writable : {false, true}) {  // writable regrows the file; the check still sees it
    std::unique_ptr<OffsetIndex> index = Open(writable);
    EXPECT_EQ(index->entries(), 1);
    absl::Status check = index->SanityCheck();
    EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(check.message().find(path_), std::string::npos) << check;
    EXPECT_NE(check.message().find("entry 1 (byte 8)"), std::string::npos) << check;
    ASSERT_TRUE(index->Close().ok());
  }
}

TEST_F(OffsetIndexTest, SanityCheckRejectsLastOffsetBelowBase) {
  WriteFileBytes(path_, Be32(10) + Be32(1000) + Be32(-1) + Be32(2000));
  absl::Status check = Open(/*writable=*/false)->SanityCheck();
  EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(check.message().find(path_), std::string::npos) << check;
  EXPECT_NE(check.message().find("entry 1 (byte 8)"), std::string::npos) << check;
}

TEST_F(OffsetIndexTest, SanityCheckRejectsLastOffsetNotAfterFirst) {
  WriteFileBytes(path_, Be32(10) + Be32(1000) + Be32(20) + Be32(2000) + Be32(10) + Be32(3000));
  absl::Status check = Open(/*writable=*/false)->SanityCheck();
  EXPECT_EQ(check.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(check.message().find(path_), std::string::npos) << check;
}

TEST_F(OffsetIndexTest, SanityCheckRejectsPositionsOutOfOrder) {
  WriteFileBytes(path_, Be32(10) + Be32(1000) + Be32(20) + Be32(999));
  EXPECT_EQ(Open(/*writable=*/false)->SanityCheck().code(), absl::StatusCode::kDataLoss);
  WriteFileBytes(path_, Be32(10) + Be32(-5));
  EXPECT_EQ(Open(/*writable=*/false)->SanityCheck().code(), absl::StatusCode::kDataLoss);
}

// ---- lifecycle
// -----------------------------------------------------------------------------------

TEST_F(OffsetIndexTest, ClosedIndexRejectsCallsAndFindsNothing) {
  std::unique_ptr<OffsetIndex> index = OpenWithThreeEntries();
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(index->entries(), 0);
  EXPECT_EQ(index->Lookup(kBase + 30), (OffsetPosition{kBase, 0}));
  EXPECT_EQ(index->Append(kBase + 40, 0).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(index->Seal().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(index->Flush().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(index->MakeWritable(kDefaultMaxIndexBytes).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(index->SanityCheck().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(index->Close().ok());
}

// ---- concurrency -------------------------------------------------------------------------------

// One writer appends entry i = (base + 3i + 1, 100i) while two readers look up targets from a
// fixed pseudo-random sequence. Every answer must be a real entry, at or below the target, and
// at least as far as the entries the reader saw published before its call allow.
TEST_F(OffsetIndexTest, ConcurrentLookupsSeeOnlyPublishedEntries) {
  constexpr int kEntries = 40000;
  constexpr int kLookupsPerReader = 40000;
  std::unique_ptr<OffsetIndex> index = Open(/*writable=*/true, 8 * kEntries);
  auto slot_of = [](const OffsetPosition& e) { return (e.offset - kBase - 1) / 3; };
  auto is_entry = [&](const OffsetPosition& e) {
    return e.offset > kBase && (e.offset - kBase - 1) % 3 == 0 && e.position == 100 * slot_of(e);
  };
  std::latch start(3);
  std::atomic<int> bad{0};
  auto reader = [&](uint64_t seed) {
    start.arrive_and_wait();
    for (int k = 0; k < kLookupsPerReader; ++k) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      const int64_t target = kBase + static_cast<int64_t>((seed >> 33) % (3 * kEntries + 10));
      const int before = index->entries();
      const OffsetPosition got = index->Lookup(target);
      const int after = index->entries();
      const int64_t floor_slot = (target - kBase - 1) / 3;  // the answer with every entry
      const int64_t least = std::min<int64_t>(before - 1, target > kBase ? floor_slot : -1);
      if (got == OffsetPosition{kBase, 0}) {
        if (least >= 0) bad.fetch_add(1);
        continue;
      }
      if (!is_entry(got) || slot_of(got) < least || slot_of(got) >= after || got.offset > target) {
        bad.fetch_add(1);
      }
      // The newest entry is the one most likely to be caught half-written.
      const OffsetPosition last = index->LastEntry();
      if (!is_entry(last) || slot_of(last) < after - 1) bad.fetch_add(1);
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  start.arrive_and_wait();
  for (int i = 0; i < kEntries; ++i) {
    if (!index->Append(kBase + 3 * i + 1, 100 * i).ok()) {
      bad.fetch_add(1);
      break;
    }
    if (i % 64 == 0) std::this_thread::yield();
  }
  r1.join();
  r2.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE(index->IsFull());
}

}  // namespace
}  // namespace varve
