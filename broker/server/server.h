#pragma once

// Server: the network layer of the Kafka-compatible broker. It accepts TCP connections, splits
// each byte stream into Kafka frames (i32 big-endian size, then that many bytes), hands every
// frame to a RequestHandler with a ResponseSlot, and writes the responses back in request order
// (memory chunks with sendmsg, file regions with sendfile). It knows nothing of the protocol
// beyond the frame size prefix.
//
// Example:
//   ServerOptions options;
//   options.port = 0;  // any free port
//   ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Start(options, &handler));
//   ConnectTo(server->port());
//   server->timers()->Schedule(absl::Milliseconds(500), [] { ... });
//   server->Stop();
//
// Threads: options.num_loops event-loop threads (the first also accepts connections; each
// connection stays on one loop, assigned round-robin) and one timer thread (timer_queue.h).
// RequestHandler calls happen on the loop threads (request_handler.h states what they may do).
//
// Limits, each bounding memory per connection before anything is allocated:
//   * a frame size < 0 or > max_request_bytes closes the connection (logged with peer and size);
//   * connections beyond max_connections (max_connections_per_ip from one address) are closed
//     as they are accepted, and idle ones after connections_max_idle_ms;
//   * a connection stops being read while it has max_in_flight_per_connection unanswered
//     requests, or more than max_queued_response_bytes of responses waiting to be written (a
//     client that stops reading cannot grow the broker's memory or slow other clients).
//
// Stop() closes the listener and every connection (OnDisconnect for each), joins the loop
// threads, then stops the timers (pending timer callbacks are destroyed without running).
// Slots completed or destroyed afterwards, from any thread, are dropped safely. Stop() is
// idempotent and may be called from any thread except the server's own (loop, timer) threads;
// the destructor calls it. The RequestHandler must outlive Stop(); ResponseSlots may outlive
// the Server.

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/server/request_handler.h"
#include "broker/server/response.h"
#include "broker/server/server_stats.h"
#include "broker/server/timer_queue.h"

namespace varve::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // numeric address or a name resolved once at Start
  int port = 9092;                 // 0: pick a free port (see Server::port())
  int num_loops = 2;
  int listen_backlog = 1024;
  int64_t max_request_bytes = 100 << 20;  // socket.request.max.bytes
  int max_in_flight_per_connection = 64;
  int64_t max_queued_response_bytes = 64 << 20;  // per connection; soft, see above
  // connections.max.idle.ms: a connection with nothing in flight and no byte read or written
  // for longer is closed (checked every idle/4, at most every second; logged with the peer and
  // counted in ServerStats::connections_closed_idle); <= 0 disables.
  int64_t connections_max_idle_ms = 600000;
  // The clock idleness is measured in: monotonic nanoseconds, called on the loop threads. Empty
  // means the steady clock; tests substitute a manual one (the checks still run in real time).
  std::function<int64_t()> idle_clock_ns;
  // max.connections, max.connections.per.ip: a connection accepted beyond either is closed at
  // once (counted in ServerStats::connections_rejected, logged at most once a second).
  int max_connections = std::numeric_limits<int>::max();
  int max_connections_per_ip = std::numeric_limits<int>::max();
};

struct LoopContext;
class Acceptor;
class ConnectionAdmission;

class Server {
 public:
  // Binds, listens and starts the threads. InvalidArgument for bad options or an unresolvable
  // host; the bind/listen errno status otherwise (e.g. the port is in use).
  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       RequestHandler* handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const { return port_; }
  void Stop();

  // Timers for parked requests; callbacks run on the timer thread. Valid until the Server is
  // destroyed; after Stop(), Schedule drops callbacks.
  TimerQueue* timers() { return &timers_; }
  ServerStats stats() const { return counters_.Snapshot(); }

 private:
  Server(const ServerOptions& options, RequestHandler* handler);
  void OnAccept(int fd, std::string peer);
  void ScheduleIdleSweep();

  const ServerOptions options_;
  RequestHandler* const handler_;
  int port_ = 0;
  ServerCounters counters_;
  TimerQueue timers_;
  std::vector<std::unique_ptr<LoopContext>> loops_;
  std::unique_ptr<Acceptor> acceptor_;  // used on loops_[0]'s thread
  std::atomic<uint64_t> next_connection_id_{1};
  size_t next_loop_ = 0;  // acceptor thread only
  std::shared_ptr<ConnectionAdmission> admission_;
  int64_t last_rejection_log_ns_ = 0;  // acceptor thread only
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
};

}  // namespace varve::server
