#pragma once

// What varve-dump does with each input, per mode (docs/tools.md):
//
//   input            dump (default)             --verify                  --digest
//   log directory    DumpLog                    VerifyLog                 DigestLog
//   NNN.log          as a one-segment log directory, with the sibling index files
//   NNN.(time)index  HandleIndexFile: entries, and checks against the sibling .log  (ignored)
//   checkpoint       HandleCheckpoint: entries, and framing checks                  (ignored)
//
// Everything reports through the DumpContext: lines and problems to its printer, read
// failures to IoError.

#include <cstdint>
#include <optional>
#include <string>

#include "tools/dump_context.h"
#include "tools/dump_inputs.h"

namespace varve::dump {

// Prints the batches (and records, index entries) of `log` in the options' range.
void DumpLog(DumpContext* ctx, const LogDirectory& log);
// Prints one digest line for the batches of `log` in the options' range.
void DigestLog(DumpContext* ctx, const LogDirectory& log);
// Checks every batch, record, index entry and checkpoint of `log`; adds to ctx->totals.
void VerifyLog(DumpContext* ctx, const LogDirectory& log);

// An index file given on its own: its entries (dump mode) and their checks against the
// segment's `.log` if one is named in `seg`.
void HandleIndexFile(DumpContext* ctx, const SegmentFiles& seg);

// What a checkpoint can be checked against: the log it belongs to.
struct LogFacts {
  int64_t end_offset = 0;  // one past the last offset found
  std::optional<int64_t> active_base;
  int64_t active_size = 0;  // bytes of the last segment's .log
};

// A checkpoint file: its entries (dump mode) and its framing; with `facts`, a recovery point
// or log start offset beyond the log end is a problem (checkpoint_beyond_log_end), and a
// clean-shutdown marker that disagrees with the files is a note.
void HandleCheckpoint(DumpContext* ctx, const std::string& path,
                      const std::optional<LogFacts>& facts);

}  // namespace varve::dump
