#pragma once

// Counters of the network layer, for metrics. Updated with relaxed atomics on the loop threads;
// a snapshot is consistent per field, not across fields.

#include <atomic>
#include <cstdint>

namespace varve::server {

struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_closed = 0;
  int64_t connections_open = 0;  // accepted and not yet closed
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t frames_received = 0;  // requests handed to the handler
  uint64_t frames_sent = 0;      // responses queued to their socket (SendNothing not counted)
  uint64_t frames_rejected = 0;  // size prefix out of range: connection closed
  uint64_t connections_closed_idle = 0;  // closed by connections.max.idle.ms
  uint64_t connections_rejected = 0;     // closed at accept: max.connections(.per.ip)
  int64_t requests_in_flight = 0;        // handed to the handler, slot not yet completed
  int64_t queued_response_bytes = 0;     // completed responses not yet written to sockets
};

// The live counters behind ServerStats; shared by the server's loops.
struct ServerCounters {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_closed{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> frames_received{0};
  std::atomic<uint64_t> frames_sent{0};
  std::atomic<uint64_t> frames_rejected{0};
  std::atomic<uint64_t> connections_closed_idle{0};
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<int64_t> requests_in_flight{0};
  std::atomic<int64_t> queued_response_bytes{0};

  ServerStats Snapshot() const {
    ServerStats s;
    s.connections_closed = connections_closed.load(std::memory_order_relaxed);
    s.connections_accepted = connections_accepted.load(std::memory_order_relaxed);
    int64_t open = static_cast<int64_t>(s.connections_accepted - s.connections_closed);
    s.connections_open = open < 0 ? 0 : open;  // the two loads are not one atomic snapshot
    s.bytes_received = bytes_received.load(std::memory_order_relaxed);
    s.bytes_sent = bytes_sent.load(std::memory_order_relaxed);
    s.frames_received = frames_received.load(std::memory_order_relaxed);
    s.frames_sent = frames_sent.load(std::memory_order_relaxed);
    s.frames_rejected = frames_rejected.load(std::memory_order_relaxed);
    s.connections_closed_idle = connections_closed_idle.load(std::memory_order_relaxed);
    s.connections_rejected = connections_rejected.load(std::memory_order_relaxed);
    s.requests_in_flight = requests_in_flight.load(std::memory_order_relaxed);
    s.queued_response_bytes = queued_response_bytes.load(std::memory_order_relaxed);
    return s;
  }
};

}  // namespace varve::server
