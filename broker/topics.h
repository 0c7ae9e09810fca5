#pragma once

// TopicManager: the broker's topics — their partitions' logs (a LogManager under the data
// directory), their configs (in the MetadataStore), and per-partition broker state (the
// idempotent-producer table and the waiters of long-polling fetches).
//
// Creating a topic creates every partition's log, then records the topic (synced); deleting
// marks it, removes the logs, then forgets it. A crash in the middle is finished at the next
// start: partitions missing from a recorded topic are created, a marked deletion is completed,
// and partition directories of unrecorded topics are adopted (never deleted: their data may be
// all someone has) with a warning.
//
// Thread-safe. Topic and Partition objects are shared_ptr: a request holding one keeps using it
// safely while the topic is deleted (its logs are then closed and refuse work).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/broker_config.h"
#include "broker/errors.h"
#include "broker/metadata_store.h"
#include "broker/producer_state.h"
#include "log/log.h"
#include "log/log_manager.h"

namespace varve::broker {

class Partition {
 public:
  Partition(TopicPartition tp, std::shared_ptr<Log> log)
      : tp_(std::move(tp)), log_(std::move(log)) {}

  const TopicPartition& tp() const { return tp_; }
  Log& log() const { return *log_; }
  const std::shared_ptr<Log>& shared_log() const { return log_; }

  // Held around an idempotent batch's check, append and record, and by snapshots.
  std::mutex& produce_mu() { return produce_mu_; }
  ProducerStateTable& producers() { return producers_; }  // guarded by produce_mu()
  // After a segment roll at `offset`: snapshots the producer state (taken now) and writes it on
  // the background flusher thread, so a restart after a crash replays at most one segment.
  // Call without produce_mu() held; `table` is the state to write when the caller holds it.
  void SnapshotProducersInBackground(int64_t offset);
  void SnapshotProducersInBackground(int64_t offset, const ProducerStateTable& table);

  // Long-poll support: `fn` runs once, on the appending thread, after the next append to this
  // partition (or at shutdown). Registrations whose owner is gone are dropped; a second
  // registration by the same owner before the next append is ignored.
  void WaitForData(std::weak_ptr<void> owner, std::function<void()> fn);
  void NotifyAppended();

 private:
  const TopicPartition tp_;
  const std::shared_ptr<Log> log_;
  std::mutex produce_mu_;
  ProducerStateTable producers_;
  std::mutex waiters_mu_;
  std::vector<std::pair<std::weak_ptr<void>, std::function<void()>>> waiters_;
};

struct Topic {
  TopicRecord record;
  LogConfig config;
  std::vector<std::shared_ptr<Partition>> partitions;
};

struct TopicError {
  ErrorCode code = kNone;
  std::string message;
  bool ok() const { return code == kNone; }
};

class TopicManager {
 public:
  // Opens the data directory's logs and metadata (see the class comment for what is repaired).
  static absl::StatusOr<std::unique_ptr<TopicManager>> Open(const BrokerConfig& config,
                                                            MetadataStore* store);
  ~TopicManager();

  // Kafka's CreateTopics rules: name (INVALID_TOPIC_EXCEPTION), partitions >= 1 or -1 for the
  // default (INVALID_PARTITIONS), replication factor 1 or -1 (INVALID_REPLICATION_FACTOR),
  // configs (INVALID_CONFIG), existing name (TOPIC_ALREADY_EXISTS).
  TopicError Create(const std::string& name, int32_t partitions, int16_t replication_factor,
                    const std::map<std::string, std::string>& configs, bool validate_only);
  TopicError Delete(const std::string& name);

  std::shared_ptr<const Topic> Get(const std::string& name) const;
  std::shared_ptr<Partition> GetPartition(const std::string& name, int32_t partition) const;
  std::vector<std::shared_ptr<const Topic>> List() const;

  // Runs retention on every partition (single node: the high watermark is the log end).
  void ApplyRetention();
  // Forgets idempotent producers whose last batch is below the log start or whose last batch's
  // timestamp is expiration_ms or more before now_ms (producer_state.h). Returns how many.
  int ExpireProducers(int64_t now_ms, int64_t expiration_ms);
  // Producer snapshots for every partition, then closes every log. Idempotent.
  absl::Status Close();

  const std::vector<std::string>& warnings() const { return warnings_; }
  // Partitions opened at startup, and how many of them were scanned for recovery (no clean
  // shutdown recorded) rather than opened without reading data.
  int partitions_opened() const { return partitions_opened_; }
  int partitions_recovered() const { return partitions_recovered_; }
  const BrokerConfig& config() const { return config_; }

  // The LogConfig a topic with these overrides gets; INVALID_CONFIG naming the key otherwise.
  absl::StatusOr<LogConfig> ResolveConfig(const std::map<std::string, std::string>& configs) const;

 private:
  TopicManager(const BrokerConfig& config, MetadataStore* store) : config_(config), store_(store) {}
  absl::Status Load();
  absl::StatusOr<std::shared_ptr<Partition>> OpenPartition(const TopicPartition& tp,
                                                           const LogConfig& config);

  const BrokerConfig config_;
  MetadataStore* const store_;
  std::unique_ptr<LogManager> logs_;
  // Serializes Create/Delete (they do I/O); lookups take mu_ only.
  std::mutex admin_mu_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Topic>> topics_;
  std::vector<std::string> warnings_;
  bool closed_ = false;
  int partitions_opened_ = 0;
  int partitions_recovered_ = 0;
};

}  // namespace varve::broker
