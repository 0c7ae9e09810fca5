#include "broker/server/acceptor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/server/server_log.h"

namespace varve::server {
namespace {

// Accepts per wake-up, so a connection storm does not starve the loop's other connections.
constexpr int kMaxAcceptsPerEvent = 64;

std::string FormatPeer(const sockaddr_storage& address) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &v4.sin_addr, ip, sizeof ip);
    return absl::StrCat(ip, ":", ntohs(v4.sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, ip, sizeof ip);
    return absl::StrCat("[", ip, "]:", ntohs(v6.sin6_port));
  }
  return "unknown";
}

}  // namespace

Acceptor::Acceptor(int listen_fd, OnAccept on_accept)
    : listen_fd_(listen_fd),
      spare_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      on_accept_(std::move(on_accept)) {}

Acceptor::~Acceptor() {
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

absl::Status Acceptor::Register(EventLoop* loop) { return loop->AddFd(listen_fd_, EPOLLIN, this); }

void Acceptor::Close(EventLoop* loop) {
  if (listen_fd_ < 0) return;
  loop->RemoveFd(listen_fd_);
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void Acceptor::OnFdEvents(uint32_t /*events*/) {
  for (int i = 0; i < kMaxAcceptsPerEvent && listen_fd_ >= 0; ++i) {
    sockaddr_storage address{};
    socklen_t len = sizeof address;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept_(fd, FormatPeer(address));
      continue;
    }
    int error_number = errno;
    switch (error_number) {
      case EAGAIN:
        return;
      case EINTR:
      case ECONNABORTED:
      case EPROTO:
        continue;
      case EMFILE:
      case ENFILE:
        // Level-triggered epoll would report the pending connection forever: free the spare
        // descriptor, accept the connection and close it at once, then take the spare back.
        LogServerEvent("accept_failed", "error=\"too many open files\" action=reject");
        if (spare_fd_ >= 0) {
          ::close(spare_fd_);
          int rejected = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (rejected >= 0) ::close(rejected);
          spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
        return;
      default:
        LogServerEvent("accept_failed",
                       absl::StrCat("error=\"", std::strerror(error_number), "\""));
        return;
    }
  }
}

}  // namespace varve::server
