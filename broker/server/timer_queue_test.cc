#include "broker/server/timer_queue.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace varve::server {
namespace {

// Counts down to zero; Wait gives up after 30 s so a bug fails instead of hanging.
class Latch {
 public:
  explicit Latch(int count) : count_(count) {}
  void CountDown() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--count_ <= 0) cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return count_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_;
};

TEST(TimerQueueTest, CallbackFiresOnTheTimerThread) {
  TimerQueue timers;
  Latch fired(1);
  std::thread::id ran_on;
  timers.Schedule(absl::Milliseconds(5), [&] {
    ran_on = std::this_thread::get_id();
    fired.CountDown();
  });
  ASSERT_TRUE(fired.Wait());
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(TimerQueueTest, ZeroAndNegativeDelaysFire) {
  TimerQueue timers;
  Latch fired(2);
  timers.Schedule(absl::ZeroDuration(), [&] { fired.CountDown(); });
  timers.Schedule(absl::Seconds(-5), [&] { fired.CountDown(); });
  EXPECT_TRUE(fired.Wait());
}

TEST(TimerQueueTest, FiresInDeadlineOrder) {
  TimerQueue timers;
  std::mutex mu;
  std::vector<int> order;
  Latch fired(3);
  auto record = [&](int value) {
    return [&, value] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(value);
      fired.CountDown();
    };
  };
  // Even if the machine stalls and all three become due together, they run in deadline order.
  timers.Schedule(absl::Milliseconds(60), record(3));
  timers.Schedule(absl::Milliseconds(20), record(1));
  timers.Schedule(absl::Milliseconds(40), record(2));
  ASSERT_TRUE(fired.Wait());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(TimerQueueTest, CancelBeforeFiringDestroysTheCallbackWithoutRunningIt) {
  TimerQueue timers;
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> weak = token;
  std::atomic<bool> ran{false};
  TimerId id = timers.Schedule(absl::Hours(1), [token = std::move(token), &ran] { ran = true; });
  EXPECT_NE(id, kNoTimer);
  EXPECT_EQ(timers.pending(), 1u);
  EXPECT_TRUE(timers.Cancel(id));
  EXPECT_TRUE(weak.expired());
  EXPECT_FALSE(ran);
  EXPECT_EQ(timers.pending(), 0u);
  EXPECT_FALSE(timers.Cancel(id));
}

TEST(TimerQueueTest, CancelAfterFiringReturnsFalse) {
  TimerQueue timers;
  Latch fired(1);
  TimerId id = timers.Schedule(absl::ZeroDuration(), [&] { fired.CountDown(); });
  ASSERT_TRUE(fired.Wait());
  EXPECT_FALSE(timers.Cancel(id));
}

TEST(TimerQueueTest, CancelOfUnknownIdReturnsFalse) {
  TimerQueue timers;
  EXPECT_FALSE(timers.Cancel(kNoTimer));
  EXPECT_FALSE(timers.Cancel(12345));
}

TEST(TimerQueueTest, CallbackMayScheduleAndCancel) {
  TimerQueue timers;
  Latch fired(1);
  std::atomic<bool> cancelled_ran{false};
  timers.Schedule(absl::ZeroDuration(), [&] {
    TimerId doomed = timers.Schedule(absl::Hours(1), [&] { cancelled_ran = true; });
    EXPECT_TRUE(timers.Cancel(doomed));
    timers.Schedule(absl::Milliseconds(1), [&] { fired.CountDown(); });
  });
  EXPECT_TRUE(fired.Wait());
  EXPECT_FALSE(cancelled_ran);
}

TEST(TimerQueueTest, ScheduleFromManyThreads) {
  TimerQueue timers;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  Latch fired(kThreads * kPerThread);
  std::atomic<int> count{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        timers.Schedule(absl::Microseconds((i * 37 + t * 11) % 3000), [&] {
          count.fetch_add(1);
          fired.CountDown();
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(fired.Wait());
  EXPECT_EQ(count.load(), kThreads * kPerThread);
}

TEST(TimerQueueTest, CancelRacingWithFiringRunsOrCancelsExactlyOnce) {
  TimerQueue timers;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::atomic<int> ran{0};
  std::atomic<int> cancelled{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        TimerId id = timers.Schedule(absl::Microseconds((i + t) % 200), [&] { ran.fetch_add(1); });
        if (i % 3 != 0 && timers.Cancel(id)) cancelled.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // Whatever was not cancelled fires eventually.
  for (int i = 0; i < 3000 && ran.load() + cancelled.load() < kThreads * kPerThread; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ran.load() + cancelled.load(), kThreads * kPerThread);
}

TEST(TimerQueueTest, StopDropsPendingCallbacksAndLaterSchedules) {
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> weak = token;
  std::atomic<bool> ran{false};
  TimerQueue timers;
  timers.Schedule(absl::Hours(1), [token = std::move(token), &ran] { ran = true; });
  timers.Stop();
  EXPECT_TRUE(weak.expired());
  EXPECT_FALSE(ran);

  auto late = std::make_shared<int>(0);
  std::weak_ptr<int> weak_late = late;
  EXPECT_EQ(timers.Schedule(absl::ZeroDuration(), [late = std::move(late), &ran] { ran = true; }),
            kNoTimer);
  EXPECT_TRUE(weak_late.expired());
  EXPECT_FALSE(timers.Cancel(1));
  timers.Stop();  // idempotent
  EXPECT_FALSE(ran);
}

TEST(TimerQueueTest, StopWaitsForARunningCallback) {
  TimerQueue timers;
  Latch started(1);
  std::atomic<bool> finished{false};
  timers.Schedule(absl::ZeroDuration(), [&] {
    started.CountDown();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    finished = true;
  });
  ASSERT_TRUE(started.Wait());
  timers.Stop();
  EXPECT_TRUE(finished);
}

}  // namespace
}  // namespace varve::server
