#pragma once

// Fixtures for varve-dump's tests: batches (uncompressed, or compressed with any codec the
// way Kafka's clients compress them), log directories written in Kafka's layout with their
// indexes built by the engine's rule, and a helper that runs the tool and splits its output.
//
// Example:
//   TempDir dir;
//   WriteLogDirectory(dir.Sub("t-0"), {{MakeBatch({.base_offset = 0, .count = 3})}});
//   DumpResult r = RunDump({"--verify", dir.Sub("t-0")});
//   EXPECT_EQ(r.exit_code, 0) << r.out;

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/file.h"
#include "log/record_batch.h"
#include "tools/dump_options.h"

namespace varve::dump {

// Records with offsets base_offset.., keys "k<offset>", values "v<offset>" followed by
// `value_padding` '.' bytes, timestamps first_timestamp + i.
struct BatchSpec {
  int64_t base_offset = 0;
  int count = 1;
  int64_t first_timestamp = 1000;
  Compression codec = Compression::kNone;
  int value_padding = 0;
  int32_t leader_epoch = 0;
};
std::string MakeBatch(const BatchSpec& spec);

// Compressed batches: CompressBatchForTest (log/compression/test_codecs.h).
void FixCrc(std::string* batch);

// Writes <dir>/<20-digit base>.log for each segment (its base offset is its first batch's),
// with .index and .timeindex built as Segment does: an entry before a batch once more than
// `index_interval_bytes` were appended since the last one, and, for every segment but the last
// (sealed), a final time-index entry with the segment's largest timestamp.
void WriteLogDirectory(const std::string& dir,
                       const std::vector<std::vector<std::string>>& segments,
                       int index_interval_bytes = 4096);
// The path of segment `base`'s file with `extension` (".log") in `dir`.
std::string SegmentPath(const std::string& dir, int64_t base, absl::string_view extension);

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, absl::string_view bytes);

// What a run of the tool printed.
struct DumpResult {
  int exit_code = -1;
  std::string out, err;
  std::vector<std::string> lines;  // of `out`

  // The lines that start with `prefix`.
  std::vector<std::string> Lines(absl::string_view prefix) const;
  // The problem lines (text output).
  std::vector<std::string> Problems() const { return Lines("problem: "); }
  bool Contains(absl::string_view text) const;
};
// Runs the tool on `args`; `adjust`, when given, changes the parsed options first (limits that
// are not flags). A usage error is returned as the tool returns it.
DumpResult RunDump(const std::vector<std::string>& args, FileSystem* fs = PosixFileSystem(),
                   const std::function<void(DumpOptions*)>& adjust = nullptr);

}  // namespace varve::dump
