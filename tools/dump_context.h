#pragma once

// What every part of one varve-dump run shares: the options, the file system it reads
// through, the printer, and how the run is going (I/O errors, verify totals). Owned by
// RunVarveDump (tools/varve_dump.h); one thread.

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "tools/batch_checks.h"
#include "tools/dump_options.h"
#include "tools/dump_output.h"
#include "tools/segment_scanner.h"

namespace varve::dump {

struct DumpContext {
  const DumpOptions& options;
  FileSystem* fs;
  DumpPrinter* printer;
  std::ostream* err;
  // A file could not be read: the exit status is 2 whatever else was found.
  bool unreadable = false;
  VerifyTotals totals;

  // Prints the problems and empties the vector.
  void Report(std::vector<Problem>* problems) {
    for (const Problem& p : *problems) printer->Report(p);
    problems->clear();
  }
  // Records a read failure: printed to `err`, and the run ends with exit status 2.
  void IoError(const absl::Status& status) {
    *err << "varve-dump: " << status.message() << "\n";
    unreadable = true;
  }
  // Opens `path` read-only, recording a failure as an I/O error (then null).
  std::unique_ptr<ReadOnlyFile> Open(const std::string& path) {
    absl::StatusOr<std::unique_ptr<ReadOnlyFile>> file =
        ReadOnlyFile::Open(fs, path, options.read_chunk_bytes);
    if (!file.ok()) {
      IoError(file.status());
      return nullptr;
    }
    return *std::move(file);
  }
  RecordCheckOptions record_options() const { return {options.allow_gaps, options.limits}; }
};

}  // namespace varve::dump
