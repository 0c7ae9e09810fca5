#pragma once

// The Acceptor accepts connections on one EventLoop and hands each accepted socket to a callback
// (internal to the server).
//
// Threading: OnFdEvents and Close on the loop thread the acceptor is registered with.

#include <cstdint>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "broker/server/event_loop.h"

namespace varve::server {

class Acceptor final : public EventLoop::FdHandler {
 public:
  // Receives each accepted socket (non-blocking, close-on-exec) and its peer as "ip:port".
  using OnAccept = absl::AnyInvocable<void(int fd, std::string peer)>;

  // Takes ownership of `listen_fd`.
  Acceptor(int listen_fd, OnAccept on_accept);
  ~Acceptor() override;

  absl::Status Register(EventLoop* loop);
  // Stops accepting and closes the listening socket; idempotent.
  void Close(EventLoop* loop);

  void OnFdEvents(uint32_t events) override;

 private:
  int listen_fd_;
  int spare_fd_;  // released to accept-and-close one connection when out of descriptors
  OnAccept on_accept_;
};

}  // namespace varve::server
