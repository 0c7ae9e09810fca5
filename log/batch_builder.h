#pragma once

// BatchBuilder encodes records into one uncompressed RecordBatch v2 (record_batch.h), the way a
// producer does: records are appended straight into a single buffer with the 61-byte header
// left blank, and Build() fills the header and the CRC. The layouts are in record_batch.h.
//
// Example:
//   BatchBuilder builder;  // BaseOffset 0, no producer id: what a client sends
//   builder.Add(now_ms, "user-42", "clicked");
//   builder.Add(now_ms, std::nullopt, std::nullopt);  // null key, tombstone
//   std::string batch = builder.Build();              // ready for ValidateBatch / Append
//
// The builder is a plain value: one thread at a time. Views passed to Add are copied before
// Add returns. Misuse (Build with no records, a field longer than INT32_MAX bytes, more than
// INT32_MAX records) is a programming error and asserts; nothing here returns a status.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "log/record_batch.h"

namespace varve {

class BatchBuilder {
 public:
  struct Options {
    int64_t base_offset = 0;
    int32_t partition_leader_epoch = -1;
    int64_t producer_id = -1;
    int16_t producer_epoch = -1;
    int32_t base_sequence = -1;
    bool transactional = false;
    // Only sets attribute bit 3; MaxTimestamp is still the largest record timestamp.
    TimestampType timestamp_type = TimestampType::kCreateTime;
  };

  BatchBuilder();
  explicit BatchBuilder(const Options& options);

  // Appends a record with OffsetDelta = record_count(). std::nullopt key/value = null
  // (KeyLength/ValueLength -1). Timestamps may go backwards (deltas are signed).
  void Add(int64_t timestamp, std::optional<absl::string_view> key,
           std::optional<absl::string_view> value, absl::Span<const HeaderRef> headers = {});

  int record_count() const { return record_count_; }
  // The size the batch would have if built now (kBatchHeaderSize with no records).
  size_t size_bytes() const { return used_; }

  // Finishes: fills the header (BaseTimestamp = first record's timestamp, MaxTimestamp = the
  // largest, LastOffsetDelta = count - 1, RecordsCount, CRC) and returns the bytes. Requires at
  // least one record. The builder is then empty, with the same options.
  std::string Build();
  // Same, but swaps buffers with *out: the batch lands in *out and *out's old storage becomes
  // the builder's buffer, so a loop reusing one string allocates nothing in the steady state.
  void BuildInto(std::string* out);

  // Drops the records added so far (keeping the buffer's capacity) and takes new options.
  void Reset(const Options& options);

 private:
  void StartBatch();

  Options options_;
  // kBatchHeaderSize blank bytes, then the encoded records, in the first used_ bytes; the rest
  // is room for more (stale bytes, never zero-filled on the hot path).
  std::string buffer_;
  size_t used_ = 0;
  int record_count_ = 0;
  int64_t base_timestamp_ = kNoTimestamp;
  int64_t max_timestamp_ = kNoTimestamp;
};

}  // namespace varve
