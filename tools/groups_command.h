#pragma once

// varve-dump --groups DATA_DIR: a broker data directory's consumer groups (docs/tools.md).
// Reads the group state the broker materialized in <DATA_DIR>/metadata.rocksdb (opened
// read-only, so it works while the broker runs; it shows what RocksDB holds, which includes
// every acknowledged commit) and each committed partition's log end offset from its segment
// files, and prints one line per group and one per committed partition with the lag.
//
// Text:  group <id> generation <n> protocol <type>/<name> members <m> (leader <id>)
//          <topic> <partition> committed <offset> log_end <offset> lag <n> [metadata <bytes>]
// JSON:  {"type":"group","group":...,"generation":...,"protocol_type":...,"protocol":...,
//         "leader":...,"members":[...]}
//        {"type":"committed_offset","group":...,"topic":...,"partition":...,
//         "committed_offset":...,"log_end_offset":...,"lag":...,"metadata":...,
//         "commit_timestamp":...}
//        {"type":"note","message":...}
// A partition whose log cannot be read has log_end_offset -1 and lag -1 (a note says why).

#include <ostream>

#include "base/file.h"
#include "tools/dump_options.h"

namespace varve::dump {

// Returns the exit status: 0, or 2 if the metadata store cannot be opened or read.
int RunGroups(const DumpOptions& options, std::ostream& out, std::ostream& err, FileSystem* fs);

}  // namespace varve::dump
