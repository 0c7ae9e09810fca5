#include "log/segment_handle_cache.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace varve {

SegmentFiles::~SegmentFiles() {
  if (counted_by_ != nullptr) counted_by_->Closed();
}

SegmentHandleCache& SegmentHandleCache::Global() {
  static SegmentHandleCache* const cache = new SegmentHandleCache(kDefaultCapacity);
  return *cache;
}

SegmentHandleCache::SegmentHandleCache(int64_t capacity)
    : capacity_(std::max<int64_t>(capacity, 1)) {}

SegmentHandleCache::~SegmentHandleCache() {
  assert(lru_.empty());
  assert(open_.load() == 0);
}

SegmentHandleCache::Slot::~Slot() { cache_->Release(this); }

absl::Status SegmentHandleCache::SetCapacity(int64_t capacity) {
  if (capacity < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment handle budget must be at least 1, not ", capacity));
  }
  std::vector<std::shared_ptr<SegmentFiles>> victims;
  std::lock_guard lock(mu_);
  capacity_ = capacity;
  EvictLocked(&victims);
  // `victims` is declared before `lock`, so the handles close after the unlock.
  return absl::OkStatus();
}

int64_t SegmentHandleCache::capacity() const {
  std::lock_guard lock(mu_);
  return capacity_;
}

int64_t SegmentHandleCache::max_segments_per_read() const {
  return std::clamp<int64_t>(capacity() / 4, 1, 64);
}

SegmentHandleCache::Stats SegmentHandleCache::stats() const {
  std::lock_guard lock(mu_);
  Stats s;
  s.open = open_.load(std::memory_order_acquire);
  s.cached = static_cast<int64_t>(lru_.size());
  s.hits = hits_;
  s.misses = misses_;
  s.evictions = evictions_;
  return s;
}

void SegmentHandleCache::InsertLocked(Slot* slot, std::shared_ptr<SegmentFiles> files) {
  assert(slot->files_ == nullptr);
  if (files->counted_by_ == nullptr) {
    files->counted_by_ = this;
    open_.fetch_add(1, std::memory_order_acq_rel);
  }
  assert(files->counted_by_ == this);
  slot->files_ = std::move(files);
  lru_.push_front(slot);
  slot->lru_position_ = lru_.begin();
}

std::shared_ptr<SegmentFiles> SegmentHandleCache::RemoveLocked(Slot* slot) {
  if (slot->files_ == nullptr) return nullptr;
  lru_.erase(slot->lru_position_);
  return std::move(slot->files_);
}

void SegmentHandleCache::EvictLocked(std::vector<std::shared_ptr<SegmentFiles>>* victims) {
  // Handles already collected close when the caller drops them, unless pinned elsewhere.
  int64_t closing = 0;
  for (const std::shared_ptr<SegmentFiles>& victim : *victims) {
    if (victim != nullptr && victim.use_count() == 1) ++closing;
  }
  // Pins are only ever copied from files_ under mu_, so a use count of 1 seen here cannot grow
  // before the handle is out of the list: nobody is using it.
  int64_t excess = open_.load(std::memory_order_acquire) - closing - capacity_;
  for (auto it = lru_.end(); excess > 0 && it != lru_.begin();) {
    --it;
    Slot* slot = *it;
    if (slot->files_.use_count() != 1) continue;
    it = lru_.erase(it);
    victims->push_back(std::move(slot->files_));
    ++evictions_;
    --excess;
  }
}

absl::StatusOr<std::shared_ptr<const SegmentFiles>> SegmentHandleCache::Acquire(Slot* slot,
                                                                                Opener open) {
  {
    std::lock_guard lock(mu_);
    if (slot->files_ != nullptr) {
      lru_.splice(lru_.begin(), lru_, slot->lru_position_);
      ++hits_;
      return std::shared_ptr<const SegmentFiles>(slot->files_);
    }
  }
  std::lock_guard open_lock(slot->open_mu_);
  {
    // Another reader of this segment may have opened it while we waited.
    std::lock_guard lock(mu_);
    if (slot->files_ != nullptr) {
      lru_.splice(lru_.begin(), lru_, slot->lru_position_);
      ++hits_;
      return std::shared_ptr<const SegmentFiles>(slot->files_);
    }
    ++misses_;
  }
  absl::StatusOr<std::unique_ptr<SegmentFiles>> opened = open();
  if (!opened.ok()) return opened.status();
  std::shared_ptr<SegmentFiles> files = std::move(*opened);
  std::vector<std::shared_ptr<SegmentFiles>> victims;
  std::lock_guard lock(mu_);
  InsertLocked(slot, files);
  EvictLocked(&victims);
  return std::shared_ptr<const SegmentFiles>(std::move(files));
}

std::shared_ptr<const SegmentFiles> SegmentHandleCache::Peek(Slot* slot) {
  std::lock_guard lock(mu_);
  return slot->files_;
}

void SegmentHandleCache::Adopt(Slot* slot, std::shared_ptr<SegmentFiles> files) {
  std::lock_guard open_lock(slot->open_mu_);
  std::vector<std::shared_ptr<SegmentFiles>> victims;
  std::lock_guard lock(mu_);
  victims.push_back(RemoveLocked(slot));
  InsertLocked(slot, std::move(files));
  EvictLocked(&victims);
}

void SegmentHandleCache::Release(Slot* slot) {
  std::shared_ptr<SegmentFiles> dropped;
  std::lock_guard open_lock(slot->open_mu_);
  std::lock_guard lock(mu_);
  dropped = RemoveLocked(slot);
}

}  // namespace varve
