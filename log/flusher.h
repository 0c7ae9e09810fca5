#pragma once

// Flusher: the process-wide background thread that runs the engine's deferred disk work —
// fdatasyncs that no appender waits for (sealed segments, interval flushes, completion
// callbacks) and checkpoint writes — so that no fsync runs on an appender's or a network
// thread unless that thread asked to wait for it.
//
// Example:
//   Flusher::Global().RunAfter(absl::Milliseconds(100), [weak] { if (auto p = weak.lock()) ...; });
//
// Thread-safe. Tasks run one at a time, in deadline order, on one thread; a task must not block
// on another task. Tasks still queued at process exit are dropped (the owners flush on close).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace varve {

class Flusher {
 public:
  static Flusher& Global();

  // Runs `task` as soon as the thread is free.
  void Run(std::function<void()> task) { RunAfterMs(0, std::move(task)); }
  // Runs `task` no earlier than `delay_ms` from now.
  void RunAfterMs(int64_t delay_ms, std::function<void()> task);
  // Blocks until no task is running and none is due within `horizon_ms` (tests, before they
  // simulate a crash, so no background sync runs in the middle of it).
  void WaitUntilIdle(int64_t horizon_ms = 0);

 private:
  Flusher();
  ~Flusher() = delete;  // lives for the whole process
  void Loop();

  struct Item {
    int64_t deadline_ns;
    uint64_t seq;
    std::function<void()> task;
    bool operator>(const Item& o) const {
      return deadline_ns != o.deadline_ns ? deadline_ns > o.deadline_ns : seq > o.seq;
    }
  };
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> queue_;
  uint64_t next_seq_ = 0;
  bool running_ = false;
  std::condition_variable idle_cv_;
  std::thread thread_;
};

}  // namespace varve
