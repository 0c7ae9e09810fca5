#pragma once

// Idempotent-producer state of one partition (reference §1.4): for each producer id, its epoch
// and the last five batches it wrote, so a retried batch is recognised and answered with its
// original offsets instead of being appended twice, and a gap in sequence numbers is refused.
//
// Persistence follows Kafka (reference §2.6): a snapshot file "<20-digit offset>.snapshot" in
// the partition directory holds each producer's last batch as of that offset; Recover loads
// the newest snapshot at or below the log end and replays the batch headers after it. The
// broker writes a snapshot when a segment rolls and on clean shutdown, so a restart replays at
// most one segment (none after a clean shutdown).
//
// Producers are forgotten when their last batch is older than producer.id.expiration.ms or
// below the log start offset (RemoveExpired, RemoveBelow): afterwards the producer is unknown,
// so its next batch is accepted with any sequence number, as in Kafka.
//
// Not thread-safe: the broker holds its partition's produce lock around Check, the append and
// Record.

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "log/log.h"
#include "log/record_batch.h"

namespace varve::broker {

class ProducerStateTable {
 public:
  // Batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN).
  static constexpr size_t kBatchesToRetain = 5;

  struct Verdict {
    enum Kind {
      kAppend,        // new data: append it, then Record
      kDuplicate,     // a retry of a retained batch: answer with these offsets, append nothing
      kOutOfOrder,    // OUT_OF_ORDER_SEQUENCE_NUMBER (45)
      kInvalidEpoch,  // INVALID_PRODUCER_EPOCH (47)
    };
    Kind kind = kAppend;
    int64_t base_offset = -1;  // kDuplicate: the original offsets
    int64_t last_offset = -1;
    std::string detail;
  };

  // What to do with a batch about to be appended (its header as the client sent it).
  // Batches with ProducerId < 0 are always kAppend.
  Verdict Check(const BatchHeader& batch) const;
  // Remembers a batch that was appended; `batch.base_offset` is the assigned offset.
  void Record(const BatchHeader& batch);

  size_t producer_count() const { return producers_.size(); }

  // Forgets producers whose last batch's max timestamp is `expiration_ms` or more before
  // `now_ms` (Kafka's producer.id.expiration.ms). Returns how many were removed.
  int RemoveExpired(int64_t now_ms, int64_t expiration_ms);
  // Forgets producers whose last batch lies wholly below `log_start_offset` (deleted by
  // retention or DeleteRecords; Kafka evicts them too). Returns how many were removed.
  int RemoveBelow(int64_t log_start_offset);

  // Kafka's snapshot layout (reference §2.6), one entry per producer (its last batch).
  std::string EncodeSnapshot() const;
  // Replaces the table with a snapshot's entries; DataLoss naming `path` if it is corrupt.
  absl::Status LoadSnapshot(absl::string_view bytes, absl::string_view path);

 private:
  struct BatchMeta {
    int32_t first_seq;
    int32_t last_seq;
    int64_t first_offset;
    int64_t last_offset;
    int64_t max_timestamp;
  };
  struct Producer {
    int16_t epoch = 0;
    std::deque<BatchMeta> batches;  // oldest first, at most kBatchesToRetain
  };
  std::unordered_map<int64_t, Producer> producers_;
};

// "<dir>/<20-digit offset>.snapshot".
std::string ProducerSnapshotPath(const std::string& dir, int64_t offset);

// Writes the table's snapshot named after `offset` (tmp, fsync, rename, fsync dir) and deletes
// older snapshots except the newest other one.
absl::Status WriteProducerSnapshot(const std::string& dir, int64_t offset,
                                   const ProducerStateTable& table);
// The same with a snapshot already encoded (ProducerStateTable::EncodeSnapshot), so the write
// can happen off the thread that holds the table's lock.
absl::Status WriteProducerSnapshotBytes(const std::string& dir, int64_t offset,
                                        const std::string& bytes);

// Rebuilds a partition's table: the newest readable snapshot at or below the log end, then the
// headers of every batch after it. Snapshots above the log end (left by a truncation) are
// deleted. A corrupt snapshot is skipped (an older one, or a full replay, is used instead);
// *notes says so.
absl::StatusOr<ProducerStateTable> RecoverProducerState(const Log& log, std::string* notes);

}  // namespace varve::broker
