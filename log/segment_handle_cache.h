#pragma once

// SegmentHandleCache: the process-wide budget for the open files and memory mappings of sealed
// segments (design §2, style habit 7: nothing grows with the number of segments ever written;
// operators' view in docs/resources.md).
//
// One *handle* is what a segment needs open to be read: its `.log` descriptor and both index
// files, each index with its descriptor and its read-only mapping — 3 descriptors and 2
// mappings. The budget counts handles, not descriptors, so the descriptor bound is
// 3 × capacity() (plus 3 per active segment, which is appended to and stays open outside the
// budget). Sealed segments open their handle lazily on first use (Segment::PinFiles); when more
// handles are open than the budget allows, the least recently used ones that nobody is using are
// closed. A closed handle reopens on the next use.
//
// Pins: Acquire returns the handle as a shared_ptr — a *pin*. While any pin (or a pointer
// aliasing one, such as FileSlice::file) lives, the handle is never closed: the descriptors stay
// valid and the bytes stay readable, even after the segment's files are unlinked (retention,
// truncation). When every handle is pinned the budget is exceeded rather than anyone blocking;
// the excess is closed as soon as the pins go (at the next eviction). Handles that left the cache
// while pinned (their segment was deleted, reactivated or closed) still count against the budget
// until their last pin goes, so open() is the true number of open handles.
//
// Configuration: Global() starts with kDefaultCapacity (4096 handles: 12,288 descriptors and
// 8,192 mappings, below the usual 65,530 vm.max_map_count). Embedders and the broker set their
// own before or after opening logs; tests use a small one:
//   SegmentHandleCache::Global().SetCapacity(16).IgnoreError();
// A Log::Read returns slices from at most max_segments_per_read() segments, so one reader pins a
// bounded share of the budget (its slices pin their handles until the caller drops them).
//
// Example (what Segment does):
//   SegmentHandleCache& cache = SegmentHandleCache::Global();
//   SegmentHandleCache::Slot slot_{&cache};  // one per segment, for its lifetime
//   cache.Adopt(&slot_, files);              // on Seal: the open files become a cached handle
//   ASSIGN_OR_RETURN(std::shared_ptr<const SegmentFiles> pin,
//                    cache.Acquire(&slot_, [&] { return OpenForRead(); }));
//   ... read through pin->log, pin->offset_index ...; the pin goes, the handle may be closed.
//
// Concurrency: thread-safe. Hits take one short global lock (to move the handle to the front of
// the LRU list and copy the pin). A miss opens the files holding only its own slot's lock, so
// misses on different segments open in parallel and concurrent misses on one segment open it
// once. Evicted handles are closed after the lock is released, on the thread whose miss or
// SetCapacity evicted them (close(2) and munmap(2); never an fsync).
//
// Errors: Acquire returns the opener's status unchanged, and then caches nothing; SetCapacity
// returns InvalidArgument below 1.
//
// Lifetime: a cache must outlive its slots and every handle it counted (Global() is never
// destroyed).

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/file.h"
#include "index/offset_index.h"
#include "index/time_index.h"

namespace varve {

class SegmentHandleCache;

// The open files of one segment: a handle.
struct SegmentFiles {
  SegmentFiles() = default;
  ~SegmentFiles();
  SegmentFiles(const SegmentFiles&) = delete;
  SegmentFiles& operator=(const SegmentFiles&) = delete;

  std::unique_ptr<File> log;
  std::unique_ptr<OffsetIndex> offset_index;
  std::unique_ptr<TimeIndex> time_index;
  // Opened for appends (an active segment's files, which stay so after it is sealed): the index
  // files are open read-write, so flushing them makes them durable. A handle opened lazily for
  // a sealed segment is read-only.
  bool writable = false;

 private:
  friend class SegmentHandleCache;
  SegmentHandleCache* counted_by_ = nullptr;  // set once counted; notified on destruction
};

class SegmentHandleCache {
 public:
  static constexpr int64_t kDefaultCapacity = 4096;

  // The process-wide cache every Segment uses. Never destroyed.
  static SegmentHandleCache& Global();

  explicit SegmentHandleCache(int64_t capacity = kDefaultCapacity);
  ~SegmentHandleCache();
  SegmentHandleCache(const SegmentHandleCache&) = delete;
  SegmentHandleCache& operator=(const SegmentHandleCache&) = delete;

  // Sets the budget in handles and closes unpinned handles down to it at once. InvalidArgument
  // below 1.
  absl::Status SetCapacity(int64_t capacity);
  int64_t capacity() const;
  // How many segments one Log::Read may return slices from: a quarter of the budget, at least
  // 1 and at most 64.
  int64_t max_segments_per_read() const;

  struct Stats {
    int64_t open = 0;    // handles open now: cached, plus pinned ones that left the cache
    int64_t cached = 0;  // handles in the LRU list
    int64_t hits = 0;    // Acquire found the handle open
    int64_t misses = 0;  // Acquire opened it
    int64_t evictions = 0;
  };
  Stats stats() const;
  // Stats().open, without the lock.
  int64_t open() const { return open_.load(std::memory_order_acquire); }

  // One segment's place in the cache: at most one cached handle. The owner (a Segment) keeps
  // it for its lifetime; destroying it drops the cached handle (pins keep it open).
  class Slot {
   public:
    explicit Slot(SegmentHandleCache* cache) : cache_(cache) {}
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    friend class SegmentHandleCache;
    SegmentHandleCache* const cache_;
    // Held while this slot's files are opened, adopted or released, so that happens once.
    std::mutex open_mu_;
    // Guarded by the cache's mu_. Non-null exactly while the slot is in the LRU list.
    std::shared_ptr<SegmentFiles> files_;
    std::list<Slot*>::iterator lru_position_;
  };

  using Opener = absl::FunctionRef<absl::StatusOr<std::unique_ptr<SegmentFiles>>()>;

  // The slot's handle, pinned, as the most recently used. If it is not open, `open` opens it (a
  // miss; its error is returned and nothing is cached), and unpinned least recently used handles
  // are closed while the budget is exceeded.
  absl::StatusOr<std::shared_ptr<const SegmentFiles>> Acquire(Slot* slot, Opener open);

  // The slot's handle if it is open, pinned, without counting as a use (it keeps its place in
  // the LRU order); null if it is not open. For work that should not open files nor evict a
  // reader's handle (a background fdatasync).
  std::shared_ptr<const SegmentFiles> Peek(Slot* slot);

  // Makes `files` (already open: a segment just sealed) the slot's cached handle, the most
  // recently used, replacing any other; then evicts as Acquire does.
  void Adopt(Slot* slot, std::shared_ptr<SegmentFiles> files);

  // Drops the slot's cached handle (the segment was deleted, reactivated for appends or closed).
  // It closes now unless pinned, then when the last pin goes.
  void Release(Slot* slot);

 private:
  // Requires mu_. Puts `files` in the slot and at the front of the list; counts it if new.
  void InsertLocked(Slot* slot, std::shared_ptr<SegmentFiles> files);
  // Requires mu_. Removes the slot's handle from the list and returns it.
  std::shared_ptr<SegmentFiles> RemoveLocked(Slot* slot);
  // Requires mu_. Moves unpinned handles from the back of the list into *victims until the
  // budget holds (or only pinned ones are left); the caller destroys them after unlocking.
  void EvictLocked(std::vector<std::shared_ptr<SegmentFiles>>* victims);
  void Closed() { open_.fetch_sub(1, std::memory_order_acq_rel); }
  friend struct SegmentFiles;

  mutable std::mutex mu_;
  int64_t capacity_;              // guarded by mu_
  std::list<Slot*> lru_;          // guarded by mu_; most recently used first
  int64_t hits_ = 0;              // guarded by mu_
  int64_t misses_ = 0;            // guarded by mu_
  int64_t evictions_ = 0;         // guarded by mu_
  std::atomic<int64_t> open_{0};  // handles counted and not yet destroyed
};

}  // namespace varve
