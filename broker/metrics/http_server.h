#pragma once

// MetricsHttpServer: a minimal HTTP/1.1 server for Prometheus scrapes.
//
//   GET /metrics (query string ignored) → 200, Content-Type: text/plain; version=0.0.4
//   HEAD /metrics                       → 200, headers only
//   GET or HEAD of any other path       → 404
//   any other method                    → 405 with "Allow: GET, HEAD"
//   malformed request line              → 400; request head over the limit → 431
// Every response carries Content-Length and "Connection: close", and the connection is closed
// after it (Prometheus opens a connection per scrape anyway).
//
// One thread serves all connections with poll(2) and non-blocking sockets, so a client that
// sends its request slowly, never finishes it, or never reads the response delays nobody; each
// connection has a deadline (io_timeout) after which it is dropped, request heads are bounded
// (max_request_bytes), and at most max_connections are open (extra ones are closed at once).
// Registry::Render() runs on this thread, so callback metrics run here too.
//
// Example:
//   ASSIGN_OR_RETURN(auto http, MetricsHttpServer::Start("0.0.0.0", 9404, &registry));
//   ...
//   http->Stop();
//
// Threading: Start, port and Stop from any thread; Stop is idempotent and joins the thread.
// The Registry must outlive Stop().

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/metrics/registry.h"

namespace varve::metrics {

struct MetricsHttpOptions {
  absl::Duration io_timeout = absl::Seconds(10);  // whole request + response, per connection
  size_t max_request_bytes = 8192;                // request line + headers
  int max_connections = 64;
};

class MetricsHttpServer {
 public:
  // Binds host:port (port 0: a free port) and starts serving. The bind/listen errno status on
  // failure, InvalidArgument for an unresolvable host.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(const std::string& host, int port,
                                                                  Registry* registry,
                                                                  MetricsHttpOptions options = {});
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  int port() const { return port_; }
  void Stop();

 private:
  MetricsHttpServer(int listen_fd, int wake_fd, int port, Registry* registry,
                    MetricsHttpOptions options);
  void Run();

  const int listen_fd_;
  const int wake_fd_;  // eventfd written by Stop()
  const int port_;
  Registry* const registry_;
  const MetricsHttpOptions options_;
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

// Builds the response to one complete request head (exposed for tests). `head` is everything
// up to and including the blank line.
std::string BuildHttpResponse(absl::string_view head, Registry* registry);

}  // namespace varve::metrics
