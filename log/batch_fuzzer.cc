// libFuzzer target for the RecordBatch v2 parsers: ValidateBatch (batch_validator.h),
// BatchIterator and RecordIterator (batch_reader.h). They read bytes from clients, replicas and
// disks, so on any input they must stay inside the buffer (ASan), avoid undefined behaviour
// (UBSan) and agree with each other (the FUZZ_CHECKs below).
//
// A random CRC almost never matches, which would stop every input at crc_mismatch. So inputs of
// odd size get the CRC of each batch frame they hold recomputed first (bytes 17..20, from
// ComputeBatchCrc), and reach the header and record rules; even-sized inputs are parsed as they
// are. Seeds and regressions: log/testdata/fuzz/batch_fuzzer/ (docs/building.md, "Fuzzing").

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "base/endian.h"
#include "log/batch_reader.h"
#include "log/batch_validator.h"
#include "log/fuzz_check.h"
#include "log/record_batch.h"

namespace varve {
namespace {

// A non-zero position for bytes[0], so position arithmetic that forgets it shows.
constexpr int64_t kBase = 1 << 20;

// Stores the CRC of each batch frame laid back to back in *bytes: a frame runs BatchLength + 12
// bytes, or to the end of the input when that is shorter (a torn batch).
void FixCrcs(std::string* bytes) {
  size_t pos = 0;
  while (bytes->size() - pos >= static_cast<size_t>(kAttributesPos)) {
    char* frame = bytes->data() + pos;
    const int64_t size =
        kLogOverhead + int64_t{static_cast<int32_t>(LoadBE32(frame + kBatchLengthPos))};
    const size_t left = bytes->size() - pos;
    const size_t n = size >= kAttributesPos && size <= static_cast<int64_t>(left)
                         ? static_cast<size_t>(size)
                         : left;
    StoreBE32(frame + kCrcPos, ComputeBatchCrc(absl::string_view(frame, n)));
    pos += n;
  }
}

// True if `part` lies inside `whole` (both views into the same input).
bool Inside(absl::string_view part, absl::string_view whole) {
  return part.data() >= whole.data() && part.size() <= whole.size() &&
         part.data() - whole.data() <= static_cast<ptrdiff_t>(whole.size() - part.size());
}

bool InsideOpt(const std::optional<absl::string_view>& part, absl::string_view whole) {
  return !part.has_value() || Inside(*part, whole);
}

// Walks a RecordIterator to its end, checking every view it returns against `bytes` (what the
// iterator was given). Returns the number of records and leaves the final status in *status.
int ReadRecords(RecordIterator* records, absl::string_view bytes, absl::Status* status) {
  RecordView record;
  int count = 0;
  while (records->Next(&record)) {
    ++count;
    FUZZ_CHECK(InsideOpt(record.key, bytes));
    FUZZ_CHECK(InsideOpt(record.value, bytes));
    FUZZ_CHECK(Inside(record.headers_data, bytes));
    FUZZ_CHECK(record.header_count >= 0);
    const std::vector<HeaderRef> headers = record.Headers();
    FUZZ_CHECK(headers.size() == static_cast<size_t>(record.header_count));
    for (const HeaderRef& header : headers) {
      FUZZ_CHECK(Inside(header.key, record.headers_data));
      FUZZ_CHECK(InsideOpt(header.value, record.headers_data));
    }
  }
  FUZZ_CHECK(!records->Next(&record));  // stays finished
  *status = records->status();
  return count;
}

// The validator from the produce path (from_client) and the replica/file path.
void CheckValidator(absl::string_view bytes, bool from_client) {
  ValidationOptions options;
  options.from_client = from_client;
  options.base_position = kBase;
  BatchHeader header;
  const BatchCheck check = ValidateBatch(bytes, options, &header);
  FUZZ_CHECK(check.ToStatus().ok() == check.ok());
  if (!check.ok()) {
    FUZZ_CHECK(check.position >= kBase);
    FUZZ_CHECK(check.position <= kBase + static_cast<int64_t>(bytes.size()));
    FUZZ_CHECK(absl::string_view(BatchRuleName(check.rule)) != "unknown");
    return;
  }

  // One whole batch, exactly the input.
  FUZZ_CHECK(header.size_bytes() == static_cast<int64_t>(bytes.size()));
  FUZZ_CHECK(header.magic == kMagicV2);
  FUZZ_CHECK(header.records_count >= 0 && header.last_offset_delta >= 0);
  FUZZ_CHECK(header.records_count <= int64_t{header.last_offset_delta} + 1);
  if (from_client) {
    // The client rules only add to the replica rules.
    ValidationOptions replica = options;
    replica.from_client = false;
    FUZZ_CHECK(ValidateBatch(bytes, replica).ok());
  }
  ValidationOptions no_records = options;
  no_records.check_records = false;
  FUZZ_CHECK(ValidateBatch(bytes, no_records).ok());

  // The readers accept what the validator accepts.
  BatchIterator batches(bytes, kBase);
  BatchView batch;
  FUZZ_CHECK(batches.Next(&batch));
  FUZZ_CHECK(batch.bytes == bytes && batch.position == kBase);
  FUZZ_CHECK(batch.header.crc == header.crc && batch.header.base_offset == header.base_offset);
  FUZZ_CHECK(!batches.Next(&batch) && batches.status().ok());

  RecordIterator records(bytes, kBase);
  absl::Status status;
  const int count = ReadRecords(&records, bytes, &status);
  if (header.compression() != Compression::kNone) {
    FUZZ_CHECK(count == 0 && absl::IsUnimplemented(status));
    return;
  }
  FUZZ_CHECK_OK(status);
  FUZZ_CHECK(count == header.records_count);
}

// BatchIterator over the input as a slice of a log, and RecordIterator over each batch found.
void CheckIterators(absl::string_view bytes, bool verify_crc) {
  const int64_t end = kBase + static_cast<int64_t>(bytes.size());
  BatchIterator batches(bytes, kBase, verify_crc);
  BatchView batch;
  int64_t expected_position = kBase;
  while (batches.Next(&batch)) {
    FUZZ_CHECK(batch.position == expected_position);
    FUZZ_CHECK(Inside(batch.bytes, bytes));
    FUZZ_CHECK(batch.bytes.data() - bytes.data() == batch.position - kBase);
    FUZZ_CHECK(static_cast<int64_t>(batch.bytes.size()) == batch.header.size_bytes());
    FUZZ_CHECK(batch.header.size_bytes() >= kBatchHeaderSize);
    FUZZ_CHECK(batch.position + batch.header.size_bytes() <= end);
    FUZZ_CHECK(batch.header.magic == kMagicV2);
    if (verify_crc) FUZZ_CHECK(ComputeBatchCrc(batch.bytes) == batch.header.crc);
    expected_position += batch.header.size_bytes();
    FUZZ_CHECK(batches.position() == expected_position);

    RecordIterator records(batch.bytes, batch.position);
    absl::Status status;
    const int count = ReadRecords(&records, batch.bytes, &status);
    FUZZ_CHECK(count == 0 || count <= batch.header.records_count);
    const Compression compression = batch.header.compression();
    if (compression == Compression::kNone) {
      FUZZ_CHECK(status.ok() ? count == batch.header.records_count : absl::IsDataLoss(status));
    } else {
      FUZZ_CHECK(count == 0 && !status.ok());
    }
    // The dump tool's path: records decompressed elsewhere. Here the stored payload stands in
    // for the decompressed stream, whatever the compression bits say.
    const absl::string_view payload = batch.bytes.substr(kBatchHeaderSize);
    RecordIterator decoded(batch.header, payload);
    ReadRecords(&decoded, payload, &status);
    FUZZ_CHECK(status.ok() || absl::IsDataLoss(status));
  }
  FUZZ_CHECK(!batches.Next(&batch));  // stays finished
  FUZZ_CHECK(batches.position() == expected_position);
  if (batches.status().ok()) {
    FUZZ_CHECK(expected_position == end);
  } else {
    FUZZ_CHECK(absl::IsDataLoss(batches.status()));
    FUZZ_CHECK(expected_position < end);
  }
}

}  // namespace
}  // namespace varve

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  if (size % 2 == 1) varve::FixCrcs(&input);
  // Parse an exactly-sized heap copy, so ASan sees any read past the end.
  const std::vector<char> exact(input.begin(), input.end());
  const absl::string_view bytes(exact.data(), exact.size());
  varve::CheckValidator(bytes, /*from_client=*/true);
  varve::CheckValidator(bytes, /*from_client=*/false);
  varve::CheckIterators(bytes, /*verify_crc=*/true);
  varve::CheckIterators(bytes, /*verify_crc=*/false);
  return 0;
}
