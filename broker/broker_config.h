#pragma once

// BrokerConfig: varve-broker's settings, named as Kafka's server.properties keys so operators'
// files carry over. Built from a properties file (--config) and --override key=value flags,
// later ones winning; with neither, a single node on 127.0.0.1:9092 with data in ./varve-data.
//
// Example:
//   std::vector<Property> props = ...;  // ParseProperties + ParseOverride, in order
//   ASSIGN_OR_RETURN(BrokerConfig config, BrokerConfig::FromProperties(props));
//
// Errors: InvalidArgument naming the source ("server.properties:7" or "--override key"), the
// key and the offending value. Keys the broker does not know are reported in
// BrokerConfig::warnings (Kafka logs and ignores them too), never silently dropped.
// docs/broker.md lists every key.

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/properties.h"
#include "log/log_config.h"

namespace varve::broker {

struct Endpoint {
  std::string host;
  int port = 0;
};

struct BrokerConfig {
  // listeners: PLAINTEXT://host:port (one listener). An empty host binds every interface.
  Endpoint listener{"127.0.0.1", 9092};
  // advertised.listeners: what Metadata tells clients to connect to; default: the listener
  // (required when the listener binds every interface).
  Endpoint advertised{"127.0.0.1", 9092};
  // False when advertised.listeners was not given: the broker then advertises the port it
  // actually bound (listeners with port 0 picks a free one).
  bool advertised_explicit = false;
  // log.dirs (or log.dir): the data directory (one).
  std::string data_dir = "./varve-data";
  // node.id (or broker.id).
  int32_t node_id = 0;
  // num.partitions: partitions of auto-created topics and of CreateTopics with -1.
  int32_t num_partitions = 1;
  // default.replication.factor: a single node accepts only 1 (or -1).
  int16_t default_replication_factor = 1;
  // auto.create.topics.enable.
  bool auto_create_topics = true;
  // socket.request.max.bytes: larger request frames close the connection.
  int64_t socket_request_max_bytes = 100 * 1024 * 1024;
  // num.network.threads: event-loop threads.
  int num_network_threads = 2;
  // connections.max.idle.ms: idle client connections are closed after this; -1 never.
  int64_t connections_max_idle_ms = 600000;
  // max.connections, max.connections.per.ip: connections accepted beyond are closed at once.
  int32_t max_connections = std::numeric_limits<int32_t>::max();
  int32_t max_connections_per_ip = std::numeric_limits<int32_t>::max();
  // metrics.port: Prometheus text metrics at http://<listener host>:<port>/metrics; 0 picks a
  // free port, -1 disables.
  int metrics_port = 9464;
  // log.retention.check.interval.ms: how often retention runs.
  int64_t retention_check_interval_ms = 5 * 60 * 1000;
  // Group coordinator settings (consumer groups).
  int64_t group_initial_rebalance_delay_ms = 3000;
  int64_t group_min_session_timeout_ms = 6000;
  int64_t group_max_session_timeout_ms = 1800000;
  int64_t offsets_retention_minutes = 7 * 24 * 60;
  int32_t offset_metadata_max_bytes = 4096;
  // offsets.topic.num.partitions: partitions of the internal __consumer_offsets topic when it
  // is created (Kafka's default is 50; a single node needs few).
  int32_t offsets_topic_num_partitions = 4;
  // offsets.topic.segment.bytes: segment.bytes of __consumer_offsets when it is created.
  int64_t offsets_topic_segment_bytes = 100 * 1024 * 1024;
  // producer.id.expiration.ms: an idempotent producer whose last batch is older than this is
  // forgotten (Kafka 3.4+'s key and default: one day); checked every
  // producer.id.expiration.check.interval.ms.
  int64_t producer_id_expiration_ms = 24 * 60 * 60 * 1000;
  int64_t producer_id_expiration_check_interval_ms = 10 * 60 * 1000;

  // Defaults for every topic's log (log.segment.bytes, log.retention.hours/minutes/ms,
  // log.retention.bytes, message.max.bytes, log.roll.ms/hours, log.index.interval.bytes,
  // log.index.size.max.bytes, varve.durability, log.flush.interval.ms, varve.flush.bytes).
  LogConfig log_defaults;

  // Unknown keys and other things worth a line in the startup log.
  std::vector<std::string> warnings;

  static absl::StatusOr<BrokerConfig> FromProperties(const std::vector<Property>& props);
};

// Parses "PLAINTEXT://host:port" (or "host:port"); InvalidArgument naming the value.
absl::StatusOr<Endpoint> ParseListener(const std::string& value);

}  // namespace varve::broker
