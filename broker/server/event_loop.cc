#include "broker/server/event_loop.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/server/server_log.h"

namespace varve::server {
namespace {

constexpr int kMaxEventsPerWait = 128;

}  // namespace

absl::StatusOr<std::shared_ptr<EventLoop>> EventLoop::Create(std::string name) {
  int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    int error = errno;
    ::close(epoll_fd);
    return absl::ErrnoToStatus(error, "eventfd");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // marks the wake-up descriptor
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &event) != 0) {
    int error = errno;
    ::close(wake_fd);
    ::close(epoll_fd);
    return absl::ErrnoToStatus(error, "epoll_ctl(eventfd)");
  }
  return std::shared_ptr<EventLoop>(new EventLoop(std::move(name), epoll_fd, wake_fd));
}

EventLoop::EventLoop(std::string name, int epoll_fd, int wake_fd)
    : name_(std::move(name)), epoll_fd_(epoll_fd), wake_fd_(wake_fd) {}

EventLoop::~EventLoop() {
  assert(!IsLoopThread());
  Stop();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void EventLoop::SetShutdownHook(absl::AnyInvocable<void()> hook) {
  shutdown_hook_ = std::move(hook);
}

void EventLoop::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_ || stop_requested_) return;
    started_ = true;
  }
  std::lock_guard<std::mutex> lock(join_mu_);
  thread_ = std::thread([this] { Run(); });
}

void EventLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      stopped_ = true;
      stop_requested_ = true;
      return;
    }
    if (!stop_requested_) {
      stop_requested_ = true;
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    }
  }
  std::lock_guard<std::mutex> lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

bool EventLoop::Post(absl::AnyInvocable<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopped_) {
      tasks_.push_back(std::move(task));
      // The loop thread checks the queue before it sleeps, so only other threads must wake it.
      if (!wake_pending_ && !IsLoopThread()) {
        wake_pending_ = true;
        uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
      }
      return true;
    }
  }
  // Destroyed outside the lock: the task may own objects whose destructors post again.
  task = nullptr;
  return false;
}

bool EventLoop::IsLoopThread() const {
  return thread_id_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

absl::Status EventLoop::AddFd(int fd, uint32_t events, FdHandler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("epoll_ctl(ADD, fd ", fd, ")"));
  }
  return absl::OkStatus();
}

absl::Status EventLoop::ModifyFd(int fd, uint32_t events, FdHandler* handler) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("epoll_ctl(MOD, fd ", fd, ")"));
  }
  return absl::OkStatus();
}

void EventLoop::RemoveFd(int fd) { ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::ReleaseAfterEvents(std::shared_ptr<void> object) {
  release_after_events_.push_back(std::move(object));
}

void EventLoop::Run() {
  thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
  ::pthread_setname_np(::pthread_self(), name_.substr(0, 15).c_str());
  // Writing to a socket whose peer is gone raises SIGPIPE; sendmsg can suppress it per call but
  // sendfile cannot. Blocking it on this thread turns it into EPIPE without touching the
  // process-wide disposition (the signal stays pending on this thread, never delivered).
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);

  epoll_event events[kMaxEventsPerWait];
  while (true) {
    int timeout_ms;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_requested_) break;
      timeout_ms = tasks_.empty() ? -1 : 0;
    }
    int n = ::epoll_wait(epoll_fd_, events, kMaxEventsPerWait, timeout_ms);
    if (n < 0) {
      if (errno != EINTR) {
        LogServerEvent("epoll_wait_failed",
                       absl::StrCat("loop=", name_, " error=\"", std::strerror(errno), "\""));
      }
      n = 0;
    }
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<FdHandler*>(events[i].data.ptr);
      if (handler == nullptr) {
        DrainWakeFd();
      } else {
        handler->OnFdEvents(events[i].events);
      }
    }
    RunTasks();
    release_after_events_.clear();
  }

  if (shutdown_hook_) shutdown_hook_();
  std::vector<absl::AnyInvocable<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    dropped.swap(tasks_);
  }
  dropped.clear();
  release_after_events_.clear();
}

void EventLoop::RunTasks() {
  std::vector<absl::AnyInvocable<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
    wake_pending_ = false;
  }
  for (auto& task : tasks) task();
}

void EventLoop::DrainWakeFd() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(wake_fd_, &count, sizeof count);
}

}  // namespace varve::server
