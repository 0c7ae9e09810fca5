#pragma once

// Broker: varve-broker's top level. Opens the data directory (metadata store, topics and their
// logs), serves the Kafka protocol on the listener (broker/server), exposes Prometheus metrics
// on metrics.port, and runs retention every log.retention.check.interval.ms.
//
// Example:
//   ASSIGN_OR_RETURN(BrokerConfig config, BrokerConfig::FromProperties(props));
//   ASSIGN_OR_RETURN(std::unique_ptr<Broker> broker, Broker::Start(config));
//   WaitForSignal();
//   RETURN_IF_ERROR(broker->Stop());  // clean: the next start reads no segment data
//
// Thread-safe: Stop may be called from any thread but the broker's own; it is idempotent and
// the destructor calls it.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/broker_config.h"
#include "broker/request_context.h"
#include "broker/server/server.h"

namespace varve::metrics {
class Registry;
class MetricsHttpServer;
}  // namespace varve::metrics

namespace varve::broker::group {
class GroupCoordinator;
class GroupLog;
}  // namespace varve::broker::group

namespace varve::broker {

class Broker : public server::RequestHandler {
 public:
  static absl::StatusOr<std::unique_ptr<Broker>> Start(const BrokerConfig& config);
  ~Broker() override;

  // The Kafka listener's bound port, and the metrics port (-1 when disabled).
  int port() const;
  int metrics_port() const;
  const std::string& cluster_id() const;
  const TopicManager& topics() const { return *topics_; }
  // Startup notes worth logging (unknown config keys, adopted directories, ...).
  std::vector<std::string> warnings() const;

  // Stops serving, syncs and closes every log (recording a clean shutdown) and the metadata
  // store. Returns the first error met.
  absl::Status Stop();

  // server::RequestHandler
  void Handle(server::Request request, server::ResponseSlot slot) override;

 private:
  class TimerAdapter;
  explicit Broker(const BrokerConfig& config);
  absl::Status Init();
  // Opens __consumer_offsets (replaying what RocksDB has not applied) and the coordinator.
  absl::Status StartGroups();
  // Runs retention every log.retention.check.interval.ms on its own thread (deleting segments
  // must not delay timers or network loops), and expires empty consumer groups.
  void RetentionLoop();

  const BrokerConfig config_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<TopicManager> topics_;
  std::unique_ptr<group::GroupLog> group_log_;
  std::unique_ptr<group::GroupCoordinator> coordinator_;
  std::unique_ptr<metrics::Registry> registry_;
  std::unique_ptr<BrokerMetrics> metrics_;
  std::unique_ptr<metrics::MetricsHttpServer> metrics_http_;
  std::unique_ptr<TimerAdapter> timers_;
  std::vector<std::string> group_warnings_;
  Services services_;
  std::unique_ptr<server::Server> server_;
  std::mutex stop_mu_;
  bool stopped_ = false;
  std::mutex retention_mu_;
  std::condition_variable retention_cv_;
  bool stopping_ = false;  // guarded by retention_mu_
  std::thread retention_thread_;
};

}  // namespace varve::broker
