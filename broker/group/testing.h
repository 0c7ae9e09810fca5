#pragma once

// Test doubles for the coordinator: a manual clock with timers, and an in-memory GroupStore
// whose appends complete when the test says so (or at once).

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "broker/group/coordinator.h"
#include "broker/group/group_store.h"

namespace varve::broker::group {

// Timers driven by Advance(); callbacks run on the caller's thread, in deadline order.
class FakeTimers : public GroupTimers {
 public:
  int64_t now() const {
    std::lock_guard lock(mu_);
    return now_;
  }
  uint64_t Schedule(int64_t delay_ms, std::function<void()> fn) override {
    std::lock_guard lock(mu_);
    const uint64_t id = ++next_id_;
    timers_[{now_ + std::max<int64_t>(delay_ms, 0), id}] = std::move(fn);
    return id;
  }
  bool Cancel(uint64_t id) override {
    std::lock_guard lock(mu_);
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return true;
      }
    }
    return false;
  }
  // Moves the clock forward by `ms`, running every timer that comes due on the way.
  void Advance(int64_t ms) {
    int64_t target;
    {
      std::lock_guard lock(mu_);
      target = now_ + ms;
    }
    while (true) {
      std::function<void()> fn;
      {
        std::lock_guard lock(mu_);
        if (timers_.empty() || timers_.begin()->first.first > target) {
          now_ = target;
          return;
        }
        auto it = timers_.begin();
        now_ = std::max(now_, it->first.first);
        fn = std::move(it->second);
        timers_.erase(it);
      }
      fn();
    }
  }
  size_t pending() const {
    std::lock_guard lock(mu_);
    return timers_.size();
  }

 private:
  mutable std::mutex mu_;
  int64_t now_ = 1'000'000;
  uint64_t next_id_ = 0;
  std::map<std::pair<int64_t, uint64_t>, std::function<void()>> timers_;
};

// Keeps every appended record; completes appends on Complete(), or at once inside Append with
// auto_complete (which bends GroupStore's "never inside Append" rule: the coordinator copes,
// since Commit appends outside its lock and SyncGroup's persist notices an inline completion).
class MemoryGroupStore : public GroupStore {
 public:
  bool auto_complete = true;
  absl::Status fail_with;  // completes appends with this when set

  void Append(std::vector<CoordinatorRecord> records,
              std::function<void(absl::Status)> done) override {
    std::unique_lock lock(mu_);
    for (auto& r : records) appended_.push_back(r);
    queued_.push_back(std::move(done));
    if (auto_complete) {
      lock.unlock();
      Complete();
    }
  }
  // Completes every queued append, in order, on this thread.
  void Complete() {
    std::deque<std::function<void(absl::Status)>> q;
    absl::Status status;
    {
      std::lock_guard lock(mu_);
      q.swap(queued_);
      status = fail_with;
    }
    for (auto& done : q) done(status);
  }
  std::vector<CoordinatorRecord> appended() const {
    std::lock_guard lock(mu_);
    return appended_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<CoordinatorRecord> appended_;
  std::deque<std::function<void(absl::Status)>> queued_;
};

}  // namespace varve::broker::group
