#include "tools/dump_test_util.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/endian.h"
#include "log/batch_builder.h"
#include "log/compression/test_codecs.h"
#include "tools/varve_dump.h"

namespace varve::dump {

std::string MakeBatch(const BatchSpec& spec) {
  BatchBuilder::Options options;
  options.base_offset = spec.base_offset;
  options.partition_leader_epoch = spec.leader_epoch;
  BatchBuilder builder(options);
  for (int i = 0; i < spec.count; ++i) {
    const int64_t offset = spec.base_offset + i;
    builder.Add(spec.first_timestamp + i, absl::StrCat("k", offset),
                absl::StrCat("v", offset, std::string(spec.value_padding, '.')));
  }
  const std::string batch = builder.Build();
  return spec.codec == Compression::kNone ? batch : CompressBatchForTest(batch, spec.codec);
}

void FixCrc(std::string* batch) { StoreBE32(batch->data() + kCrcPos, ComputeBatchCrc(*batch)); }

std::string SegmentPath(const std::string& dir, int64_t base, absl::string_view extension) {
  return absl::StrCat(dir, "/", absl::StrFormat("%020d", base), extension);
}

void WriteLogDirectory(const std::string& dir,
                       const std::vector<std::vector<std::string>>& segments,
                       int index_interval_bytes) {
  PosixFileSystem()->CreateDir(dir).IgnoreError();
  for (size_t s = 0; s < segments.size(); ++s) {
    const std::vector<std::string>& batches = segments[s];
    const int64_t base =
        batches.empty() ? 0 : DecodeBatchHeader(batches.front().data()).base_offset;
    std::string log, index, time_index;
    int64_t since_entry = 0;
    int64_t max_ts = kNoTimestamp, offset_of_max = base, last_entry_ts = kNoTimestamp;
    for (const std::string& batch : batches) {
      const BatchHeader h = DecodeBatchHeader(batch.data());
      if (h.max_timestamp > max_ts) {
        max_ts = h.max_timestamp;
        offset_of_max = h.last_offset();
      }
      if (since_entry > index_interval_bytes) {
        char entry[12];
        StoreBE32(entry, static_cast<uint32_t>(h.last_offset() - base));
        StoreBE32(entry + 4, static_cast<uint32_t>(log.size()));
        index.append(entry, 8);
        if (max_ts > last_entry_ts) {
          StoreBE64(entry, static_cast<uint64_t>(max_ts));
          StoreBE32(entry + 8, static_cast<uint32_t>(offset_of_max - base));
          time_index.append(entry, 12);
          last_entry_ts = max_ts;
        }
        since_entry = 0;
      }
      since_entry += h.size_bytes();
      log += batch;
    }
    const bool sealed = s + 1 < segments.size();
    if (sealed && max_ts > last_entry_ts) {
      char entry[12];
      StoreBE64(entry, static_cast<uint64_t>(max_ts));
      StoreBE32(entry + 8, static_cast<uint32_t>(offset_of_max - base));
      time_index.append(entry, 12);
    }
    WriteFileOrDie(SegmentPath(dir, base, ".log"), log);
    WriteFileOrDie(SegmentPath(dir, base, ".index"), index);
    WriteFileOrDie(SegmentPath(dir, base, ".timeindex"), time_index);
  }
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) std::abort();
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFileOrDie(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();
}

std::vector<std::string> DumpResult::Lines(absl::string_view prefix) const {
  std::vector<std::string> found;
  for (const std::string& line : lines) {
    if (absl::StartsWith(line, prefix)) found.push_back(line);
  }
  return found;
}

bool DumpResult::Contains(absl::string_view text) const {
  return absl::StrContains(out, text) || absl::StrContains(err, text);
}

DumpResult RunDump(const std::vector<std::string>& args, FileSystem* fs,
                   const std::function<void(DumpOptions*)>& adjust) {
  std::ostringstream out, err;
  DumpResult result;
  absl::StatusOr<DumpOptions> options = ParseDumpArgs(args);
  if (options.ok() && adjust) adjust(&*options);
  result.exit_code =
      options.ok() ? RunVarveDump(*options, out, err, fs) : RunVarveDump(args, out, err, fs);
  result.out = out.str();
  result.err = err.str();
  result.lines = absl::StrSplit(result.out, '\n', absl::SkipEmpty());
  return result;
}

}  // namespace varve::dump
