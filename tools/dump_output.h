#pragma once

// What varve-dump prints: one line per batch, record, index entry, checkpoint entry, problem,
// note, digest or summary, either as text ("key: value" pairs in camelCase, the way Kafka's
// kafka-dump-log prints them) or, with --json, as one JSON object per line with snake_case keys
// and a "type". The formats are documented field by field in docs/tools.md; scripts rely on
// them, so fields are only ever added.
//
// Example:
//   DumpPrinter printer(&std::cout, /*json=*/false, kDefaultMaxFieldBytes);
//   printer.FileHeader(path, "log");  // Dumping /data/t-0/00000000000000000000.log
//   printer.Batch(path, position, header, /*crc_valid=*/true);
//   printer.Problem({path, 17, "crc_mismatch", "stored crc 0x..., computed 0x..."});
//
// Keys, values and header values are bytes: printable UTF-8 is shown as text, anything else
// escaped (text) or base64-encoded with a "<field>_base64": true marker (JSON); fields longer
// than the printer's limit are cut and marked ("..." after the closing quote; JSON
// "<field>_truncated": true). One thread at a time.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "log/batch_reader.h"
#include "log/record_batch.h"

namespace varve::dump {

// How many bytes of a key, value or header value are shown unless --full.
inline constexpr size_t kDefaultMaxFieldBytes = 128;

// One finding about the bytes of a file.
struct Problem {
  std::string file;
  int64_t position = -1;  // byte in `file`; -1 when it is about no particular byte
  std::string rule;       // stable snake_case name, e.g. "crc_mismatch" (docs/tools.md)
  std::string detail;     // human-readable: the values involved
};

// The digest of the batches of one log in a range (--digest).
struct DigestResult {
  std::string log;  // the directory or file
  uint64_t xxh3 = 0;
  int64_t batches = 0;
  int64_t bytes = 0;
  int64_t first_offset = -1;  // of the first batch hashed; -1 when none
  int64_t last_offset = -1;
};

// What --verify looked at.
struct VerifyTotals {
  int64_t logs = 0;
  int64_t segments = 0;
  int64_t batches = 0;
  int64_t records = 0;
  int64_t index_entries = 0;
  int64_t problems = 0;
};

class DumpPrinter {
 public:
  // `max_field_bytes`: longer keys and values are cut (SIZE_MAX: never, --full).
  DumpPrinter(std::ostream* out, bool json, size_t max_field_bytes);

  // "Dumping <path>"; JSON {"type":"file","file":...,"kind":...}. `kind`: "log", "index",
  // "time_index" or "checkpoint".
  void FileHeader(absl::string_view path, absl::string_view kind);
  void Batch(absl::string_view file, int64_t position, const BatchHeader& header, bool crc_valid);
  void Record(absl::string_view file, const RecordView& record);
  void OffsetIndexEntry(absl::string_view file, int64_t offset, int64_t position);
  void TimeIndexEntry(absl::string_view file, int64_t timestamp, int64_t offset);
  void CheckpointEntry(absl::string_view file, absl::string_view entry);
  // Counted in problems().
  void Report(const Problem& problem);
  // Something worth knowing that is not corruption (a preallocated index tail, an orphan index).
  void Note(absl::string_view file, absl::string_view message);
  void Digest(const DigestResult& digest);
  void Summary(const VerifyTotals& totals);

  int64_t problems() const { return problems_; }
  bool json() const { return json_; }

 private:
  void Emit(const std::string& line);

  std::ostream* out_;
  const bool json_;
  const size_t max_field_bytes_;
  int64_t problems_ = 0;
};

// ---- encoding helpers, exposed for tests ------------------------------------------------

// `bytes` between double quotes, printable UTF-8 as is, '"' and '\' backslash-escaped, \n \r
// \t as such, every other byte as \xNN.
std::string QuoteBytes(absl::string_view bytes);
// A JSON string literal for `text`, which should be UTF-8; invalid bytes become U+FFFD.
std::string JsonQuote(absl::string_view text);
bool IsValidUtf8(absl::string_view bytes);
// "base_offset" -> "baseOffset".
std::string SnakeToCamel(absl::string_view snake);

}  // namespace varve::dump
