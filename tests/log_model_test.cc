// Randomized operations against a Log and an in-memory model of what it must hold. A seeded
// sequence of appends (sync and async, built by the log or pre-built), reads, readers,
// timestamp lookups, truncations, DeleteRecords, retention, clean reopens and process crashes
// (and, in group_commit mode, power cuts) runs once per durability mode on a log with tiny
// segments and indexes, so rolls and index lookups happen all the time. Every answer is checked
// against the model, byte for byte where the log returns bytes. Operations run on this thread;
// the engine's background flushes run on its own.
//
// The seed is printed as "seed=N"; every failure names it and the operation's index. Replay
// with VARVE_MODEL_SEED=N.

#include "tests/log_model.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/fault_injection_fs.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "log/flusher.h"
#include "log/log.h"
#include "tests/forwarding_fs.h"

namespace varve {
namespace {

using model::Batch;
using model::Encode;
using model::Header;
using model::HeaderRefs;
using model::Model;
using model::Owned;
using model::Record;
using model::View;

constexpr int kOperations = 3000;
constexpr int64_t kSegmentBytes = 2048;

void ExpectRecord(const RecordView& got, int64_t offset, const Record& want) {
  EXPECT_EQ(got.offset, offset);
  EXPECT_EQ(Owned(got.key), want.key) << "offset " << offset;
  EXPECT_EQ(Owned(got.value), want.value) << "offset " << offset;
  EXPECT_EQ(got.timestamp, want.timestamp) << "offset " << offset;
  std::vector<HeaderRef> headers = got.Headers();
  ASSERT_EQ(headers.size(), want.headers.size()) << "offset " << offset;
  for (size_t i = 0; i < headers.size(); ++i) {
    EXPECT_EQ(std::string(headers[i].key), want.headers[i].key);
    EXPECT_EQ(Owned(headers[i].value), want.headers[i].value);
  }
}

uint64_t Seed() {
  uint64_t seed;
  const char* env = std::getenv("VARVE_MODEL_SEED");
  if (env != nullptr && absl::SimpleAtoi(env, &seed)) return seed;
  return (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
}

enum class Op {
  kAppend,
  kAppendBatch,
  kRead,
  kReader,
  kOffsetForTimestamp,
  kTruncate,
  kDeleteRecords,
  kRetention,
  kReopen,
  kCrash,
  kPowerLoss,
  kCheckAll,
};

const char* OpName(Op op) {
  switch (op) {
    case Op::kAppend:
      return "Append";
    case Op::kAppendBatch:
      return "AppendBatch";
    case Op::kRead:
      return "Read";
    case Op::kReader:
      return "LogReader";
    case Op::kOffsetForTimestamp:
      return "OffsetForTimestamp";
    case Op::kTruncate:
      return "Truncate";
    case Op::kDeleteRecords:
      return "DeleteRecordsBefore";
    case Op::kRetention:
      return "ApplyRetention";
    case Op::kReopen:
      return "Close+Open";
    case Op::kCrash:
      return "Crash+Open";
    case Op::kPowerLoss:
      return "PowerLoss+Open";
    case Op::kCheckAll:
      return "CheckAll";
  }
  return "?";
}

class LogModelTest : public ::testing::TestWithParam<DurabilityMode> {
 protected:
  int64_t Uniform(int64_t lo, int64_t hi) {  // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool OneIn(int n) { return Uniform(1, n) == 1; }
  std::string RandomBytes(int64_t max_len) {
    std::string s(Uniform(0, max_len), '\0');
    for (char& c : s) c = static_cast<char>(Uniform(0, 255));
    return s;
  }

  // Retention and index sizes change at every open, as an operator's config change would.
  LogOptions Options() {
    LogOptions options;
    options.config.segment_bytes = kSegmentBytes;
    options.config.index_interval_bytes = 100;
    options.config.segment_index_bytes = OneIn(2) ? 96 : 1024;  // 96: index-full rolls
    options.config.segment_ms = 20'000;  // record timestamps drift: some time rolls
    options.config.retention_ms = -1;
    options.config.retention_bytes = OneIn(3) ? -1 : Uniform(0, 16 * 1024);
    options.config.durability = GetParam();
    options.config.flush_interval_ms = 5;
    options.config.flush_interval_bytes = 4096;
    options.fs = &fs_;
    options.io_backend = IoBackendKind::kPwritev;  // FaultInjectionFs files have no descriptor
    options.now_ms = [this] { return now_ms_.load(); };
    retention_bytes_ = options.config.retention_bytes;
    return options;
  }
  void Open() {
    auto log = Log::Open(dir_.Sub("t-0"), Options());
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    epoch_ = 0;
  }

  Record RandomRecord(bool allow_unset_timestamp) {
    Record r;
    if (!OneIn(5)) r.key = RandomBytes(OneIn(10) ? 0 : 24);
    if (!OneIn(10)) r.value = RandomBytes(OneIn(20) ? 600 : 120);
    r.timestamp =
        allow_unset_timestamp && OneIn(10) ? kNoTimestamp : now_ms_.load() + Uniform(-3000, 3000);
    for (int64_t i = Uniform(0, 3); i > 0 && OneIn(2); --i) {
      Header h{RandomBytes(8), std::nullopt};
      if (!OneIn(4)) h.value = RandomBytes(12);
      r.headers.push_back(std::move(h));
    }
    return r;
  }

  // Checks an append's outcome against the batch the model expects, and applies it.
  void ExpectAppended(const absl::StatusOr<AppendInfo>& info, Batch batch) {
    SetBaseOffset(batch.bytes.data(), model_.end);
    SetPartitionLeaderEpoch(batch.bytes.data(), epoch_);
    batch.base_offset = model_.end;
    if (static_cast<int64_t>(batch.bytes.size()) > kSegmentBytes) {
      EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument) << info.status();
      return;
    }
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->base_offset, batch.base_offset);
    EXPECT_EQ(info->last_offset, batch.last_offset());
    EXPECT_EQ(info->size_bytes, static_cast<int64_t>(batch.bytes.size()));
    EXPECT_EQ(info->max_timestamp, DecodeBatchHeader(batch.bytes.data()).max_timestamp);
    model_.Append(std::move(batch));
    if (GetParam() == DurabilityMode::kGroupCommit) {
      EXPECT_GE(log_->durable_offset(), model_.end);
    }
  }

  void DoAppend() {
    if (OneIn(10)) {
      epoch_ = static_cast<int32_t>(Uniform(0, 5));
      log_->set_leader_epoch(epoch_);
    }
    Batch batch;
    std::vector<RecordToAppend> to_append;
    std::vector<std::vector<HeaderRef>> header_refs;
    for (int64_t n = Uniform(1, 10); n > 0; --n) batch.records.push_back(RandomRecord(true));
    for (const Record& r : batch.records) header_refs.push_back(HeaderRefs(r.headers));
    for (size_t i = 0; i < batch.records.size(); ++i) {
      const Record& r = batch.records[i];
      to_append.push_back(RecordToAppend{.key = View(r.key),
                                         .value = View(r.value),
                                         .timestamp = r.timestamp,
                                         .headers = header_refs[i]});
    }
    // The log stamps unset timestamps with its clock, which stands still during the call.
    for (Record& r : batch.records) {
      if (r.timestamp == kNoTimestamp) r.timestamp = now_ms_.load();
    }
    batch.bytes = Encode(batch.records, BatchBuilder::Options());
    absl::StatusOr<AppendInfo> info;
    if (OneIn(5)) {
      info = WaitForCallback(
          [&](Log::AppendCallback done) { log_->AppendAsync(to_append, std::move(done)); });
    } else {
      info = log_->Append(to_append);
    }
    ExpectAppended(info, std::move(batch));
  }

  // Runs `append` (AppendAsync or AppendBatchAsync) and waits for its callback.
  absl::StatusOr<AppendInfo> WaitForCallback(
      const std::function<void(Log::AppendCallback)>& append) {
    // Shared: a callback that comes after the safety net expired must not write to our stack.
    auto done = std::make_shared<std::promise<absl::StatusOr<AppendInfo>>>();
    std::future<absl::StatusOr<AppendInfo>> future = done->get_future();
    append([done](absl::StatusOr<AppendInfo> info) { done->set_value(std::move(info)); });
    // A safety net only: the callback comes after one fdatasync at most.
    if (future.wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
      ADD_FAILURE() << "no append callback in 120 s";
      return absl::DeadlineExceededError("no append callback");
    }
    return future.get();
  }

  void DoAppendBatch() {
    BatchBuilder::Options options;
    if (OneIn(2)) {
      options.producer_id = Uniform(0, 1000);
      options.producer_epoch = static_cast<int16_t>(Uniform(0, 5));
      options.base_sequence = static_cast<int32_t>(Uniform(0, 100000));
    }
    const bool log_append_time = OneIn(4);
    if (log_append_time) options.timestamp_type = TimestampType::kLogAppendTime;
    Batch batch;
    for (int64_t n = Uniform(1, 10); n > 0; --n) batch.records.push_back(RandomRecord(false));
    batch.bytes = Encode(batch.records, options);
    if (log_append_time) {
      // Readers see the batch's MaxTimestamp as every record's timestamp.
      const int64_t max = DecodeBatchHeader(batch.bytes.data()).max_timestamp;
      for (Record& r : batch.records) r.timestamp = max;
    }
    std::string sent = batch.bytes;
    absl::StatusOr<AppendInfo> info;
    if (OneIn(5)) {
      info = WaitForCallback([&](Log::AppendCallback done) {
        log_->AppendBatchAsync(absl::MakeSpan(sent), std::move(done));
      });
    } else {
      info = log_->AppendBatch(absl::MakeSpan(sent));
    }
    ExpectAppended(info, std::move(batch));
  }

  // Read(offset, max_bytes, upper_bound) against the model: whole batches from the one holding
  // `offset`, at least one, within the budget, none reaching the bound.
  void DoRead() {
    const int64_t offset =
        OneIn(20) ? Uniform(model_.start - 3, model_.end + 3) : Uniform(model_.start, model_.end);
    const int64_t max_bytes = OneIn(4) ? 1 : (OneIn(3) ? 1 << 20 : Uniform(1, 6000));
    std::optional<int64_t> bound;
    if (OneIn(2)) bound = Uniform(offset - 1, model_.end + 3);
    absl::StatusOr<ReadResult> read = log_->Read(offset, max_bytes, bound);
    if (offset < model_.start || offset > model_.end) {
      EXPECT_EQ(read.status().code(), absl::StatusCode::kOutOfRange) << read.status();
      return;
    }
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->log_start_offset, model_.start);
    EXPECT_EQ(read->log_end_offset, model_.end);
    std::string want;
    int64_t first = -1, last = -1;
    const int64_t limit = std::min(bound.value_or(model_.end), model_.end);
    if (offset < limit) {
      for (size_t i = model_.BatchIndex(offset); i < model_.batches.size(); ++i) {
        const Batch& b = model_.batches[i];
        if (b.last_offset() >= limit) break;
        const int64_t size = static_cast<int64_t>(b.bytes.size());
        if (!want.empty() && static_cast<int64_t>(want.size()) + size > max_bytes) break;
        if (first < 0) first = b.base_offset;
        last = b.last_offset();
        want += b.bytes;
      }
    }
    EXPECT_EQ(read->size_bytes, static_cast<int64_t>(want.size()))
        << "offset " << offset << " max_bytes " << max_bytes << " bound " << limit;
    std::string got;
    ASSERT_TRUE(read->AppendTo(&got).ok());
    EXPECT_TRUE(got == want) << "offset " << offset << " max_bytes " << max_bytes << ": "
                             << got.size() << " bytes differ from the " << want.size()
                             << " expected";
    if (want.empty()) {
      EXPECT_TRUE(read->empty());
      return;
    }
    ASSERT_FALSE(read->empty());
    EXPECT_EQ(read->slices.front().first_offset, first);
    EXPECT_EQ(read->slices.back().last_offset, last);
    for (size_t i = 1; i < read->slices.size(); ++i) {
      EXPECT_EQ(read->slices[i].first_offset, read->slices[i - 1].last_offset + 1);
    }
    BatchIterator batches(got);  // CRCs included
    BatchView batch;
    int64_t next = first;
    while (batches.Next(&batch)) {
      EXPECT_EQ(batch.header.base_offset, next);
      next = batch.header.last_offset() + 1;
    }
    EXPECT_TRUE(batches.status().ok()) << batches.status();
    EXPECT_EQ(next, last + 1);
  }

  // Every record from `offset` below the last batch end that is below `bound`.
  void ExpectReader(int64_t offset, std::optional<int64_t> bound) {
    LogReader reader = log_->NewReader(offset, bound);
    RecordView record;
    if (offset < model_.start || offset > model_.end) {
      EXPECT_FALSE(reader.NextRecord(&record));
      EXPECT_EQ(reader.status().code(), absl::StatusCode::kOutOfRange) << reader.status();
      return;
    }
    const int64_t limit = std::min(bound.value_or(model_.end), model_.end);
    int64_t expected = offset;
    if (offset < limit) {
      for (size_t i = model_.BatchIndex(offset); i < model_.batches.size(); ++i) {
        const Batch& b = model_.batches[i];
        if (b.last_offset() >= limit) break;
        for (int64_t o = std::max(offset, b.base_offset); o <= b.last_offset(); ++o) {
          ASSERT_TRUE(reader.NextRecord(&record))
              << "offset " << o << " missing; reader status " << reader.status();
          ASSERT_NO_FATAL_FAILURE(ExpectRecord(record, o, b.records[o - b.base_offset]));
          expected = o + 1;
        }
      }
    }
    EXPECT_FALSE(reader.NextRecord(&record)) << "unexpected offset " << record.offset;
    EXPECT_TRUE(reader.status().ok()) << reader.status();
    EXPECT_EQ(reader.next_offset(), std::max(offset, expected));
  }

  void DoReader() {
    const int64_t offset =
        OneIn(20) ? Uniform(model_.start - 3, model_.end + 3) : Uniform(model_.start, model_.end);
    std::optional<int64_t> bound;
    if (OneIn(3)) bound = Uniform(offset, model_.end + 3);
    ExpectReader(offset, bound);
  }

  void DoOffsetForTimestamp() {
    int64_t lo = now_ms_.load(), hi = lo;
    for (const Batch& b : model_.batches) {
      for (const Record& r : b.records) {
        lo = std::min(lo, r.timestamp);
        hi = std::max(hi, r.timestamp);
      }
    }
    const int64_t target = Uniform(lo - 10, hi + 10);
    std::optional<TimestampAndOffset> want;
    for (const Batch& b : model_.batches) {
      for (size_t i = 0; i < b.records.size() && !want; ++i) {
        const int64_t offset = b.base_offset + static_cast<int64_t>(i);
        if (offset >= model_.start && b.records[i].timestamp >= target) {
          want = TimestampAndOffset{b.records[i].timestamp, offset};
        }
      }
      if (want) break;
    }
    absl::StatusOr<std::optional<TimestampAndOffset>> got = log_->OffsetForTimestamp(target);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->has_value(), want.has_value())
        << "timestamp " << target << ": got offset " << (*got ? (*got)->offset : -1);
    if (want) {
      EXPECT_EQ((*got)->offset, want->offset) << "timestamp " << target;
      EXPECT_EQ((*got)->timestamp, want->timestamp) << "timestamp " << target;
    }
  }

  void DoTruncate() {
    int64_t offset = Uniform(model_.start, model_.end);
    if (OneIn(10)) offset = model_.end + Uniform(0, 3);
    if (OneIn(10)) offset = Uniform(std::max<int64_t>(0, model_.start - 5), model_.start);
    ASSERT_TRUE(log_->Truncate(offset).ok()) << offset;
    model_.Truncate(offset);
  }

  // The retention invariants that hold whatever the policy decided: the start only grows, to a
  // segment boundary (or the old end after a roll), never past the bound; data above it stays.
  void ExpectRetention(const absl::StatusOr<Log::RetentionResult>& result, int64_t min_start,
                       int64_t bound, const std::vector<int64_t>& bases_before) {
    ASSERT_TRUE(result.ok()) << result.status();
    const int64_t start = result->log_start_offset;
    EXPECT_EQ(start, log_->start_offset());
    EXPECT_GE(start, min_start);
    EXPECT_LE(start, std::max(min_start, bound));
    if (start > min_start) {
      EXPECT_NE(result->reason, RetentionReason::kNone);
      EXPECT_TRUE(start == model_.end ||
                  std::find(bases_before.begin(), bases_before.end(), start) != bases_before.end())
          << "start " << start << " is not a segment base";
    }
    if (result->reason == RetentionReason::kSize) {
      EXPECT_GE(log_->SizeBytes(), retention_bytes_);
    }
    EXPECT_EQ(log_->end_offset(), model_.end);
    model_.RaiseStart(start);
    CheckAll();
  }

  void DoDeleteRecords() {
    int64_t offset = Uniform(model_.start, model_.end);
    if (OneIn(10)) offset = Uniform(std::max<int64_t>(0, model_.start - 3), model_.end + 2);
    std::optional<int64_t> bound;
    if (OneIn(3)) bound = Uniform(model_.start, model_.end);
    const std::vector<int64_t> bases = log_->SegmentBaseOffsets();
    absl::StatusOr<Log::RetentionResult> result = log_->DeleteRecordsBefore(offset, bound);
    if (offset > bound.value_or(model_.end)) {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kOutOfRange) << result.status();
      return;
    }
    ExpectRetention(result, std::max(model_.start, offset), bound.value_or(model_.end), bases);
  }

  void DoRetention() {
    std::optional<int64_t> bound;
    if (OneIn(2)) bound = Uniform(model_.start, model_.end);
    const std::vector<int64_t> bases = log_->SegmentBaseOffsets();
    ExpectRetention(log_->ApplyRetention(bound), model_.start, bound.value_or(model_.end), bases);
  }

  void DoReopen() {
    ASSERT_TRUE(log_->Close().ok());
    log_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
    EXPECT_TRUE(log_->open_info().clean_shutdown) << log_->open_info().notes;
    CheckAll();
  }

  // A process crash: the log's object dies without closing and nothing more reaches the files;
  // the page cache survives, so nothing written is lost in any mode.
  void DoCrash() {
    Flusher::Global().WaitUntilIdle();
    fs_.SetFilesystemActive(false);
    log_.reset();
    Flusher::Global().WaitUntilIdle();
    fs_.SetFilesystemActive(true);
    ASSERT_NO_FATAL_FAILURE(Open());
    EXPECT_FALSE(log_->open_info().clean_shutdown);
    CheckAll();
  }

  // A power cut: also whatever was not synced (file data, and directory entries) is gone. Only
  // in group_commit mode, where nothing acknowledged may be lost. Background work that had not
  // run when the power went (a roll's flush, say) never runs.
  void DoPowerLoss() {
    fs_.SetFilesystemActive(false);
    log_.reset();
    Flusher::Global().WaitUntilIdle();
    ASSERT_TRUE(fs_.DropUnsyncedData().ok());
    ASSERT_TRUE(fs_.DropUnsyncedDirectoryEntries().ok());
    fs_.SetFilesystemActive(true);
    ASSERT_NO_FATAL_FAILURE(Open());
    EXPECT_FALSE(log_->open_info().clean_shutdown);
    CheckAll();
  }

  // The whole log, through a reader and through one Read, against the model.
  void CheckAll() {
    ASSERT_EQ(log_->start_offset(), model_.start);
    ASSERT_EQ(log_->end_offset(), model_.end);
    ASSERT_NO_FATAL_FAILURE(ExpectReader(model_.start, std::nullopt));
    absl::StatusOr<ReadResult> read = log_->Read(model_.start, int64_t{1} << 40);
    ASSERT_TRUE(read.ok()) << read.status();
    std::string got, want;
    ASSERT_TRUE(read->AppendTo(&got).ok());
    for (const Batch& b : model_.batches) want += b.bytes;
    EXPECT_TRUE(got == want) << got.size() << " bytes read, " << want.size() << " expected";
  }

  Op PickOp() {
    struct Weighted {
      Op op;
      int weight;
    };
    static constexpr Weighted kOps[] = {
        {Op::kAppend, 30},       {Op::kAppendBatch, 10},       {Op::kRead, 15},
        {Op::kReader, 8},        {Op::kOffsetForTimestamp, 8}, {Op::kTruncate, 4},
        {Op::kDeleteRecords, 4}, {Op::kRetention, 4},          {Op::kReopen, 2},
        {Op::kCrash, 2},         {Op::kPowerLoss, 2},          {Op::kCheckAll, 1},
    };
    auto weight = [](const Weighted& w) {
      return w.op == Op::kPowerLoss && GetParam() != DurabilityMode::kGroupCommit ? 0 : w.weight;
    };
    int total = 0;
    for (const Weighted& w : kOps) total += weight(w);
    int pick = static_cast<int>(Uniform(0, total - 1));
    for (const Weighted& w : kOps) {
      if (pick < weight(w)) return w.op;
      pick -= weight(w);
    }
    return Op::kCheckAll;
  }

  void Run(Op op) {
    switch (op) {
      case Op::kAppend:
        return DoAppend();
      case Op::kAppendBatch:
        return DoAppendBatch();
      case Op::kRead:
        return DoRead();
      case Op::kReader:
        return DoReader();
      case Op::kOffsetForTimestamp:
        return DoOffsetForTimestamp();
      case Op::kTruncate:
        return DoTruncate();
      case Op::kDeleteRecords:
        return DoDeleteRecords();
      case Op::kRetention:
        return DoRetention();
      case Op::kReopen:
        return DoReopen();
      case Op::kCrash:
        return DoCrash();
      case Op::kPowerLoss:
        return DoPowerLoss();
      case Op::kCheckAll:
        return CheckAll();
    }
  }

  const uint64_t seed_ = Seed();
  std::mt19937_64 rng_{seed_};
  TempDir dir_;
  // The disk's syncs are skipped: FaultInjectionFs records what was synced, and a process crash
  // loses nothing the page cache holds, so waiting for the disk would only slow the test down.
  ForwardingFs no_sync_{PosixFileSystem(), [](const std::string&) { return false; }};
  FaultInjectionFs fs_{&no_sync_};
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  int64_t retention_bytes_ = -1;
  std::unique_ptr<Log> log_;
  Model model_;
  int32_t epoch_ = 0;
};

TEST_P(LogModelTest, RandomOperationsMatchTheModel) {
  std::printf("seed=%llu (replay with VARVE_MODEL_SEED=%llu)\n",
              static_cast<unsigned long long>(seed_), static_cast<unsigned long long>(seed_));
  std::fflush(stdout);
  ASSERT_NO_FATAL_FAILURE(Open());
  constexpr int kOpKinds = static_cast<int>(Op::kCheckAll) + 1;
  int counts[kOpKinds] = {};
  double seconds[kOpKinds] = {};
  size_t max_segments = 0;
  for (int i = 0; i < kOperations; ++i) {
    const Op op = PickOp();
    SCOPED_TRACE(absl::StrCat("seed=", seed_, " operation ", i, ": ", OpName(op), " on [",
                              model_.start, ", ", model_.end, ")"));
    const auto started = std::chrono::steady_clock::now();
    Run(op);
    if (HasFailure()) return;
    ASSERT_EQ(log_->start_offset(), model_.start);
    ASSERT_EQ(log_->end_offset(), model_.end);
    // Holds between operations whatever the mode: nothing is durable that is not written.
    ASSERT_LE(log_->durable_offset(), model_.end);
    ++counts[static_cast<int>(op)];
    seconds[static_cast<int>(op)] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    now_ms_ += Uniform(0, 200);
    max_segments = std::max(max_segments, log_->SegmentBaseOffsets().size());
  }
  CheckAll();
  std::string summary;
  for (int op = 0; op < kOpKinds; ++op) {
    absl::StrAppend(&summary, OpName(static_cast<Op>(op)), " ", counts[op], " in ",
                    absl::SixDigits(seconds[op]), " s, ");
  }
  std::printf("%send offset %lld, at most %zu segments\n", summary.c_str(),
              static_cast<long long>(model_.end), max_segments);
}

INSTANTIATE_TEST_SUITE_P(Durability, LogModelTest,
                         ::testing::Values(DurabilityMode::kPageCache, DurabilityMode::kGroupCommit,
                                           DurabilityMode::kInterval),
                         [](const auto& info) { return DurabilityModeName(info.param); });

}  // namespace
}  // namespace varve
