#pragma once

// The broker's Prometheus metrics (docs/broker.md lists them): requests by API and error, bytes
// and records in and out per topic, produce and fetch latency histograms, and — computed at
// scrape time — log end offsets, log start offsets and disk usage per partition, connections.
//
// Thread-safe. Hot-path calls update atomics; finding a topic's series takes a short mutex.

#include <cstdint>
#include <memory>
#include <string>

namespace varve::metrics {
class Registry;
}
namespace varve::server {
class Server;
}

namespace varve::broker {

class TopicManager;

class BrokerMetrics {
 public:
  explicit BrokerMetrics(metrics::Registry* registry);
  ~BrokerMetrics();

  // Series computed when scraped (log offsets and sizes). `topics` must outlive the registry's
  // use of them.
  void WatchTopics(const TopicManager* topics);
  // Connection and byte counters of the network layer, read when scraped.
  void WatchServer(const server::Server* server);

  void CountRequest(int16_t api_key);
  void CountError(int16_t api_key, int16_t error_code);
  void CountProduced(const std::string& topic, int64_t bytes, int64_t records);
  void CountFetched(const std::string& topic, int64_t bytes, int64_t records);
  void ObserveProduceLatency(int64_t ns);
  void ObserveFetchLatency(int64_t ns);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace varve::broker
