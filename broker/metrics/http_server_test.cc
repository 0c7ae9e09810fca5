#include "broker/metrics/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace varve::metrics {
namespace {

// A raw TCP connection to 127.0.0.1 with bounded waits.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }

  void Send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Everything until the server closes the connection (or 30 s pass).
  std::string ReadUntilClose(bool* closed = nullptr) {
    std::string out;
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    char buffer[4096];
    while (absl::Now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        if (closed != nullptr) *closed = true;
        return out;
      }
      out.append(buffer, static_cast<size_t>(n));
    }
    if (closed != nullptr) *closed = false;
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class MetricsHttpServerTest : public ::testing::Test {
 protected:
  void StartServer(MetricsHttpOptions options = {}) {
    registry_.AddCounter("varve_test_total", "A test counter.")->Increment(5);
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
        MetricsHttpServer::Start("127.0.0.1", 0, &registry_, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Stop();
  }

  std::string Exchange(const std::string& request) {
    RawClient client(server_->port());
    EXPECT_TRUE(client.connected());
    client.Send(request);
    return client.ReadUntilClose();
  }

  Registry registry_;
  std::unique_ptr<MetricsHttpServer> server_;
};

TEST_F(MetricsHttpServerTest, GetMetricsReturnsTheRegistryText) {
  StartServer();
  std::string response =
      Exchange("GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
  std::string body = registry_.Render();
  EXPECT_EQ(response, absl::StrCat("HTTP/1.1 200 OK\r\n"
                                   "Content-Type: text/plain; version=0.0.4\r\n"
                                   "Content-Length: ",
                                   body.size(),
                                   "\r\n"
                                   "Connection: close\r\n\r\n",
                                   body));
  EXPECT_TRUE(absl::StrContains(body, "varve_test_total 5\n"));
}

TEST_F(MetricsHttpServerTest, QueryStringIsIgnoredAndHttp10Works) {
  StartServer();
  EXPECT_TRUE(
      absl::StartsWith(Exchange("GET /metrics?name[]=x HTTP/1.0\r\n\r\n"), "HTTP/1.1 200 OK\r\n"));
}

TEST_F(MetricsHttpServerTest, HeadReturnsHeadersOnly) {
  StartServer();
  std::string response = Exchange("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(absl::EndsWith(response, "\r\n\r\n"));
  EXPECT_TRUE(absl::StrContains(
      response, absl::StrCat("Content-Length: ", registry_.Render().size(), "\r\n")));
}

TEST_F(MetricsHttpServerTest, OtherPathIs404) {
  StartServer();
  EXPECT_TRUE(absl::StartsWith(Exchange("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found\r\n"));
  EXPECT_TRUE(
      absl::StartsWith(Exchange("GET /metricsx HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found\r\n"));
}

TEST_F(MetricsHttpServerTest, OtherMethodIs405) {
  StartServer();
  std::string response = Exchange("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_TRUE(absl::StrContains(response, "Allow: GET, HEAD\r\n"));
}

TEST_F(MetricsHttpServerTest, GarbageRequestLineIs400) {
  StartServer();
  EXPECT_TRUE(absl::StartsWith(Exchange(std::string("\x16\x03\x01\x00\xa5\x01\r\n\r\n", 10)),
                               "HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_TRUE(absl::StartsWith(Exchange("GET\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_TRUE(
      absl::StartsWith(Exchange("GET /metrics SPDY/3\r\n\r\n"), "HTTP/1.1 400 Bad Request\r\n"));
}

TEST_F(MetricsHttpServerTest, OversizeRequestHeadIs431) {
  MetricsHttpOptions options;
  options.max_request_bytes = 256;
  StartServer(options);
  std::string response = Exchange("GET /metrics HTTP/1.1\r\nX-Junk: " + std::string(1000, 'j'));
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 431 "));
}

TEST_F(MetricsHttpServerTest, ClientThatHangsUpMidRequestDoesNotHurt) {
  StartServer();
  {
    RawClient client(server_->port());
    client.Send("GET /met");
  }
  EXPECT_TRUE(absl::StartsWith(Exchange("GET /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 200 OK"));
}

TEST_F(MetricsHttpServerTest, SlowClientDoesNotBlockOthersAndTimesOut) {
  MetricsHttpOptions options;
  options.io_timeout = absl::Milliseconds(300);
  StartServer(options);
  RawClient slow(server_->port());
  slow.Send("GET /metrics HTTP/1.1\r\n");  // never finishes the request
  EXPECT_TRUE(absl::StartsWith(Exchange("GET /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 200 OK"));
  bool closed = false;
  EXPECT_EQ(slow.ReadUntilClose(&closed), "");
  EXPECT_TRUE(closed);
}

TEST_F(MetricsHttpServerTest, ConnectionsBeyondTheLimitAreClosed) {
  MetricsHttpOptions options;
  options.max_connections = 2;
  StartServer(options);
  auto idle1 = std::make_unique<RawClient>(server_->port());
  auto idle2 = std::make_unique<RawClient>(server_->port());
  idle1->Send("G");
  idle2->Send("G");
  // The server has both once it answers nothing to a third; that one is closed at once.
  RawClient extra(server_->port());
  bool closed = false;
  extra.ReadUntilClose(&closed);
  EXPECT_TRUE(closed);
  idle1.reset();
  idle2.reset();
  // Once the idle ones are gone, scrapes work again.
  std::string response;
  for (int i = 0; i < 100 && !absl::StartsWith(response, "HTTP/1.1 200"); ++i) {
    response = Exchange("GET /metrics HTTP/1.1\r\n\r\n");
  }
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 200 OK"));
}

TEST_F(MetricsHttpServerTest, StopIsIdempotentAndFreesThePort) {
  StartServer();
  int port = server_->port();
  server_->Stop();
  server_->Stop();
  server_.reset();
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> again =
      MetricsHttpServer::Start("127.0.0.1", port, &registry_);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST_F(MetricsHttpServerTest, StartOnAPortInUseFails) {
  StartServer();
  EXPECT_FALSE(MetricsHttpServer::Start("127.0.0.1", server_->port(), &registry_).ok());
}

TEST(BuildHttpResponseTest, PathsAndMethods) {
  Registry registry;
  EXPECT_TRUE(absl::StartsWith(BuildHttpResponse("GET /metrics HTTP/1.1\r\n\r\n", &registry),
                               "HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(absl::StartsWith(BuildHttpResponse("DELETE /metrics HTTP/1.1\n\n", &registry),
                               "HTTP/1.1 405"));
  EXPECT_TRUE(absl::StartsWith(BuildHttpResponse("GET  /metrics HTTP/1.1\r\n\r\n", &registry),
                               "HTTP/1.1 400"));
  EXPECT_TRUE(absl::StartsWith(BuildHttpResponse("", &registry), "HTTP/1.1 400"));
}

}  // namespace
}  // namespace varve::metrics
