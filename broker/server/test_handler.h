#pragma once

// RequestHandlers for the server tests: one built from lambdas, and a parking lot that keeps
// slots for the test to complete later from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <utility>

#include "broker/server/request_handler.h"

namespace varve::server {

class LambdaHandler : public RequestHandler {
 public:
  std::function<void(Request, ResponseSlot)> on_request;
  std::function<void(const ConnectionInfo&)> on_disconnect;

  void Handle(Request request, ResponseSlot slot) override {
    on_request(std::move(request), std::move(slot));
  }
  void OnDisconnect(const ConnectionInfo& connection) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++disconnects_;
      if (!disconnected_ids_.insert(connection.id).second) ++duplicate_disconnects_;
    }
    cv_.notify_all();
    if (on_disconnect) on_disconnect(connection);
  }

  // Waits until `n` OnDisconnect calls were seen (30 s at most); returns the count.
  int WaitForDisconnects(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return disconnects_ >= n; });
    return disconnects_;
  }
  int disconnects() {
    std::lock_guard<std::mutex> lock(mu_);
    return disconnects_;
  }
  int duplicate_disconnects() {
    std::lock_guard<std::mutex> lock(mu_);
    return duplicate_disconnects_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int disconnects_ = 0;
  int duplicate_disconnects_ = 0;
  std::set<uint64_t> disconnected_ids_;
};

// Keeps every request and its slot until the test takes them.
class ParkingLot {
 public:
  struct Parked {
    Request request;
    ResponseSlot slot;
  };

  void Park(Request request, ResponseSlot slot) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      parked_.push_back({std::move(request), std::move(slot)});
      ++total_;
    }
    cv_.notify_all();
  }
  // Waits until `n` requests were parked in total (30 s at most); returns the total.
  int WaitForTotal(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return total_ >= n; });
    return total_;
  }
  int total() {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }
  std::deque<Parked> TakeAll() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(parked_, {});
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Parked> parked_;
  int total_ = 0;
};

}  // namespace varve::server
