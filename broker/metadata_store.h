#pragma once

// MetadataStore: the broker's durable metadata in RocksDB under the data directory
// (<data dir>/metadata.rocksdb): the cluster id, topics and their configs, the producer-id
// counter, and (consumer groups) committed offsets. Every write that a client is told about is
// synced (WriteOptions::sync) before it returns.
//
// Keys (one byte-string namespace, prefixes keep kinds apart):
//   "cluster/id"             -> 22-character cluster id (base64url of 16 random bytes)
//   "topic/<name>"           -> TopicRecord, encoded as in metadata_store.cc (versioned)
//   "deleting/<name>"        -> "" while a topic's deletion is in progress
//   "producer/next-id"       -> i64 big-endian: the next producer id to hand out
// Other components (the group coordinator) use their own prefixes through Write/Get/Scan.
//
// Thread-safe.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace varve::broker {

struct TopicRecord {
  std::string name;
  int32_t partitions = 1;
  std::array<uint8_t, 16> topic_id{};
  int64_t created_ms = 0;
  // Per-topic configs that differ from the broker defaults, by Kafka topic-config name.
  std::map<std::string, std::string> configs;
};

// `n` random bytes from /dev/urandom (cluster and topic ids); zeros if it cannot be read.
std::string RandomBytes(size_t n);

class MetadataStore {
 public:
  // Opens (creating) the store in `dir`. A store another process holds fails with
  // FailedPrecondition (RocksDB's LOCK), which also keeps two brokers off one data directory.
  static absl::StatusOr<std::unique_ptr<MetadataStore>> Open(const std::string& dir);
  ~MetadataStore();

  const std::string& cluster_id() const { return cluster_id_; }

  absl::StatusOr<std::vector<TopicRecord>> ListTopics() const;
  absl::Status PutTopic(const TopicRecord& topic);
  // Deletion is two steps so a crash in between is finished at the next start.
  absl::Status MarkTopicDeleting(const std::string& name);
  absl::Status FinishTopicDelete(const std::string& name);
  absl::StatusOr<std::vector<std::string>> TopicsBeingDeleted() const;

  // A fresh producer id, larger than every one handed out before (also across restarts).
  absl::StatusOr<int64_t> AllocateProducerId();

  // Generic access for other components, under their own key prefixes.
  absl::Status Write(rocksdb::WriteBatch* batch, bool sync);
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const;
  // Calls `fn` for each key with `prefix`, in key order, until it returns false.
  absl::Status Scan(
      absl::string_view prefix,
      const std::function<bool(absl::string_view key, absl::string_view value)>& fn) const;

  static std::string EncodeTopic(const TopicRecord& topic);
  static absl::StatusOr<TopicRecord> DecodeTopic(absl::string_view name, absl::string_view bytes);

 private:
  MetadataStore(std::unique_ptr<rocksdb::DB> db, std::string dir);
  absl::Status LoadOrCreateClusterId();

  std::unique_ptr<rocksdb::DB> db_;
  const std::string dir_;
  std::string cluster_id_;
  std::mutex producer_mu_;
};

}  // namespace varve::broker
