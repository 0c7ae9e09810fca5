#pragma once

// TCP listening sockets, shared by the Kafka listener and the metrics HTTP server.

#include <string>

#include "absl/status/statusor.h"

namespace varve::server {

// A non-blocking, close-on-exec TCP listening socket bound to host:port (port 0: the kernel
// picks one) with SO_REUSEADDR. `host` is a numeric address, or a name resolved here (call at
// startup, never on an event-loop thread); "" means all addresses. InvalidArgument for a bad
// port or an unresolvable host, the bind/listen errno status otherwise.
absl::StatusOr<int> ListenTcp(const std::string& host, int port, int backlog);
// The local port a socket is bound to.
absl::StatusOr<int> LocalPort(int fd);

}  // namespace varve::server
