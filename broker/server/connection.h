#pragma once

// Connection: one accepted client socket on one EventLoop (internal to the server).
//
// Life cycle: created by the acceptor, Open()ed on its loop, then reads frames, hands each to the
// RequestHandler with a ResponseSlot, queues completed responses in request order and writes
// them. Closed by the peer, an error, an oversize frame, ResponseSlot::Close, a dropped slot, or
// server shutdown; OnDisconnect follows once. The object outlives closing while ResponseSlots
// still reference it (shared_ptr): completing such a slot posts a task that finds the connection
// closed and drops the payload.
//
// Back-pressure: the connection stops reading (drops EPOLLIN) while it has
// max_in_flight_per_connection requests whose responses have not been released to the socket
// queue, or while more than max_queued_response_bytes of completed responses wait to be
// written. Frames already buffered are dispatched when it resumes. The queued-bytes limit is
// soft: requests dispatched before the limit was crossed may still add their responses.
//
// Threading: every member function runs on the loop thread, except loop(), which is immutable.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/string_view.h"
#include "broker/server/event_loop.h"
#include "broker/server/frame_reader.h"
#include "broker/server/output_queue.h"
#include "broker/server/request_handler.h"
#include "broker/server/response.h"
#include "broker/server/server_stats.h"

namespace varve::server {

struct ConnectionLimits {
  int64_t max_request_bytes = 100 << 20;
  int max_in_flight = 64;
  int64_t max_queued_response_bytes = 64 << 20;
};

// Counts open connections, in all and per peer address, against max.connections and
// max.connections.per.ip. Thread-safe: admitted on the acceptor's thread, released on the
// connections' loop threads.
class ConnectionAdmission {
 public:
  ConnectionAdmission(int max_total, int max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}
  // Counts one more connection from `address` if the caps allow it; otherwise says why.
  bool TryAdmit(const std::string& address, std::string* why);
  void Release(const std::string& address);

 private:
  const int max_total_;
  const int max_per_address_;
  std::mutex mu_;
  int total_ = 0;                                     // guarded by mu_
  std::unordered_map<std::string, int> per_address_;  // guarded by mu_
};

// The address part of ConnectionInfo::peer: "127.0.0.1:5555" -> "127.0.0.1",
// "[::1]:5555" -> "::1".
std::string PeerAddress(absl::string_view peer);

// What the connections of one loop share. Owned by the server; used by a connection only while
// it is open (always on the loop thread, always before the server's Stop() returns).
struct LoopContext {
  std::shared_ptr<EventLoop> loop;
  RequestHandler* handler = nullptr;
  ServerCounters* counters = nullptr;
  ConnectionLimits limits;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> open;  // loop thread only
  std::vector<char> read_buffer = std::vector<char>(64 << 10);     // shared scratch
  std::shared_ptr<ConnectionAdmission> admission;  // shared by every loop of the server
  // Steady-clock nanoseconds that idleness is measured in (ServerOptions::idle_clock_ns); set.
  std::function<int64_t()> idle_clock_ns;
};

class Connection final : public EventLoop::FdHandler,
                         public std::enable_shared_from_this<Connection> {
 public:
  // Takes ownership of the connected, non-blocking socket `fd`, which context->admission
  // admitted: the connection releases it when it closes.
  Connection(int fd, ConnectionInfo info, LoopContext* context);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Registers with the loop, adds itself to context->open and starts reading.
  void Open();
  // Applies a completed ResponseSlot (posted by the slot).
  void Complete(uint64_t sequence, ResponseSlot::Kind kind, ResponsePayload payload,
                std::string reason);
  // Closes the socket, drops queued responses, calls OnDisconnect. Idempotent. Logged when
  // `log` (protocol violations, handler decisions, idle timeouts, unexpected errors).
  void Close(absl::string_view reason, bool log);

  void OnFdEvents(uint32_t events) override;

  const ConnectionInfo& info() const { return info_; }
  // Open, with no request in flight or response waiting, and no byte read or written for more
  // than `idle_ns` before `now_ns` (LoopContext::idle_clock_ns).
  bool IdleLongerThan(int64_t now_ns, int64_t idle_ns) const;
  const std::shared_ptr<EventLoop>& loop() const { return loop_; }

 private:
  struct Pending {
    enum class State { kWaiting, kReady, kSkip };
    State state = State::kWaiting;
    ResponsePayload payload;
  };

  bool CanDispatch() const;
  void ReadAvailable();
  void DispatchBuffered();
  void ReleaseReadyResponses();
  void Flush();
  void ScheduleFlush();
  void UpdateInterest();
  void AddQueuedBytes(int64_t delta);

  const int fd_;
  const ConnectionInfo info_;
  LoopContext* const context_;
  const std::shared_ptr<EventLoop> loop_;
  FrameReader reader_;
  std::deque<Pending> pending_;  // one per dispatched request whose response is not released
  uint64_t first_pending_sequence_ = 0;
  uint64_t next_sequence_ = 0;
  int waiting_ = 0;  // entries of pending_ in state kWaiting
  OutputQueue output_;
  int64_t queued_bytes_ = 0;      // completed, unwritten: kReady entries of pending_ plus output_
  uint32_t interest_ = 0;         // events registered with the loop
  bool write_waiting_ = false;    // the last write stopped short: EPOLLOUT is armed
  bool flush_scheduled_ = false;  // a task will write output_ next round
  bool opened_ = false;
  bool closed_ = false;
  // Counted there until closed (shared: a connection may outlive the server).
  const std::shared_ptr<ConnectionAdmission> admission_;
  bool admitted_ = true;
  int64_t last_activity_ns_ = 0;  // idle clock: opened, or the last byte read or written
};

}  // namespace varve::server
