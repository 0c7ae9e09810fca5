#include "broker/server/timer_queue.h"

#include <pthread.h>

#include <algorithm>
#include <vector>

namespace varve::server {

TimerQueue::TimerQueue() : thread_([this] { Run(); }) {}

TimerQueue::~TimerQueue() { Stop(); }

TimerId TimerQueue::Schedule(absl::Duration after, absl::AnyInvocable<void()> callback) {
  // Saturate instead of overflowing: a year is "never" for a request timeout.
  absl::Duration delay = std::clamp(after, absl::ZeroDuration(), absl::Hours(24 * 365));
  Clock::time_point deadline = Clock::now() + absl::ToChronoNanoseconds(delay);
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    lock.unlock();
    callback = nullptr;  // destroyed without the lock: it may own slots that post
    return kNoTimer;
  }
  TimerId id = next_id_++;
  bool earliest = timers_.empty() || Key(deadline, id) < timers_.begin()->first;
  timers_.emplace(Key(deadline, id), std::move(callback));
  deadlines_.emplace(id, deadline);
  lock.unlock();
  if (earliest) cv_.notify_one();
  return id;
}

bool TimerQueue::Cancel(TimerId id) {
  absl::AnyInvocable<void()> callback;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = deadlines_.find(id);
    if (it == deadlines_.end()) return false;
    auto node = timers_.extract(Key(it->second, id));
    deadlines_.erase(it);
    callback = std::move(node.mapped());
  }
  return true;  // `callback` is destroyed here, outside the lock
}

void TimerQueue::Stop() {
  std::map<Key, absl::AnyInvocable<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped.swap(timers_);
    deadlines_.clear();
  }
  cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(join_mu_);
    if (thread_.joinable()) thread_.join();
  }
  dropped.clear();
}

size_t TimerQueue::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return timers_.size();
}

void TimerQueue::Run() {
  ::pthread_setname_np(::pthread_self(), "varve-timers");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    Clock::time_point deadline = timers_.begin()->first.first;
    if (Clock::now() < deadline) {
      cv_.wait_until(lock, deadline);
      continue;
    }
    auto node = timers_.extract(timers_.begin());
    deadlines_.erase(node.key().second);
    absl::AnyInvocable<void()> callback = std::move(node.mapped());
    lock.unlock();
    callback();
    callback = nullptr;  // destroyed before re-locking: its destructor may schedule or cancel
    lock.lock();
  }
}

}  // namespace varve::server
