#pragma once

// GroupLog: the GroupStore of a running broker (design §4, "group state rides on the log").
//
// Group state lives in the internal topic __consumer_offsets (offsets.topic.num.partitions
// partitions; a group's partition is PartitionForGroup). Append writes one batch to the
// group's partition (a page-cache write, on the caller's thread), and a single applier thread
// then, in log order per partition: makes the batch durable (fdatasync, shared by every batch
// waiting), applies its records to the metadata store (RocksDB) in one synced WriteBatch that
// also records the partition's applied position ("next offset to apply"), and only then runs
// the callbacks. So an acknowledged commit is both in the log and in RocksDB.
//
// Open reads each partition's applied position and replays the log from there to its end,
// so records that reached the log but not RocksDB (kill -9 between the two) are applied before
// anyone reads them. A follower replica could apply the same records the same way.
//
// RocksDB keys: "group/record/" + the record's key bytes -> its value bytes (records.h);
//               "group/applied/" + i32 BE partition  -> i64 BE next offset to apply.
//
// Thread-safe. Stop() drains what is queued (their callbacks run) and stops the applier; the
// callbacks of appends after Stop never run (stop the coordinator first). Call Stop before
// closing the topics.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/group/group_store.h"
#include "broker/metadata_store.h"
#include "broker/topics.h"

namespace varve::broker::group {

class GroupLog : public GroupStore {
 public:
  struct Options {
    int32_t num_partitions = 4;  // used only when the topic does not exist yet
    int64_t retention_ms = -1;   // the internal topic's retention.ms when created
    // The internal topic's segment.bytes when created (Kafka's offsets.topic.segment.bytes).
    int64_t segment_bytes = 100 << 20;
    // Compact() rewrites a partition once this many bytes, and at least as many as its live
    // state, were appended since it was last rewritten.
    int64_t compact_min_garbage_bytes = 64 << 20;
  };

  // Creates __consumer_offsets if missing, loads the materialized state into *loaded and
  // replays every partition's unapplied tail. Notes worth logging go to *warnings.
  static absl::StatusOr<std::unique_ptr<GroupLog>> Open(TopicManager* topics, MetadataStore* store,
                                                        const Options& options,
                                                        LoadedGroups* loaded,
                                                        std::vector<std::string>* warnings);
  ~GroupLog() override;

  void Append(std::vector<CoordinatorRecord> records,
              std::function<void(absl::Status)> done) override;
  void Stop();

  // Bounds the internal topic's growth (it is never compacted record by record): a partition
  // that grew by Options::compact_min_garbage_bytes, and by at least its live state, since it
  // was last rewritten gets its live state (every record in the metadata store that belongs
  // to it) appended again at its end, and once that is durable and applied its log start is
  // raised to where the rewrite began, so the segments before it are deleted. Replaying the
  // partition from its new start rebuilds exactly the current state. Appends to the partition
  // wait meanwhile. Returns how many partitions were rewritten. Called by the broker's
  // retention thread.
  absl::StatusOr<int> Compact();

  int32_t partitions() const { return static_cast<int32_t>(partitions_.size()); }

  // Key prefixes in the metadata store (varve-dump --groups reads them).
  static constexpr char kRecordPrefix[] = "group/record/";
  static constexpr char kAppliedPrefix[] = "group/applied/";
  static std::string AppliedKey(int32_t partition);

 private:
  struct Entry {
    std::vector<CoordinatorRecord> records;
    std::function<void(absl::Status)> done;
    bool appended = false;  // the log callback ran
    absl::Status status;
    int64_t end_offset = 0;  // last offset + 1
  };
  struct PartitionQueue {
    int32_t index = 0;
    std::shared_ptr<Partition> partition;
    std::mutex append_mu;                      // log order == queue order
    std::deque<std::shared_ptr<Entry>> queue;  // guarded by GroupLog::mu_
    // Log size right after the last rewrite (0: none since start); guarded by append_mu.
    std::shared_ptr<std::atomic<int64_t>> size_after_rewrite =
        std::make_shared<std::atomic<int64_t>>(0);
  };

  GroupLog(MetadataStore* store, const Options& options) : store_(store), options_(options) {}
  // Append with p.append_mu held.
  void AppendLocked(PartitionQueue& p, std::vector<CoordinatorRecord> records,
                    std::function<void(absl::Status)> done);
  absl::StatusOr<bool> CompactPartition(PartitionQueue& p);
  void ApplierLoop();
  // Applies the ready head of queue `p` (called on the applier thread without mu_).
  void ApplyReady(PartitionQueue& p, std::vector<std::shared_ptr<Entry>> ready);

  MetadataStore* const store_;
  const Options options_;
  std::vector<std::unique_ptr<PartitionQueue>> partitions_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread applier_;
};

}  // namespace varve::broker::group
