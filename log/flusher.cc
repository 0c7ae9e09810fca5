#include "log/flusher.h"

#include <chrono>

namespace varve {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Flusher& Flusher::Global() {
  static Flusher* const flusher = new Flusher();
  return *flusher;
}

Flusher::Flusher() : thread_([this] { Loop(); }) { thread_.detach(); }

void Flusher::RunAfterMs(int64_t delay_ms, std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    queue_.push(Item{NowNs() + delay_ms * 1'000'000, next_seq_++, std::move(task)});
  }
  cv_.notify_one();
}

void Flusher::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const int64_t wait_ns = queue_.top().deadline_ns - NowNs();
    if (wait_ns > 0) {
      cv_.wait_for(lock, std::chrono::nanoseconds(wait_ns));
      continue;
    }
    std::function<void()> task = std::move(const_cast<Item&>(queue_.top()).task);
    queue_.pop();
    running_ = true;
    lock.unlock();
    task();
    // Destroy it unlocked too: its captures may hold the last reference to a Log, whose
    // destructor takes locks under which appenders call into the flusher.
    task = nullptr;
    lock.lock();
    running_ = false;
    idle_cv_.notify_all();
  }
}

void Flusher::WaitUntilIdle(int64_t horizon_ms) {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] {
    return !running_ &&
           (queue_.empty() || queue_.top().deadline_ns > NowNs() + horizon_ms * 1'000'000);
  });
}

}  // namespace varve
