#include "log/group_commit.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <limits>
#include <utility>

#include "log/flusher.h"

namespace varve {

void GroupCommit::Written(const std::shared_ptr<Segment>& segment, int64_t end_offset,
                          int64_t bytes, bool linked) {
  std::lock_guard lock(mu_);
  written_ = std::max(written_, end_offset);
  if (linked) return;
  unsynced_bytes_ += bytes;
  if (std::find(dirty_.begin(), dirty_.end(), segment) == dirty_.end()) {
    dirty_.push_back(segment);
  }
}

bool GroupCommit::TryLead() {
  std::lock_guard lock(mu_);
  if (syncing_ || !dirty_.empty() || !failure_.ok()) return false;
  syncing_ = true;
  resets_at_sync_start_ = resets_;
  return true;
}

void GroupCommit::FinishLead(int64_t end_offset, const absl::Status& status) {
  std::unique_lock lock(mu_);
  Complete(lock, end_offset, status);
}

void GroupCommit::LeadSync(std::unique_lock<std::mutex>& lock) {
  syncing_ = true;
  resets_at_sync_start_ = resets_;
  const int64_t target = written_;
  std::vector<std::shared_ptr<Segment>> files = std::move(dirty_);
  dirty_.clear();
  const int64_t bytes = unsynced_bytes_;
  lock.unlock();
  absl::Status status;
  {
    std::lock_guard pause(sync_files_mu_);
    for (const std::shared_ptr<Segment>& seg : files) {
      status = seg->Sync(io_.get());
      if (!status.ok()) break;
    }
  }
  lock.lock();
  unsynced_bytes_ -= std::min(unsynced_bytes_, bytes);
  Complete(lock, target, status);
}

void GroupCommit::Complete(std::unique_lock<std::mutex>& lock, int64_t target,
                           const absl::Status& status) {
  syncing_ = false;
  if (status.ok()) {
    if (resets_at_sync_start_ == resets_) durable_ = std::max(durable_, target);
  } else if (failure_.ok()) {
    failure_ = status;
  }
  std::vector<std::pair<int64_t, Callback>> ready;
  while (!callbacks_.empty() && (!failure_.ok() || callbacks_.front().first <= durable_)) {
    ready.push_back(std::move(callbacks_.front()));
    callbacks_.pop_front();
  }
  const bool more = !callbacks_.empty();
  cv_.notify_all();
  const absl::Status result = failure_;
  lock.unlock();
  for (auto& [end, done] : ready) done(result);
  if (more) ScheduleBackgroundSync();
  lock.lock();
}

absl::Status GroupCommit::WaitDurable(int64_t end_offset) {
  std::unique_lock lock(mu_);
  // A Truncate (ResetTo) may have removed the end of what we wait for.
  while (durable_ < std::min(end_offset, written_) && failure_.ok()) {
    if (!syncing_) {
      LeadSync(lock);
    } else {
      cv_.wait(lock);
    }
  }
  return failure_;
}

void GroupCommit::OnDurable(int64_t end_offset, Callback done) {
  {
    std::lock_guard lock(mu_);
    if (durable_ < end_offset && failure_.ok()) {
      // Kept sorted so callbacks complete in offset order. Appends usually arrive in order, but
      // Log::WhenDurable callers on different threads may ask out of order.
      auto it = callbacks_.end();
      while (it != callbacks_.begin() && std::prev(it)->first > end_offset) --it;
      callbacks_.emplace(it, end_offset, std::move(done));
      done = nullptr;
    }
  }
  if (done) {
    done(failure());
    return;
  }
  ScheduleBackgroundSync();
}

void GroupCommit::SyncInBackground(int64_t delay_ms) {
  const int64_t deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count() +
                           delay_ms;
  {
    std::lock_guard lock(mu_);
    // One pending request at a time, unless this one is due sooner (interval mode asks for a
    // sync in flush.ms, then for one now when enough bytes pile up).
    if (background_deadline_ms_ <= deadline) return;
    background_deadline_ms_ = deadline;
  }
  std::weak_ptr<GroupCommit> weak = weak_from_this();
  Flusher::Global().RunAfterMs(delay_ms, [weak, deadline] {
    std::shared_ptr<GroupCommit> self = weak.lock();
    if (!self) return;
    {
      std::lock_guard lock(self->mu_);
      if (self->background_deadline_ms_ == deadline) {
        self->background_deadline_ms_ = std::numeric_limits<int64_t>::max();
      }
    }
    self->SyncAll().IgnoreError();  // the error reaches waiters and callbacks
  });
}

absl::Status GroupCommit::SyncAll() {
  std::unique_lock lock(mu_);
  const int64_t target = written_;
  while (durable_ < std::min(target, written_) && failure_.ok()) {
    if (!syncing_) {
      LeadSync(lock);
    } else {
      cv_.wait(lock);
    }
  }
  // Sealed segments may need their indexes synced even when no new offsets were written.
  if (failure_.ok() && !dirty_.empty() && !syncing_) LeadSync(lock);
  return failure_;
}

int64_t GroupCommit::durable_offset() const {
  std::lock_guard lock(mu_);
  return durable_;
}

int64_t GroupCommit::unsynced_bytes() const {
  std::lock_guard lock(mu_);
  return unsynced_bytes_;
}

absl::Status GroupCommit::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

void GroupCommit::ResetTo(int64_t offset) {
  std::lock_guard lock(mu_);
  written_ = std::min(written_, offset);
  durable_ = std::min(durable_, offset);
  ++resets_;
  cv_.notify_all();
}

}  // namespace varve
