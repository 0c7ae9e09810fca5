// The write side of Log: open and recovery, append and acknowledgement, roll, truncate, close.
// Reads are in log_read.cc.

#include "log/log.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "log/batch_validator.h"
#include "log/flusher.h"

namespace varve {
namespace {

// Per-partition files beside the segments (docs/format.md, "Checkpoints").
constexpr char kRecoveryPointFile[] = "recovery-point-offset-checkpoint";
constexpr char kLogStartFile[] = "log-start-offset-checkpoint";
constexpr char kCleanShutdownFile[] = ".varve-clean-shutdown";

struct CleanShutdown {
  int64_t active_base;
  Segment::ActiveState state;
};

// Parses the clean-shutdown entries; nullopt (with the reason in *why) if anything is off.
std::optional<CleanShutdown> ParseCleanShutdown(const std::vector<std::string>& entries,
                                                std::string* why) {
  std::map<std::string, std::vector<int64_t>> fields;
  for (const std::string& entry : entries) {
    std::vector<std::string> parts = absl::StrSplit(entry, ' ', absl::SkipEmpty());
    if (parts.empty()) continue;
    std::vector<int64_t>& values = fields[parts[0]];
    for (size_t i = 1; i < parts.size(); ++i) {
      int64_t v;
      if (!absl::SimpleAtoi(parts[i], &v)) {
        *why = absl::StrCat("bad number in \"", entry, "\"");
        return std::nullopt;
      }
      values.push_back(v);
    }
  }
  auto get = [&](const char* key, size_t n) -> const std::vector<int64_t>* {
    auto it = fields.find(key);
    return it != fields.end() && it->second.size() == n ? &it->second : nullptr;
  };
  const auto* base = get("active_base", 1);
  const auto* size = get("size", 1);
  const auto* next = get("next_offset", 1);
  const auto* max_ts = get("max_timestamp", 2);
  const auto* rolling = get("rolling_base_timestamp", 1);
  if (!base || !size || !next || !max_ts || !rolling) {
    *why = "missing or malformed fields";
    return std::nullopt;
  }
  CleanShutdown clean;
  clean.active_base = (*base)[0];
  clean.state.size = (*size)[0];
  clean.state.next_offset = (*next)[0];
  clean.state.max_timestamp = TimestampOffset{(*max_ts)[0], (*max_ts)[1]};
  clean.state.rolling_base_timestamp = (*rolling)[0];
  return clean;
}

}  // namespace

Log::Log(std::string dir, const LogOptions& options) : dir_(std::move(dir)), options_(options) {}

Log::~Log() { Close().IgnoreError(); }

int64_t Log::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<std::unique_ptr<Log>> Log::Open(const std::string& dir, const LogOptions& options) {
  RETURN_IF_ERROR(options.config.Validate());
  std::unique_ptr<Log> log(new Log(dir, options));
  RETURN_IF_ERROR(log->Load());
  return log;
}

absl::Status Log::Load() {
  FileSystem* fs = options_.fs;
  RETURN_IF_ERROR(fs->CreateDir(dir_));
  ASSIGN_OR_RETURN(io_, IoBackend::Create(options_.io_backend));
  recovery_checkpoint_ = std::make_shared<OffsetCheckpoint>(fs, JoinPath(dir_, kRecoveryPointFile));
  start_checkpoint_ = std::make_unique<OffsetCheckpoint>(fs, JoinPath(dir_, kLogStartFile));

  ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir_));
  std::vector<int64_t> bases;
  for (const std::string& name : names) {
    if (std::optional<int64_t> base = ParseSegmentLogFileName(name)) bases.push_back(*base);
  }
  for (const std::string& name : names) {
    bool remove = absl::EndsWith(name, ".tmp");  // an interrupted checkpoint write
    // Index files without their .log are leftovers of a deleted segment (reference §2.9).
    for (absl::string_view suffix : {".index", ".timeindex"}) {
      if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) continue;
      std::optional<int64_t> base = ParseSegmentLogFileName(name.substr(0, 20) + ".log");
      remove |= base && std::find(bases.begin(), bases.end(), *base) == bases.end();
    }
    if (remove) RETURN_IF_ERROR(fs->Remove(JoinPath(dir_, name)));
  }
  std::sort(bases.begin(), bases.end());

  // Checkpoints that cannot be read are not fatal: they only let us skip work.
  std::optional<CleanShutdown> clean;
  const std::string marker = JoinPath(dir_, kCleanShutdownFile);
  absl::StatusOr<std::vector<std::string>> marker_entries = ReadCheckpoint(fs, marker);
  const bool marker_exists = !absl::IsNotFound(marker_entries.status());
  if (marker_entries.ok()) {
    std::string why;
    clean = ParseCleanShutdown(*marker_entries, &why);
    if (!clean) absl::StrAppend(&open_info_.notes, marker, ": ", why, "; ");
  } else if (marker_exists) {
    absl::StrAppend(&open_info_.notes, marker_entries.status().message(), "; ");
  }
  int64_t recovery_point = 0;
  if (absl::StatusOr<std::optional<int64_t>> rp = recovery_checkpoint_->Read(); rp.ok()) {
    recovery_point = rp->value_or(0);
  } else {
    absl::StrAppend(&open_info_.notes, rp.status().message(), "; ");
  }
  int64_t start_offset = -1;
  if (absl::StatusOr<std::optional<int64_t>> so = start_checkpoint_->Read(); so.ok()) {
    start_offset = so->value_or(-1);
  } else {
    absl::StrAppend(&open_info_.notes, so.status().message(), "; ");
  }
  open_info_.recovery_point = recovery_point;

  const int64_t now = NowMs();
  std::lock_guard append_lock(append_mu_);
  std::unique_lock structure_lock(structure_mu_);
  if (bases.empty()) {
    ASSIGN_OR_RETURN(
        std::shared_ptr<Segment> seg,
        Segment::Create(fs, dir_, std::max<int64_t>(start_offset, 0), options_.config, now));
    segments_.push_back(std::move(seg));
    // A new log's first files: durable names before any append is acknowledged in them.
    RETURN_IF_ERROR(fs->SyncDir(dir_));
  } else if (clean && clean->active_base == bases.back()) {
    absl::Status opened;
    for (size_t i = 0; i + 1 < bases.size() && opened.ok(); ++i) {
      absl::StatusOr<std::shared_ptr<Segment>> seg =
          Segment::OpenSealed(fs, dir_, bases[i], bases[i + 1], options_.config, now);
      if (seg.ok()) segments_.push_back(std::move(*seg));
      opened = seg.status();
    }
    if (opened.ok()) {
      absl::StatusOr<std::shared_ptr<Segment>> active =
          Segment::OpenActive(fs, dir_, bases.back(), options_.config, now, &clean->state);
      if (active.ok()) segments_.push_back(std::move(*active));
      opened = active.status();
    }
    if (opened.ok()) {
      open_info_.clean_shutdown = true;
    } else if (absl::IsFailedPrecondition(opened)) {
      // The files changed after the clean shutdown: recover as after a crash.
      absl::StrAppend(&open_info_.notes, opened.message(), "; ");
      segments_.clear();
      RETURN_IF_ERROR(RecoverSegments(bases, recovery_point));
    } else {
      return opened;
    }
  } else {
    RETURN_IF_ERROR(RecoverSegments(bases, recovery_point));
  }
  const int64_t end = segments_.back()->next_offset();
  start_offset_.store(std::clamp(start_offset, segments_.front()->base_offset(), end),
                      std::memory_order_release);
  end_offset_.store(end, std::memory_order_release);
  commit_ = std::make_shared<GroupCommit>(io_, end);
  if (marker_exists) {
    // From here on a crash is not a clean shutdown: the marker must be gone for good first.
    RETURN_IF_ERROR(fs->Remove(marker));
    RETURN_IF_ERROR(fs->SyncDir(dir_));
  }
  return absl::OkStatus();
}

absl::Status Log::RecoverSegments(const std::vector<int64_t>& bases, int64_t recovery_point) {
  FileSystem* fs = options_.fs;
  const int64_t now = NowMs();
  const bool cut_anywhere = options_.recovery_mode == RecoveryMode::kTruncateAtFirstCorruption;
  std::vector<std::shared_ptr<Segment>> scanned;
  for (size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == bases.size();
    const int64_t next_base = last ? std::numeric_limits<int64_t>::max() : bases[i + 1];
    // Segments wholly below the recovery point were synced, indexes included: trust them.
    if (!last && next_base <= recovery_point) {
      absl::StatusOr<std::shared_ptr<Segment>> seg =
          Segment::OpenSealed(fs, dir_, bases[i], next_base, options_.config, now);
      if (seg.ok()) {
        segments_.push_back(std::move(*seg));
        continue;
      }
      if (!absl::IsDataLoss(seg.status()) || !cut_anywhere) return seg.status();
      // Truncating mode: scan it like the rest and cut at the corruption.
    }
    ASSIGN_OR_RETURN(std::shared_ptr<Segment> seg,
                     Segment::OpenActive(fs, dir_, bases[i], options_.config, now, nullptr));
    ++open_info_.segments_scanned;
    ASSIGN_OR_RETURN(int64_t invalid, seg->Recover(/*truncate_invalid_tail=*/last || cut_anywhere));
    scanned.push_back(seg);
    if (invalid > 0 && !last && !cut_anywhere) {
      return absl::DataLossError(absl::StrCat(
          "segment ", seg->log_path(), " is corrupt at byte ", seg->size(), " (", invalid,
          " bytes after it are not valid batches) and later segments exist; nothing was cut. "
          "Open with RecoveryMode::kTruncateAtFirstCorruption to truncate the log there"));
    }
    open_info_.bytes_truncated += invalid;
    if (invalid > 0 && !last) {
      // Kafka's rule: whatever follows a truncation point is gone too.
      for (size_t j = i + 1; j < bases.size(); ++j) {
        const std::string stem = JoinPath(dir_, SegmentFileStem(bases[j]));
        ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs->Open(stem + ".log", OpenMode::kReadOnly));
        ASSIGN_OR_RETURN(int64_t size, f->Size());
        open_info_.bytes_truncated += size;
        for (absl::string_view suffix : {".log", ".index", ".timeindex"}) {
          absl::Status removed = fs->Remove(absl::StrCat(stem, suffix));
          if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
        }
        ++open_info_.segments_deleted;
      }
      segments_.push_back(std::move(seg));
      break;
    }
    if (!last) {
      if (seg->next_offset() > next_base) {
        return absl::DataLossError(absl::StrCat("segment ", seg->log_path(),
                                                " holds offsets up to ", seg->next_offset() - 1,
                                                ", overlapping the next segment at ", next_base));
      }
      RETURN_IF_ERROR(seg->Seal());
    }
    segments_.push_back(std::move(seg));
  }
  // What we recovered may exist only in the page cache (the process died, the machine did not):
  // make it durable before anything new is acknowledged on top of it.
  for (const std::shared_ptr<Segment>& seg : scanned) RETURN_IF_ERROR(seg->Sync(io_.get()));
  return recovery_checkpoint_->Write(segments_.back()->next_offset());
}

namespace {

// Where appending threads encode their batches: per thread, so records are encoded and
// checksummed before the append lock is taken, and reused, so the steady state allocates
// nothing. (The log stamps BaseOffset and PartitionLeaderEpoch under the lock; both lie
// outside the CRC.)
struct BuildScratch {
  BatchBuilder builder;
  std::string batch;
  bool in_use = false;
};

// Keeps a thread's scratch buffers unless one batch made them larger than this.
constexpr size_t kMaxRetainedScratchBytes = 8 << 20;

// Lends the calling thread's scratch, or a fresh one if the thread is already using its own
// (an AppendAsync callback that appends again).
class ScratchLease {
 public:
  ScratchLease() {
    thread_local BuildScratch local;
    if (!local.in_use) {
      scratch_ = &local;
    } else {
      owned_ = std::make_unique<BuildScratch>();
      scratch_ = owned_.get();
    }
    scratch_->in_use = true;
  }
  ~ScratchLease() {
    scratch_->in_use = false;
    // The builder's buffer is the previous batch's storage: about as large.
    if (scratch_->batch.capacity() > kMaxRetainedScratchBytes) {
      std::string().swap(scratch_->batch);
      scratch_->builder = BatchBuilder();
    }
  }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  BuildScratch* operator->() const { return scratch_; }

 private:
  BuildScratch* scratch_;
  std::unique_ptr<BuildScratch> owned_;
};

}  // namespace

absl::Status Log::BuildBatch(absl::Span<const RecordToAppend> records, BatchBuilder* builder,
                             std::string* out) const {
  if (records.empty()) return absl::InvalidArgumentError("Append needs at least one record");
  const int64_t now = NowMs();
  builder->Reset(BatchBuilder::Options());
  for (const RecordToAppend& r : records) {
    builder->Add(r.timestamp == kNoTimestamp ? now : r.timestamp, r.key, r.value, r.headers);
  }
  builder->BuildInto(out);
  if (static_cast<int64_t>(out->size()) > options_.config.max_message_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch of ", records.size(), " records is ", out->size(),
                     " bytes, above max.message.bytes=", options_.config.max_message_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<AppendInfo> Log::Append(absl::Span<const RecordToAppend> records) {
  PendingAppend pending;
  {
    ScratchLease scratch;
    RETURN_IF_ERROR(BuildBatch(records, &scratch->builder, &scratch->batch));
    std::lock_guard lock(append_mu_);
    RETURN_IF_ERROR(AppendLocked(absl::MakeSpan(scratch->batch),
                                 DecodeBatchHeader(scratch->batch.data()),
                                 /*may_lead=*/true, &pending));
  }
  return Acknowledge(&pending);
}

void Log::AppendAsync(absl::Span<const RecordToAppend> records, AppendCallback done) {
  PendingAppend pending;
  absl::Status status;
  {
    ScratchLease scratch;
    status = BuildBatch(records, &scratch->builder, &scratch->batch);
    if (status.ok()) {
      std::lock_guard lock(append_mu_);
      status =
          AppendLocked(absl::MakeSpan(scratch->batch), DecodeBatchHeader(scratch->batch.data()),
                       /*may_lead=*/false, &pending);
    }
  }
  if (!status.ok()) return done(status);
  AcknowledgeAsync(&pending, std::move(done));
}

namespace {

absl::StatusOr<BatchHeader> ValidateForAppend(absl::Span<char> batch, const LogConfig& config) {
  ValidationOptions validation;
  validation.max_message_bytes = config.max_message_bytes;
  validation.from_client = false;
  BatchHeader header;
  BatchCheck check =
      ValidateBatch(absl::string_view(batch.data(), batch.size()), validation, &header);
  if (!check.ok()) return check.ToStatus();
  return header;
}

}  // namespace

absl::StatusOr<AppendInfo> Log::AppendBatch(absl::Span<char> batch) {
  ASSIGN_OR_RETURN(BatchHeader header, ValidateForAppend(batch, options_.config));
  PendingAppend pending;
  {
    std::lock_guard lock(append_mu_);
    RETURN_IF_ERROR(AppendLocked(batch, header, /*may_lead=*/true, &pending));
  }
  return Acknowledge(&pending);
}

void Log::AppendBatchAsync(absl::Span<char> batch, AppendCallback done) {
  absl::StatusOr<BatchHeader> header = ValidateForAppend(batch, options_.config);
  if (!header.ok()) return done(header.status());
  PendingAppend pending;
  absl::Status status;
  {
    std::lock_guard lock(append_mu_);
    status = AppendLocked(batch, *header, /*may_lead=*/false, &pending);
  }
  if (!status.ok()) return done(status);
  AcknowledgeAsync(&pending, std::move(done));
}

absl::StatusOr<AppendInfo> Log::AppendValidatedBatch(absl::Span<char> batch,
                                                     const BatchHeader& header) {
  PendingAppend pending;
  {
    std::lock_guard lock(append_mu_);
    RETURN_IF_ERROR(AppendLocked(batch, header, /*may_lead=*/false, &pending));
  }
  AfterAppend();
  if (options_.config.durability == DurabilityMode::kGroupCommit) commit_->SyncInBackground(0);
  return pending.info;
}

void Log::WhenDurable(int64_t end_offset, std::function<void(absl::Status)> done) {
  commit_->OnDurable(end_offset, std::move(done));
}

absl::Status Log::AppendLocked(absl::Span<char> batch, BatchHeader header, bool may_lead,
                               PendingAppend* pending) {
  // segments_ only changes under append_mu_, which we hold, so `active` stays valid.
  std::shared_ptr<Segment> active;
  {
    std::shared_lock l(structure_mu_);
    if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
    active = segments_.back();
  }
  if (absl::Status failed = commit_->failure(); !failed.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("log ", dir_, " stopped accepting appends after an fdatasync failed (",
                     failed.message(), "); reopen it to recover"));
  }
  if (header.size_bytes() > options_.config.segment_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch of ", header.size_bytes(), " bytes cannot fit in a segment of ",
                     "segment.bytes=", options_.config.segment_bytes, " (RECORD_LIST_TOO_LARGE)"));
  }
  const int64_t base_offset = end_offset_.load(std::memory_order_relaxed);
  SetBaseOffset(batch.data(), base_offset);
  SetPartitionLeaderEpoch(batch.data(), leader_epoch_.load());
  header.base_offset = base_offset;
  header.partition_leader_epoch = leader_epoch_.load();

  AppendInfo& info = pending->info;
  info.roll = active->ShouldRoll(header, NowMs());
  if (info.roll != RollReason::kNone) {
    RETURN_IF_ERROR(Roll(base_offset).status());
    std::shared_lock l(structure_mu_);
    active = segments_.back();
  }
  // In group_commit mode an appender that finds no sync running leads the next one, linking
  // it to its own write (one io_uring submission).
  pending->lead =
      may_lead && options_.config.durability == DurabilityMode::kGroupCommit && commit_->TryLead();
  absl::Status written = active->Append(absl::string_view(batch.data(), batch.size()), header,
                                        io_.get(), pending->lead ? &pending->sync : nullptr);
  if (!written.ok()) {
    if (pending->lead) commit_->FinishLead(commit_->durable_offset(), absl::OkStatus());
    return written;
  }
  pending->file = active->log_file();
  commit_->Written(active, header.last_offset() + 1, header.size_bytes(), pending->lead);
  end_offset_.store(header.last_offset() + 1, std::memory_order_release);
  info.base_offset = base_offset;
  info.last_offset = header.last_offset();
  info.max_timestamp = header.max_timestamp;
  info.size_bytes = header.size_bytes();
  return absl::OkStatus();
}

absl::StatusOr<AppendInfo> Log::Acknowledge(PendingAppend* pending) {
  const int64_t end = pending->info.last_offset + 1;
  if (pending->lead) {
    commit_->FinishLead(end, io_->WaitSync(pending->file.get(), &pending->sync));
  }
  if (options_.config.durability == DurabilityMode::kGroupCommit) {
    RETURN_IF_ERROR(commit_->WaitDurable(end));
  }
  AfterAppend();
  return pending->info;
}

void Log::AcknowledgeAsync(PendingAppend* pending, AppendCallback done) {
  assert(!pending->lead);
  AfterAppend();
  if (options_.config.durability != DurabilityMode::kGroupCommit) return done(pending->info);
  commit_->OnDurable(pending->info.last_offset + 1,
                     [info = pending->info, done = std::move(done)](absl::Status status) {
                       if (status.ok()) {
                         done(info);
                       } else {
                         done(status);
                       }
                     });
}

void Log::AfterAppend() {
  if (options_.config.durability != DurabilityMode::kInterval) return;
  if (commit_->unsynced_bytes() >= options_.config.flush_interval_bytes) {
    commit_->SyncInBackground(0);
  } else {
    commit_->SyncInBackground(options_.config.flush_interval_ms);
  }
}

absl::Status Log::Flush() {
  {
    std::shared_lock l(structure_mu_);
    if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
  }
  return commit_->SyncAll();
}

absl::StatusOr<Segment*> Log::Roll(int64_t new_base_offset) {
  ASSIGN_OR_RETURN(std::shared_ptr<Segment> next,
                   Segment::Create(options_.fs, dir_, new_base_offset, options_.config, NowMs()));
  // In group_commit mode the next append is acknowledged once its file is synced: the file's
  // name must be durable by then. (The other modes leave it to the background flush below.)
  if (options_.config.durability == DurabilityMode::kGroupCommit) {
    absl::Status synced = options_.fs->SyncDir(dir_);
    if (!synced.ok()) {
      next->DeleteFiles().IgnoreError();
      return synced;
    }
  }
  std::shared_ptr<Segment> sealed;
  {
    std::unique_lock l(structure_mu_);
    sealed = segments_.back();
    absl::Status status = sealed->Seal();
    if (!status.ok()) {
      next->DeleteFiles().IgnoreError();
      return status;
    }
    segments_.push_back(next);
  }
  // The sealed segment's trimmed indexes must reach the disk too before the recovery point
  // passes it. That, and its data in page_cache mode, happens in the background.
  commit_->Written(sealed, new_base_offset, 0, /*linked=*/false);
  std::weak_ptr<GroupCommit> weak_commit = commit_;
  std::weak_ptr<OffsetCheckpoint> weak_checkpoint = recovery_checkpoint_;
  // A Truncate or Close that writes the checkpoint first makes this advance stale.
  const uint64_t generation = recovery_checkpoint_->generation();
  Flusher::Global().Run([weak_commit, weak_checkpoint, new_base_offset, generation] {
    std::shared_ptr<GroupCommit> commit = weak_commit.lock();
    std::shared_ptr<OffsetCheckpoint> checkpoint = weak_checkpoint.lock();
    if (!commit || !checkpoint || !commit->SyncAll().ok()) return;
    // Everything below the new segment is durable, indexes included.
    checkpoint->Advance(new_base_offset, generation).IgnoreError();
  });
  return next.get();
}

absl::Status Log::Truncate(int64_t offset) {
  std::lock_guard append_lock(append_mu_);
  std::unique_lock l(structure_mu_);
  if (closed_) return absl::FailedPreconditionError(absl::StrCat("log ", dir_, " is closed"));
  if (offset >= end_offset_.load()) return absl::OkStatus();
  // No sync may touch a segment while it is cut.
  std::unique_lock pause = commit_->PauseSyncs();
  // Segments entirely at or above `offset` go; the one holding `offset` is cut and becomes
  // active.
  while (!segments_.empty() && segments_.back()->base_offset() >= offset &&
         (segments_.size() > 1 || segments_.back()->base_offset() > offset)) {
    RETURN_IF_ERROR(segments_.back()->DeleteFiles());
    segments_.pop_back();
  }
  if (!segments_.empty()) RETURN_IF_ERROR(segments_.back()->TruncateTo(offset).status());
  if (!segments_.empty() && segments_.back()->next_offset() < start_offset()) {
    // Nothing at or above the log start is left (`offset` is below it, or inside the batch
    // holding it): restart as below rather than leave the start above the end.
    for (const std::shared_ptr<Segment>& seg : segments_) RETURN_IF_ERROR(seg->DeleteFiles());
    segments_.clear();
  }
  if (segments_.empty()) {
    // Below the log start: restart the log at `offset`.
    ASSIGN_OR_RETURN(std::shared_ptr<Segment> fresh,
                     Segment::Create(options_.fs, dir_, offset, options_.config, NowMs()));
    segments_.push_back(std::move(fresh));
    start_offset_.store(offset, std::memory_order_release);
    RETURN_IF_ERROR(start_checkpoint_->Write(offset));
  }
  const int64_t end = segments_.back()->next_offset();
  end_offset_.store(end, std::memory_order_release);
  commit_->ResetTo(end);
  // A recovery point above the new end would make a later recovery skip the rewritten tail.
  RETURN_IF_ERROR(segments_.back()->Sync(io_.get()));
  return recovery_checkpoint_->Write(std::min(end, segments_.back()->base_offset()));
}

absl::Status Log::WriteCleanShutdown() {
  const std::shared_ptr<Segment>& active = segments_.back();
  Segment::ActiveState s = active->active_state();
  return WriteCheckpoint(
      options_.fs, JoinPath(dir_, kCleanShutdownFile),
      {absl::StrCat("active_base ", active->base_offset()), absl::StrCat("size ", s.size),
       absl::StrCat("next_offset ", s.next_offset),
       absl::StrCat("max_timestamp ", s.max_timestamp.timestamp, " ", s.max_timestamp.offset),
       absl::StrCat("rolling_base_timestamp ", s.rolling_base_timestamp)});
}

absl::Status Log::Close() {
  std::lock_guard append_lock(append_mu_);
  std::unique_lock l(structure_mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  if (segments_.empty()) return absl::OkStatus();  // Load failed
  // Data first, then trimmed and synced indexes, then the checkpoints, then the marker that
  // says all of it can be trusted without a scan.
  absl::Status status = commit_ ? commit_->SyncAll() : absl::OkStatus();
  if (status.ok()) status = segments_.back()->SealIndexesForClose();
  if (status.ok()) status = recovery_checkpoint_->Write(segments_.back()->next_offset());
  if (status.ok() && start_offset() != segments_.front()->base_offset()) {
    status = start_checkpoint_->Write(start_offset());
  }
  if (status.ok()) status = WriteCleanShutdown();
  for (const std::shared_ptr<Segment>& seg : segments_) status.Update(seg->Close());
  segments_.clear();
  return status;
}

}  // namespace varve
