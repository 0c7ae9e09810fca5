#pragma once

// GroupCommit: what is written versus what is durable for one log, and the group commit that
// moves one to the other.
//
// Appenders report each written batch (Written). Whoever needs durability — an appender waiting
// in group_commit mode, the background flusher for callbacks, interval flushes and sealed
// segments, or Close — asks for it; if no fdatasync is running, the asker becomes the leader:
// it takes every dirty segment, syncs them outside the lock, and on success advances the
// durable offset to what had been written when it started, releasing every waiter whose batch
// that covers. Waiters arriving meanwhile ride on the next sync, so N concurrent appenders cost
// about one fdatasync per sync duration, not N.
//
// An appender that finds no sync running and nothing dirty may lead with its own write
// (TryLead): it writes with a linked fdatasync (one io_uring submission) and reports the result
// with FinishLead.
//
// Failure is sticky: after a failed fdatasync the kernel may have dropped the dirty pages while
// marking them clean, so a later successful fdatasync proves nothing. Every later wait returns
// the original error; the log must be reopened (and recovered) to accept durable appends again.
//
// Thread-safe.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "log/io_backend.h"
#include "log/segment.h"

namespace varve {

// Held by shared_ptr: background syncs keep it (and the I/O backend) alive while they run.
class GroupCommit : public std::enable_shared_from_this<GroupCommit> {
 public:
  using Callback = std::function<void(absl::Status)>;

  GroupCommit(std::shared_ptr<IoBackend> io, int64_t durable_offset)
      : io_(std::move(io)), written_(durable_offset), durable_(durable_offset) {}

  // The appender wrote a batch ending just below `end_offset` into `segment`; `linked` when the
  // write carried the leader's linked sync (see TryLead), so it needs no other.
  void Written(const std::shared_ptr<Segment>& segment, int64_t end_offset, int64_t bytes,
               bool linked);

  // True if the caller may write its next batch with a linked sync: no sync is running and
  // nothing written is waiting for one. The caller must then call FinishLead.
  bool TryLead();
  // The leader's linked sync covering everything below `end_offset` finished with `status`.
  void FinishLead(int64_t end_offset, const absl::Status& status);

  // Blocks until everything below `end_offset` is durable (leading syncs as needed).
  absl::Status WaitDurable(int64_t end_offset);
  // Calls `done` (on some thread) once everything below `end_offset` is durable, or with the
  // error that prevents it. Schedules a background sync if none would otherwise happen.
  void OnDurable(int64_t end_offset, Callback done);
  // Syncs everything written so far, waiting for a running sync first.
  absl::Status SyncAll();
  // Runs SyncAll on the background flusher within `delay_ms` (interval mode). At most one such
  // request is pending at a time.
  void SyncInBackground(int64_t delay_ms);
  // Holds off syncs (Log::Truncate cuts files that a sync could otherwise be touching).
  std::unique_lock<std::mutex> PauseSyncs() { return std::unique_lock(sync_files_mu_); }

  int64_t durable_offset() const;
  int64_t unsynced_bytes() const;
  absl::Status failure() const;

  // Moves the durable and written offsets back after Log::Truncate.
  void ResetTo(int64_t offset);

 private:
  // Requires mu_ held and !syncing_; releases it while syncing and runs ready callbacks.
  void LeadSync(std::unique_lock<std::mutex>& lock);
  void Complete(std::unique_lock<std::mutex>& lock, int64_t target, const absl::Status& status);
  void ScheduleBackgroundSync() { SyncInBackground(0); }

  const std::shared_ptr<IoBackend> io_;
  mutable std::mutex mu_;
  // Held by a leader while it syncs files; see PauseSyncs.
  std::mutex sync_files_mu_;
  std::condition_variable cv_;
  int64_t written_;
  int64_t durable_;
  int64_t unsynced_bytes_ = 0;
  bool syncing_ = false;
  // ResetTo calls so far, and their count when the running sync started: a sync that a reset
  // overtook proves nothing about the offsets written after the reset.
  int64_t resets_ = 0;
  int64_t resets_at_sync_start_ = 0;
  // When the pending background sync is due (steady clock, ms); max when none is.
  int64_t background_deadline_ms_ = std::numeric_limits<int64_t>::max();
  absl::Status failure_;
  std::vector<std::shared_ptr<Segment>> dirty_;
  std::deque<std::pair<int64_t, Callback>> callbacks_;
};

}  // namespace varve
