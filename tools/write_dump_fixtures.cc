// Writes the log directories varve_dump_binary_test.sh runs the real binary on:
//   <dir>/clean/orders-0    three segments, batches of every codec, indexes, a checkpoint
//   <dir>/corrupt/orders-0  the same with one byte flipped in the middle of a segment
// Usage: write_dump_fixtures DIR

#include <cstdio>
#include <string>
#include <vector>

#include "base/file.h"
#include "tools/dump_test_util.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_dump_fixtures DIR\n");
    return 2;
  }
  using namespace varve;
  using namespace varve::dump;
  const std::string root = argv[1];
  const Compression codecs[] = {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                                Compression::kLz4, Compression::kZstd};
  std::vector<std::vector<std::string>> segments(3);
  int64_t base = 0;
  for (int s = 0; s < 3; ++s) {
    for (int b = 0; b < 10; ++b, base += 4) {
      segments[s].push_back(MakeBatch({.base_offset = base,
                                       .count = 4,
                                       .first_timestamp = 1714564800000 + base,
                                       .codec = codecs[b % 5],
                                       .value_padding = 40}));
    }
  }
  for (const char* name : {"clean", "corrupt"}) {
    const std::string dir = JoinPath(root, name);
    if (!PosixFileSystem()->CreateDir(dir).ok()) return 1;
    WriteLogDirectory(JoinPath(dir, "orders-0"), segments, /*index_interval_bytes=*/200);
    WriteFileOrDie(JoinPath(dir, "orders-0/recovery-point-offset-checkpoint"), "0\n1\n120\n");
  }
  const std::string victim = SegmentPath(JoinPath(root, "corrupt/orders-0"), 40, ".log");
  std::string bytes = ReadFileOrDie(victim);
  size_t at = 100;  // a record byte of the sixth batch, which is uncompressed
  for (int b = 0; b < 5; ++b) at += segments[1][b].size();
  bytes[at] ^= 0x20;
  WriteFileOrDie(victim, bytes);
  return 0;
}
