// VerifyLog (tools/log_commands.h): one pass over each segment checks its batches, their
// records and both index files together.

#include <algorithm>
#include <memory>
#include <vector>

#include "tools/batch_checks.h"
#include "tools/log_commands.h"
#include "tools/segment_indexes.h"
#include "tools/segment_scanner.h"

namespace varve::dump {

void VerifyLog(DumpContext* ctx, const LogDirectory& log) {
  VerifyTotals& totals = ctx->totals;
  ++totals.logs;
  OffsetContinuity offsets(ctx->options.allow_gaps);
  std::vector<Problem> problems;
  std::string scratch;
  const auto ignore = [](const RecordView&) {};
  size_t last_with_log = 0;
  for (size_t i = 0; i < log.segments.size(); ++i) {
    if (!log.segments[i].log.empty()) last_with_log = i;
  }
  LogFacts facts;
  for (size_t i = 0; i < log.segments.size(); ++i) {
    const SegmentFiles& seg = log.segments[i];
    if (seg.log.empty()) {
      ctx->printer->Note(seg.index.empty() ? seg.time_index : seg.index,
                         "index file without its .log (opening the log deletes it)");
      continue;
    }
    std::unique_ptr<ReadOnlyFile> file = ctx->Open(seg.log);
    if (file == nullptr) continue;
    ++totals.segments;
    facts.active_base = seg.base_offset;
    facts.active_size = file->size();
    if (seg.base_offset) facts.end_offset = std::max(facts.end_offset, *seg.base_offset);
    offsets.StartSegment(seg.log, seg.base_offset, &problems);
    SegmentIndexes indexes(ctx, seg);
    BatchScanner scanner(file.get(), 0, seg.base_offset);
    ScannedBatch batch;
    int64_t data_end = 0;
    while (scanner.Next(&batch, &problems)) {
      ++totals.batches;
      CheckBatchCounts(batch, seg.log, ctx->options.allow_gaps, &problems);
      offsets.Check(batch, seg.log, &problems);
      // A batch whose CRC fails is already known to be corrupt: decoding it adds only noise.
      if (batch.crc_valid) {
        totals.records +=
            DecodeRecords(batch, seg.log, ctx->record_options(), &scratch, ignore, &problems);
      }
      ctx->Report(&problems);
      indexes.OnBatch(batch);
      data_end = batch.position + batch.header.size_bytes();
    }
    ctx->Report(&problems);
    if (!scanner.status().ok()) ctx->IoError(scanner.status());
    indexes.Finish(data_end, /*sealed=*/i < last_with_log);
    totals.index_entries += indexes.entries();
  }
  if (offsets.last_offset()) facts.end_offset = WrappingAdd(*offsets.last_offset(), 1);
  for (const std::string& path : log.checkpoints) HandleCheckpoint(ctx, path, facts);
}

}  // namespace varve::dump
