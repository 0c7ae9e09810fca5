#include "broker/metrics/http_server.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/server/listen_socket.h"

namespace varve::metrics {
namespace {

constexpr absl::string_view kContentType = "text/plain; version=0.0.4";
// After the response, unread request bytes are drained for at most this long before closing,
// so close() does not reset the connection under a response the client has yet to read.
constexpr absl::Duration kLinger = absl::Seconds(1);

std::string Response(absl::string_view status, absl::string_view extra_headers,
                     absl::string_view content_type, absl::string_view body,
                     bool include_body = true) {
  std::string out = absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                                 "\r\nContent-Length: ", body.size(), "\r\n", extra_headers,
                                 "Connection: close\r\n\r\n");
  if (include_body) out.append(body.data(), body.size());
  return out;
}

std::string ErrorResponse(absl::string_view status, absl::string_view extra_headers = "") {
  return Response(status, extra_headers, "text/plain; charset=utf-8", absl::StrCat(status, "\n"));
}

// End of the request head ("\r\n\r\n", or bare "\n\n" from lenient clients), or npos.
size_t HeadEnd(const std::string& buffer) {
  size_t crlf = buffer.find("\r\n\r\n");
  size_t lf = buffer.find("\n\n");
  if (crlf != std::string::npos && (lf == std::string::npos || crlf + 2 <= lf)) return crlf + 4;
  if (lf != std::string::npos) return lf + 2;
  return std::string::npos;
}

struct Client {
  enum class State { kReading, kWriting, kDraining };
  int fd = -1;
  State state = State::kReading;
  absl::Time deadline;
  std::string in;
  std::string out;
  size_t sent = 0;
};

}  // namespace

std::string BuildHttpResponse(absl::string_view head, Registry* registry) {
  absl::string_view line = head.substr(0, head.find('\n'));
  line = absl::StripTrailingAsciiWhitespace(line);
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      !absl::StartsWith(parts[2], "HTTP/1.")) {
    return ErrorResponse("400 Bad Request");
  }
  absl::string_view method = parts[0];
  if (method != "GET" && method != "HEAD") {
    return ErrorResponse("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
  }
  absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path != "/metrics") return ErrorResponse("404 Not Found");
  return Response("200 OK", "", kContentType, registry->Render(), method == "GET");
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& host, int port, Registry* registry, MetricsHttpOptions options) {
  if (registry == nullptr) return absl::InvalidArgumentError("MetricsHttpServer: null registry");
  absl::StatusOr<int> listen_fd = server::ListenTcp(host, port, /*backlog=*/64);
  if (!listen_fd.ok()) return listen_fd.status();
  absl::StatusOr<int> bound_port = server::LocalPort(*listen_fd);
  int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (!bound_port.ok() || wake_fd < 0) {
    absl::Status status =
        bound_port.ok() ? absl::ErrnoToStatus(errno, "eventfd") : bound_port.status();
    ::close(*listen_fd);
    if (wake_fd >= 0) ::close(wake_fd);
    return status;
  }
  std::unique_ptr<MetricsHttpServer> server(
      new MetricsHttpServer(*listen_fd, wake_fd, *bound_port, registry, options));
  server->thread_ = std::thread([raw = server.get()] { raw->Run(); });
  return server;
}

MetricsHttpServer::MetricsHttpServer(int listen_fd, int wake_fd, int port, Registry* registry,
                                     MetricsHttpOptions options)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port),
      registry_(registry),
      options_(options) {}

MetricsHttpServer::~MetricsHttpServer() {
  Stop();
  ::close(listen_fd_);
  ::close(wake_fd_);
}

void MetricsHttpServer::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void MetricsHttpServer::Run() {
  ::pthread_setname_np(::pthread_self(), "varve-metrics");
  std::vector<Client> clients;
  std::vector<pollfd> polls;
  auto close_client = [](Client& client) {
    ::close(client.fd);
    client.fd = -1;
  };

  // Out of descriptors, the listener stays readable and accept keeps failing: stop polling it
  // for a moment instead of spinning.
  absl::Time accept_paused_until = absl::InfinitePast();

  while (true) {
    absl::Time now = absl::Now();
    bool accepting = now >= accept_paused_until;
    polls.clear();
    polls.push_back({wake_fd_, POLLIN, 0});
    polls.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
    absl::Time next_deadline = accepting ? absl::InfiniteFuture() : accept_paused_until;
    for (const Client& client : clients) {
      short events = client.state == Client::State::kWriting ? POLLOUT : POLLIN;
      polls.push_back({client.fd, events, 0});
      next_deadline = std::min(next_deadline, client.deadline);
    }
    int timeout_ms = -1;
    if (next_deadline != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(
          std::clamp<int64_t>(absl::ToInt64Milliseconds(next_deadline - now) + 1, 0, 60000));
    }
    int ready = ::poll(polls.data(), polls.size(), timeout_ms);
    if (ready < 0 && errno != EINTR) break;
    if (ready < 0) continue;
    if (polls[0].revents != 0) break;  // Stop()
    now = absl::Now();

    for (size_t i = 0; i < clients.size(); ++i) {
      Client& client = clients[i];
      short revents = polls[i + 2].revents;
      if (revents == 0) continue;
      if (client.state == Client::State::kWriting) {
        if (revents & (POLLERR | POLLNVAL)) {
          close_client(client);
          continue;
        }
        ssize_t n = ::send(client.fd, client.out.data() + client.sent,
                           client.out.size() - client.sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0) {
          close_client(client);
          continue;
        }
        client.sent += static_cast<size_t>(n);
        if (client.sent == client.out.size()) {
          std::string().swap(client.out);
          ::shutdown(client.fd, SHUT_WR);
          client.state = Client::State::kDraining;
          client.deadline = std::min(client.deadline, now + kLinger);
        }
        continue;
      }
      char buffer[4096];
      ssize_t n = ::recv(client.fd, buffer, sizeof buffer, 0);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {  // EOF or error: nothing more to read or answer
        close_client(client);
        continue;
      }
      if (client.state == Client::State::kDraining) continue;
      client.in.append(buffer, static_cast<size_t>(n));
      size_t head_end = HeadEnd(client.in);
      if (head_end != std::string::npos && head_end <= options_.max_request_bytes) {
        client.out = BuildHttpResponse(absl::string_view(client.in).substr(0, head_end), registry_);
      } else if (client.in.size() > options_.max_request_bytes) {
        client.out = ErrorResponse("431 Request Header Fields Too Large");
      } else {
        continue;
      }
      std::string().swap(client.in);
      client.state = Client::State::kWriting;
    }

    // Expired connections: slow or stuck clients, and lingering ones.
    for (Client& client : clients) {
      if (client.fd >= 0 && client.deadline <= now) close_client(client);
    }
    clients.erase(std::remove_if(clients.begin(), clients.end(),
                                 [](const Client& client) { return client.fd < 0; }),
                  clients.end());

    if (polls[1].revents != 0) {
      for (int accepted = 0; accepted < 16; ++accepted) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            accept_paused_until = now + absl::Milliseconds(100);
          }
          break;
        }
        if (clients.size() >= static_cast<size_t>(options_.max_connections)) {
          ::close(fd);
          continue;
        }
        Client client;
        client.fd = fd;
        client.deadline = now + options_.io_timeout;
        clients.push_back(std::move(client));
      }
    }
  }
  for (Client& client : clients) close_client(client);
}

}  // namespace varve::metrics
