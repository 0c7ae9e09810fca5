#include "broker/server/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "broker/server/acceptor.h"
#include "broker/server/connection.h"
#include "broker/server/event_loop.h"
#include "broker/server/listen_socket.h"
#include "broker/server/server_log.h"

namespace varve::server {
namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      RequestHandler* handler) {
  if (handler == nullptr) return absl::InvalidArgumentError("Server::Start: null handler");
  if (options.num_loops < 1 || options.num_loops > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_loops must be in [1, 256], got ", options.num_loops));
  }
  if (options.max_request_bytes < 0 || options.max_request_bytes > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_request_bytes must be in [0, 2^31), got ", options.max_request_bytes));
  }
  if (options.max_in_flight_per_connection < 1 || options.max_queued_response_bytes < 0) {
    return absl::InvalidArgumentError(
        "max_in_flight_per_connection must be >= 1 and max_queued_response_bytes >= 0");
  }

  std::unique_ptr<Server> server(new Server(options, handler));
  ASSIGN_OR_RETURN(int listen_fd, ListenTcp(options.host, options.port, options.listen_backlog));
  Server* raw = server.get();
  server->acceptor_ = std::make_unique<Acceptor>(
      listen_fd, [raw](int fd, std::string peer) { raw->OnAccept(fd, std::move(peer)); });
  ASSIGN_OR_RETURN(server->port_, LocalPort(listen_fd));

  ConnectionLimits limits{.max_request_bytes = options.max_request_bytes,
                          .max_in_flight = options.max_in_flight_per_connection,
                          .max_queued_response_bytes = options.max_queued_response_bytes};
  server->admission_ = std::make_shared<ConnectionAdmission>(options.max_connections,
                                                             options.max_connections_per_ip);
  for (int i = 0; i < options.num_loops; ++i) {
    auto context = std::make_unique<LoopContext>();
    context->admission = server->admission_;
    context->idle_clock_ns = options.idle_clock_ns ? options.idle_clock_ns : SteadyNowNs;
    ASSIGN_OR_RETURN(context->loop, EventLoop::Create(absl::StrCat("varve-net-", i)));
    context->handler = handler;
    context->counters = &server->counters_;
    context->limits = limits;
    LoopContext* raw_context = context.get();
    Acceptor* acceptor = i == 0 ? server->acceptor_.get() : nullptr;
    context->loop->SetShutdownHook([raw_context, acceptor] {
      if (acceptor != nullptr) acceptor->Close(raw_context->loop.get());
      // Close() erases from the map, so close from a copy of the members.
      std::vector<std::shared_ptr<Connection>> open;
      for (auto& [id, connection] : raw_context->open) open.push_back(connection);
      for (auto& connection : open) connection->Close("server stopping", /*log=*/false);
    });
    server->loops_.push_back(std::move(context));
  }
  // Registered before the loop thread starts, which the EventLoop contract allows.
  RETURN_IF_ERROR(server->acceptor_->Register(server->loops_[0]->loop.get()));
  for (auto& context : server->loops_) context->loop->Start();
  if (options.connections_max_idle_ms > 0) server->ScheduleIdleSweep();
  return server;
}

void Server::ScheduleIdleSweep() {
  const int64_t idle_ms = options_.connections_max_idle_ms;
  const int64_t period_ms = std::clamp<int64_t>(idle_ms / 4, 1, 1000);
  // Saturates: connections.max.idle.ms may be as large as an int64 holds.
  const int64_t idle_ns = absl::ToInt64Nanoseconds(absl::Milliseconds(idle_ms));
  timers_.Schedule(absl::Milliseconds(period_ms), [this, idle_ms, idle_ns] {
    for (auto& context : loops_) {
      LoopContext* raw = context.get();
      raw->loop->Post([raw, idle_ms, idle_ns] {
        const int64_t now = raw->idle_clock_ns();
        // Close() erases from the map: collect first.
        std::vector<std::shared_ptr<Connection>> idle;
        for (auto& [id, connection] : raw->open) {
          if (connection->IdleLongerThan(now, idle_ns)) idle.push_back(connection);
        }
        for (auto& connection : idle) {
          raw->counters->connections_closed_idle.fetch_add(1, std::memory_order_relaxed);
          connection->Close(
              absl::StrCat("idle for more than ", idle_ms, " ms (connections.max.idle.ms)"),
              /*log=*/true);
        }
      });
    }
    ScheduleIdleSweep();
  });
}

Server::Server(const ServerOptions& options, RequestHandler* handler)
    : options_(options), handler_(handler) {}

Server::~Server() { Stop(); }

void Server::OnAccept(int fd, std::string peer) {
  std::string why;
  if (!admission_->TryAdmit(PeerAddress(peer), &why)) {
    counters_.connections_rejected.fetch_add(1, std::memory_order_relaxed);  // before the peer
    ::close(fd);                                                             // can see it
    const int64_t now = SteadyNowNs();
    if (now - last_rejection_log_ns_ >= 1'000'000'000) {  // at most one line a second
      last_rejection_log_ns_ = now;
      LogServerEvent("connection_rejected",
                     absl::StrCat("peer=", peer, " reason=\"", why,
                                  "\" rejected_total=", counters_.connections_rejected.load()));
    }
    return;
  }
  int one = 1;
  // Kafka responses are whole frames written at once; Nagle would only add latency.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ConnectionInfo info{.id = next_connection_id_.fetch_add(1, std::memory_order_relaxed),
                      .peer = std::move(peer),
                      .listener_port = port_};
  LoopContext* context = loops_[next_loop_++ % loops_.size()].get();
  auto connection = std::make_shared<Connection>(fd, std::move(info), context);
  // If the target loop is stopping the task is dropped and ~Connection closes the socket.
  context->loop->Post([connection = std::move(connection)] { connection->Open(); });
}

void Server::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  // Loop 0 first: it owns the acceptor, so no connection is accepted once the others stop.
  for (auto& context : loops_) context->loop->Stop();
  timers_.Stop();
}

}  // namespace varve::server
