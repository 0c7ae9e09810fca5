#pragma once

// EventLoop: one thread running epoll over a set of file descriptors, plus a queue of tasks that
// any thread may post to it. The server runs a few of these; each connection lives on exactly
// one, so a connection's state is only ever touched by its loop's thread and needs no locks.
//
// Example:
//   ASSIGN_OR_RETURN(std::shared_ptr<EventLoop> loop, EventLoop::Create("net-0"));
//   loop->Start();
//   loop->Post([] { /* runs on the loop thread */ });
//   loop->Stop();  // runs the shutdown hook on the loop thread, drops queued tasks, joins
//
// Readiness is level-triggered. The connection code relies on two things that level-triggering
// makes simple and edge-triggering makes error-prone: (1) fairness, a connection reads and
// writes a bounded amount per wake-up and is told again next round if more is pending, without
// having to remember "there is more" itself; (2) back-pressure, a connection that must stop
// reading just drops EPOLLIN from its interest set and is woken when it is re-added, with no
// risk of losing an edge that fired while it was paused. The price is an epoll_ctl when the
// interest set changes (pausing, or arming EPOLLOUT after a short write), which is rare.
//
// Threading contract:
//   * Post() and IsLoopThread() may be called from any thread at any time, also after Stop():
//     then Post returns false and destroys the task on the calling thread.
//   * AddFd/ModifyFd/RemoveFd/ReleaseAfterEvents only on the loop thread (or before Start()).
//   * Start() and Stop() from a thread other than the loop thread; Stop() is idempotent.
//   * Tasks run on the loop thread in the order they were posted; a task posted by another task
//     runs in a later round, after the events of the next epoll_wait.
//   * Handlers must not block: everything else on the loop waits for them.
//   * An EventLoop may be destroyed on any thread once stopped (the last owner of the
//     shared_ptr may be a completed ResponseSlot on some worker thread).

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace varve::server {

class EventLoop {
 public:
  // Receives readiness events (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR bits) for one
  // registered descriptor, on the loop thread.
  class FdHandler {
   public:
    virtual ~FdHandler() = default;
    virtual void OnFdEvents(uint32_t events) = 0;
  };

  // `name` names the thread (at most 15 characters are kept).
  static absl::StatusOr<std::shared_ptr<EventLoop>> Create(std::string name);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs `hook` on the loop thread when Stop() is called, after the last round of events and
  // before queued tasks are dropped. Call before Start().
  void SetShutdownHook(absl::AnyInvocable<void()> hook);
  void Start();
  void Stop();

  // Queues `task` to run on the loop thread. Returns false if the loop has stopped (or is
  // stopping past the point of running tasks); the task is then destroyed here.
  bool Post(absl::AnyInvocable<void()> task);
  bool IsLoopThread() const;

  // Loop thread only. `handler` must stay alive until RemoveFd(fd) and the end of the current
  // round (see ReleaseAfterEvents).
  absl::Status AddFd(int fd, uint32_t events, FdHandler* handler);
  absl::Status ModifyFd(int fd, uint32_t events, FdHandler* handler);
  void RemoveFd(int fd);
  // Keeps `object` alive until the current round of events and tasks has been processed, so a
  // handler that removes itself is not destroyed while a later event of the same epoll_wait
  // batch still points at it.
  void ReleaseAfterEvents(std::shared_ptr<void> object);

 private:
  EventLoop(std::string name, int epoll_fd, int wake_fd);
  void Run();
  void RunTasks();
  void DrainWakeFd();

  const std::string name_;
  const int epoll_fd_;
  const int wake_fd_;   // eventfd; readable when tasks were posted from other threads
  std::mutex join_mu_;  // serializes joining in concurrent Stop() calls
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  absl::AnyInvocable<void()> shutdown_hook_;
  std::vector<std::shared_ptr<void>> release_after_events_;  // loop thread only

  std::mutex mu_;  // guards the fields below
  std::vector<absl::AnyInvocable<void()>> tasks_;
  bool wake_pending_ = false;    // wake_fd_ was written and not yet drained
  bool stop_requested_ = false;  // Stop() was called
  bool stopped_ = false;         // tasks are no longer run; Post fails
  bool started_ = false;
};

}  // namespace varve::server
