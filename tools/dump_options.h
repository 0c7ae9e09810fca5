#pragma once

// varve-dump's command line: what to read, what to print, and the range to print. The flags and
// their combinations are documented in docs/tools.md and in kDumpUsage; ParseDumpArgs rejects
// anything else with InvalidArgument saying what is wrong, which the tool turns into exit
// status 2.
//
// Example:
//   ASSIGN_OR_RETURN(DumpOptions options,
//                    ParseDumpArgs({"--records", "--from-offset=100", "/data/orders-0"}));

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "log/compression/decompress.h"
#include "tools/dump_output.h"

namespace varve::dump {

// What the tool does with the logs it reads.
enum class DumpMode {
  kDump,    // print batches (and records, index entries)
  kVerify,  // check everything, print problems and a summary
  kDigest,  // print the XXH3 digest of the batches of each log in the range
  kGroups,  // print a broker data directory's consumer groups, offsets and lag
};

struct DumpOptions {
  std::vector<std::string> paths;
  DumpMode mode = DumpMode::kDump;
  bool records = false;  // --records
  bool full = false;     // --full: never cut keys and values
  bool indexes = false;  // --indexes
  bool json = false;     // --json
  // --allow-gaps: offsets may skip between and inside batches (compacted logs); they must still
  // increase.
  bool allow_gaps = false;
  bool help = false;  // --help: print kDumpUsage and exit 0

  // Inclusive bounds; the time bounds are in milliseconds since the epoch.
  std::optional<int64_t> from_offset, to_offset, from_time, to_time;

  // Not flags: limits tests shrink.
  DecompressLimits limits;
  int64_t read_chunk_bytes = int64_t{1} << 20;  // read-ahead when walking a .log file

  bool has_range() const { return from_offset || to_offset || from_time || to_time; }
  size_t max_field_bytes() const { return full ? SIZE_MAX : kDefaultMaxFieldBytes; }
};

// Parses the arguments after the program name. Flags take their value as "--flag=value" or
// "--flag value"; "--" ends the flags. InvalidArgument (a one-line reason) for unknown flags,
// bad values, conflicting flags or no paths.
absl::StatusOr<DumpOptions> ParseDumpArgs(absl::Span<const std::string> args);

// A timestamp argument: milliseconds since the epoch ("1700000000000"), or ISO-8601 / RFC 3339
// ("2024-05-01T12:00:00Z", "2024-05-01T14:00:00.250+02:00", "2024-05-01T12:00", "2024-05-01");
// without a zone the time is UTC.
absl::StatusOr<int64_t> ParseTimeArg(absl::string_view text);

extern const char kDumpUsage[];

}  // namespace varve::dump
