// DumpLog, DigestLog, HandleIndexFile and HandleCheckpoint (tools/log_commands.h).

#include <xxhash.h>

#include <map>
#include <memory>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/batch_checks.h"
#include "tools/checkpoint_file.h"
#include "tools/log_commands.h"
#include "tools/range_walk.h"
#include "tools/segment_indexes.h"

namespace varve::dump {
namespace {

constexpr char kRecoveryPointFile[] = "recovery-point-offset-checkpoint";
constexpr char kLogStartFile[] = "log-start-offset-checkpoint";
constexpr char kCleanShutdownFile[] = ".varve-clean-shutdown";

// The clean-shutdown marker's "name value..." entries (docs/format.md), by name.
std::map<std::string, std::vector<int64_t>> MarkerFields(const std::vector<std::string>& entries) {
  std::map<std::string, std::vector<int64_t>> fields;
  for (const std::string& entry : entries) {
    std::vector<std::string> parts = absl::StrSplit(entry, ' ', absl::SkipEmpty());
    if (parts.empty()) continue;
    std::vector<int64_t>& values = fields[parts[0]];
    for (size_t i = 1; i < parts.size(); ++i) {
      int64_t v;
      if (absl::SimpleAtoi(parts[i], &v)) values.push_back(v);
    }
  }
  return fields;
}

void CheckAgainstLog(DumpContext* ctx, const std::string& path,
                     const std::vector<std::string>& entries, const LogFacts& facts,
                     std::vector<Problem>* problems) {
  const absl::string_view name = BaseName(path);
  if (name == kRecoveryPointFile || name == kLogStartFile) {
    const std::optional<int64_t> offset = SingleOffset(entries);
    if (offset && *offset > facts.end_offset) {
      problems->push_back(
          {path, 0, "checkpoint_beyond_log_end",
           absl::StrCat(name == kRecoveryPointFile ? "recovery point " : "log start offset ",
                        *offset, " is beyond the log end offset ", facts.end_offset,
                        name == kRecoveryPointFile
                            ? ": records the log says are on disk are missing"
                            : "")});
    }
    return;
  }
  if (name != kCleanShutdownFile) return;
  std::map<std::string, std::vector<int64_t>> fields = MarkerFields(entries);
  auto one = [&](const char* key) -> std::optional<int64_t> {
    auto it = fields.find(key);
    if (it == fields.end() || it->second.size() != 1) return std::nullopt;
    return it->second[0];
  };
  const std::optional<int64_t> base = one("active_base");
  const std::optional<int64_t> size = one("size");
  const std::optional<int64_t> next = one("next_offset");
  if (!base || !size || !next) {
    ctx->printer->Note(path,
                       "the marker lacks active_base, size or next_offset: the next open "
                       "recovers the log by scanning");
    return;
  }
  if (base != facts.active_base || *size != facts.active_size || *next != facts.end_offset) {
    ctx->printer->Note(
        path, absl::StrCat("the marker (active_base ", *base, ", size ", *size, ", next_offset ",
                           *next, ") disagrees with the files (active_base ",
                           facts.active_base ? absl::StrCat(*facts.active_base) : "none", ", size ",
                           facts.active_size, ", end offset ", facts.end_offset,
                           "): the next open recovers the log by scanning"));
  }
}

}  // namespace

void DumpLog(DumpContext* ctx, const LogDirectory& log) {
  const DumpOptions& o = ctx->options;
  DumpPrinter* printer = ctx->printer;
  absl::StatusOr<OffsetRange> range = ResolveRange(ctx, log);
  if (!range.ok()) return ctx->IoError(range.status());
  std::string scratch;
  std::vector<Problem> problems;
  WalkCallbacks callbacks;
  callbacks.on_segment_start = [&](const SegmentFiles& seg) {
    printer->FileHeader(seg.log, "log");
  };
  callbacks.on_batch = [&](const SegmentFiles& seg, const ScannedBatch& batch) {
    // The batch line shows the bytes as stored, even a BaseOffset the scanner corrected.
    BatchHeader stored = batch.header;
    if (batch.stored_base_offset) stored.base_offset = *batch.stored_base_offset;
    printer->Batch(seg.log, batch.position, stored, batch.crc_valid);
    if (!o.records) return;
    DecodeRecords(
        batch, seg.log, ctx->record_options(), &scratch,
        [&](const RecordView& r) {
          if (range->Contains(r.offset)) printer->Record(seg.log, r);
        },
        &problems);
    ctx->Report(&problems);
  };
  callbacks.on_segment_end = [&](const SegmentFiles& seg, bool sealed) {
    if (!o.indexes) return;
    SegmentIndexes indexes(ctx, seg);
    indexes.PrintEntries();
    indexes.CheckAgainstLog(sealed);
  };
  WalkRange(ctx, log, *range, callbacks);
  if (o.indexes) {
    for (const SegmentFiles& seg : log.segments) {
      if (seg.log.empty()) HandleIndexFile(ctx, seg);
    }
  }
  if (!o.has_range()) {
    for (const std::string& path : log.checkpoints) HandleCheckpoint(ctx, path, std::nullopt);
  }
}

void DigestLog(DumpContext* ctx, const LogDirectory& log) {
  absl::StatusOr<OffsetRange> range = ResolveRange(ctx, log);
  if (!range.ok()) return ctx->IoError(range.status());
  std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state(XXH3_createState(),
                                                                        XXH3_freeState);
  XXH3_64bits_reset(state.get());
  DigestResult digest;
  digest.log = log.path;
  WalkCallbacks callbacks;
  callbacks.on_batch = [&](const SegmentFiles&, const ScannedBatch& batch) {
    XXH3_64bits_update(state.get(), batch.bytes.data(), batch.bytes.size());
    if (digest.batches == 0) digest.first_offset = batch.header.base_offset;
    digest.last_offset = batch.header.last_offset();
    ++digest.batches;
    digest.bytes += static_cast<int64_t>(batch.bytes.size());
  };
  WalkRange(ctx, log, *range, callbacks);
  digest.xxh3 = XXH3_64bits_digest(state.get());
  ctx->printer->Digest(digest);
}

void HandleIndexFile(DumpContext* ctx, const SegmentFiles& seg) {
  SegmentIndexes indexes(ctx, seg);
  if (ctx->options.mode == DumpMode::kDump) indexes.PrintEntries();
  indexes.CheckAgainstLog(/*sealed=*/false);
  ctx->totals.index_entries += indexes.entries();
}

void HandleCheckpoint(DumpContext* ctx, const std::string& path,
                      const std::optional<LogFacts>& facts) {
  std::unique_ptr<ReadOnlyFile> file = ctx->Open(path);
  if (file == nullptr) return;
  const bool dump = ctx->options.mode == DumpMode::kDump;
  if (dump) ctx->printer->FileHeader(path, "checkpoint");
  std::vector<std::string> entries;
  std::vector<Problem> problems;
  if (absl::Status s = ReadCheckpointEntries(file.get(), &entries, &problems); !s.ok()) {
    return ctx->IoError(s);
  }
  if (dump) {
    for (const std::string& entry : entries) ctx->printer->CheckpointEntry(path, entry);
  }
  if (facts) CheckAgainstLog(ctx, path, entries, *facts, &problems);
  ctx->Report(&problems);
}

}  // namespace varve::dump
