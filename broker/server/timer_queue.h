#pragma once

// TimerQueue: runs callbacks after a delay on one dedicated thread; schedule and cancel from any
// thread. The broker uses it for Fetch MaxWaitMs and Produce TimeoutMs: the callback completes
// the parked ResponseSlot (which only posts to the connection's loop).
//
// Example:
//   TimerId id = timers->Schedule(absl::Milliseconds(max_wait_ms),
//                                 [slot = std::move(slot)]() mutable { slot.Send(Empty()); });
//   ...
//   if (timers->Cancel(id)) { /* it will not run; its callback was destroyed by Cancel */ }
//
// Where callbacks run: on the TimerQueue's own thread, never on a network loop thread, one at a
// time, in deadline order (ties in scheduling order). A callback may block briefly, but every
// other timer waits behind it; hand long or blocking work to another executor. Callbacks may
// call Schedule and Cancel (no lock is held while they run).
//
// Cancel contract: returns true if the timer had not started; its callback is then destroyed
// before Cancel returns, on the calling thread (so Cancel must not be called with a lock that the
// callback's destructor takes). Returns false if the callback already started or finished, or
// the id is unknown; Cancel never waits for a running callback.
//
// Stop(): pending callbacks are destroyed without running (on the stopping thread) and a
// running one is waited for; afterwards Schedule destroys the callback at once and returns
// kNoTimer, Cancel returns false. Stop must not be called from a callback.

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace varve::server {

using TimerId = uint64_t;
inline constexpr TimerId kNoTimer = 0;

class TimerQueue {
 public:
  TimerQueue();   // starts the thread
  ~TimerQueue();  // Stop()
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `callback` once, `after` from now (zero or negative: as soon as possible).
  TimerId Schedule(absl::Duration after, absl::AnyInvocable<void()> callback);
  bool Cancel(TimerId id);
  void Stop();

  // Timers scheduled and neither run, running nor cancelled.
  size_t pending() const;

 private:
  using Clock = std::chrono::steady_clock;
  using Key = std::pair<Clock::time_point, TimerId>;

  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, absl::AnyInvocable<void()>> timers_;          // guarded by mu_
  std::unordered_map<TimerId, Clock::time_point> deadlines_;  // guarded by mu_
  TimerId next_id_ = 1;                                       // guarded by mu_
  bool stopping_ = false;                                     // guarded by mu_
  std::mutex join_mu_;
  std::thread thread_;
};

}  // namespace varve::server
