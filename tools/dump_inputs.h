#pragma once

// Turns varve-dump's PATH arguments into what to read: log directories (a partition's
// segments, in base-offset order, and its checkpoint files) and files given one by one. Only
// directory listings and file types are looked at here; no file is opened.
//
//   PATH                          becomes
//   a data directory              one LogDirectory per subdirectory holding segment files,
//                                 plus its own checkpoint files as single files
//   a log directory               one LogDirectory (it holds segment or checkpoint files)
//   NNN.log / .index / .timeindex a single file
//   *checkpoint, .varve-clean-shutdown   a single checkpoint file
//
// Example:
//   std::vector<InputNote> notes;
//   ASSIGN_OR_RETURN(std::vector<DumpInput> inputs, ResolveInputs(fs, options.paths, &notes));
//
// Errors (the tool exits 2): NotFound for a missing path or a directory with nothing to read
// (no segment or checkpoint files in it or its subdirectories), InvalidArgument for a file of
// another kind or a path that is neither a file nor a directory, the FileSystem's errors for
// an unreadable directory.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/file.h"

namespace varve::dump {

enum class FileKind {
  kLog,          // NNN.log
  kOffsetIndex,  // NNN.index
  kTimeIndex,    // NNN.timeindex
  kCheckpoint,   // *checkpoint, .varve-clean-shutdown
  kOther,
};

// By name only (the last path component).
FileKind ClassifyFileName(absl::string_view name);
// The base offset of a segment file named "<20 digits>.<extension>", else nullopt.
std::optional<int64_t> SegmentBaseFromName(absl::string_view name);
// The last path component.
absl::string_view BaseName(absl::string_view path);
// The path of the sibling with the same stem and `extension` (".log"), e.g. the .log of an
// .index file.
std::string SiblingPath(absl::string_view path, absl::string_view extension);

// One segment's files; a path is empty when that file is absent.
struct SegmentFiles {
  std::optional<int64_t> base_offset;  // from the file name
  std::string log, index, time_index;
};

struct LogDirectory {
  std::string path;
  std::vector<SegmentFiles> segments;    // ascending base offset
  std::vector<std::string> checkpoints;  // sorted by name
};

// One thing to dump: a log directory, or a file given on its own.
struct DumpInput {
  std::optional<LogDirectory> directory;
  FileKind kind = FileKind::kOther;  // of `file`, when not a directory
  std::string file;
};

// Something skipped, and why.
struct InputNote {
  std::string path;
  std::string message;
};

// `notes` receives what was skipped and why (e.g. a subdirectory without segments).
absl::StatusOr<std::vector<DumpInput>> ResolveInputs(FileSystem* fs,
                                                     absl::Span<const std::string> paths,
                                                     std::vector<InputNote>* notes);

}  // namespace varve::dump
