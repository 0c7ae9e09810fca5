#pragma once

// The contract between the network layer and the broker logic: the server reads frames and
// hands each one to a RequestHandler together with a ResponseSlot; the handler answers through
// the slot, now or later, from any thread.
//
// Example (an echo handler):
//   class Echo : public RequestHandler {
//     void Handle(Request request, ResponseSlot slot) override {
//       slot.Send(ResponsePayload(std::move(request.frame)));
//     }
//   };
//
// Ordering: responses on one connection leave in request order whatever order the slots are
// completed in; a response completed early waits (counted against max_queued_response_bytes)
// for the ones before it.

#include <cstdint>
#include <memory>
#include <string>

#include "broker/server/response.h"

namespace varve::server {

class Connection;

struct ConnectionInfo {
  uint64_t id = 0;   // unique within the process, never reused
  std::string peer;  // "127.0.0.1:5555" or "[::1]:5555"
  int listener_port = 0;
};

// The response to one request. Move-only. Exactly one of Send, SendNothing or Close must be
// called, exactly once (asserted), from any thread: it posts to the connection's loop and
// returns at once. If the connection is gone (peer disconnected, server stopped) the call is a
// safe no-op and the payload is dropped on the calling thread.
//
// Destroying a slot that was never completed closes the connection and logs it, so a handler
// bug cannot leave a client waiting forever (later responses cannot overtake the missing one).
class ResponseSlot {
 public:
  ResponseSlot() = default;  // an empty slot: no request behind it; destroying it does nothing
  ResponseSlot(ResponseSlot&& other) noexcept = default;
  // Completing over a live slot closes that slot's connection, as destroying it would.
  ResponseSlot& operator=(ResponseSlot&& other) noexcept;
  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;
  ~ResponseSlot();

  // Sends `payload` as this request's response frame (the server adds the size prefix).
  // A payload of 2 GiB or more closes the connection instead.
  void Send(ResponsePayload payload);
  // This request gets no response (Produce with acks=0); later responses are not held up.
  void SendNothing();
  // Closes the connection at once, dropping responses not yet written; `reason` is logged.
  void Close(std::string reason);

  // True until one of the three calls above.
  bool pending() const { return connection_ != nullptr; }
  // The id of the connection this slot answers on (0 for an empty slot).
  uint64_t connection_id() const;

 private:
  friend class Connection;
  ResponseSlot(std::shared_ptr<Connection> connection, uint64_t sequence)
      : connection_(std::move(connection)), sequence_(sequence) {}

  enum class Kind { kSend, kNothing, kClose };
  void Complete(Kind kind, ResponsePayload payload, std::string reason);

  std::shared_ptr<Connection> connection_;
  uint64_t sequence_ = 0;
};

struct Request {
  std::string frame;  // request header + body, without the size prefix; yours to modify
  ConnectionInfo connection;
  int64_t received_ns = 0;  // std::chrono::steady_clock, when the frame was complete
};

// Implemented by the broker logic.
//
// Threading: Handle and OnDisconnect are called on the connection's loop thread, so they must
// not block (no disk sync, no waiting on locks held across I/O, no DNS); park the slot and
// complete it later from whatever thread has the answer. Calls for one connection are
// sequential and in request order; calls for different connections may run concurrently on
// different loop threads.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Frames may be shorter than a request header (even 0 bytes): the handler decides (normally
  // slot.Close with a reason).
  virtual void Handle(Request request, ResponseSlot slot) = 0;
  // Called exactly once per connection after it closed, whatever the cause (peer, error,
  // ResponseSlot::Close, Server::Stop). Slots still outstanding for it may be completed or
  // dropped afterwards; both are no-ops.
  virtual void OnDisconnect(const ConnectionInfo& connection) { (void)connection; }
};

}  // namespace varve::server
