#pragma once

// varve-dump, the offline segment inspector (docs/tools.md): reads data directories, log
// directories, segment, index and checkpoint files, and prints batches, records and index
// entries, verifies everything (--verify), or digests a range to compare replicas (--digest).
//
// Example (what varve_dump_main.cc does):
//   std::vector<std::string> args(argv + 1, argv + argc);
//   return dump::RunVarveDump(args, std::cout, std::cerr);
//
// Strictly read-only: files are opened O_RDONLY through the FileSystem seam and nothing is ever
// created, truncated, renamed or "recovered". Every input is untrusted: a corrupt file yields
// problem lines, never a crash. The function keeps no state between calls.
//
// The tool's code lives in namespace varve::dump: its names (SegmentFiles, IndexFile, ...) must
// not collide with the engine's, which it links beside in tests.

#include <ostream>
#include <string>

#include "absl/types/span.h"
#include "base/file.h"
#include "tools/dump_options.h"

namespace varve::dump {

// Exit statuses.
inline constexpr int kExitClean = 0;    // nothing wrong was found
inline constexpr int kExitCorrupt = 1;  // at least one problem was printed
inline constexpr int kExitUsage = 2;    // a usage error, or a path that could not be read

// Runs varve-dump with `args` (the arguments after the program name): results to `out`, usage
// errors and read failures to `err`. Returns the exit status.
int RunVarveDump(absl::Span<const std::string> args, std::ostream& out, std::ostream& err,
                 FileSystem* fs = PosixFileSystem());
// The same with options already parsed (tests adjust the limits that are not flags).
int RunVarveDump(const DumpOptions& options, std::ostream& out, std::ostream& err,
                 FileSystem* fs = PosixFileSystem());

}  // namespace varve::dump
