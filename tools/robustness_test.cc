// varve-dump against what it must survive: it never writes, it reports unreadable files with
// exit status 2, and hostile bytes in any file produce problems, never a crash (these tests are
// most useful under --config=asan).

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/endian.h"
#include "base/fault_injection_fs.h"
#include "base/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/dump_test_util.h"
#include "tools/varve_dump.h"

namespace varve::dump {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

// A log with every codec, several segments, indexes and checkpoints.
void WriteMixedLog(const std::string& dir) {
  std::vector<std::vector<std::string>> segments(3);
  int64_t base = 0;
  const Compression codecs[] = {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                                Compression::kLz4, Compression::kZstd};
  for (int s = 0; s < 3; ++s) {
    for (int b = 0; b < 10; ++b, base += 4) {
      segments[s].push_back(MakeBatch({.base_offset = base,
                                       .count = 4,
                                       .first_timestamp = 5000 + base,
                                       .codec = codecs[(s + b) % 5],
                                       .value_padding = 30}));
    }
  }
  WriteLogDirectory(dir, segments, /*index_interval_bytes=*/150);
  WriteFileOrDie(dir + "/recovery-point-offset-checkpoint", "0\n1\n120\n");
  WriteFileOrDie(dir + "/.varve-clean-shutdown",
                 "0\n3\nactive_base 80\nsize 99\nnext_offset 120\n");
}

std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  absl::StatusOr<std::vector<std::string>> names = PosixFileSystem()->ListDir(dir);
  EXPECT_TRUE(names.ok());
  for (const std::string& name : *names) files[name] = ReadFileOrDie(dir + "/" + name);
  return files;
}

const std::vector<std::vector<std::string>>& AllModes() {
  static const auto* modes = new std::vector<std::vector<std::string>>{
      {},
      {"--records", "--indexes"},
      {"--records", "--json", "--full"},
      {"--verify"},
      {"--digest"},
      {"--records", "--from-offset=37", "--to-offset=90"},
      {"--from-time=5050", "--to-time=5090", "--indexes"},
      {"--digest", "--from-time=5010"},
  };
  return *modes;
}

TEST(RobustnessTest, DumpIsReadOnly) {
  TempDir tmp;
  const std::string dir = tmp.Sub("t-0");
  WriteMixedLog(dir);
  // A crashed active segment: preallocated indexes, a torn tail; and a corrupt sealed one.
  const std::string active_index = SegmentPath(dir, 80, ".index");
  WriteFileOrDie(active_index, ReadFileOrDie(active_index) + std::string(4096, '\0'));
  const std::string active_log = SegmentPath(dir, 80, ".log");
  WriteFileOrDie(active_log, ReadFileOrDie(active_log) + std::string("\0\0\0\0\0\0\0\0\0\0\0\x7f"
                                                                     "xy",
                                                                     14));
  const std::string sealed = SegmentPath(dir, 40, ".log");
  std::string bytes = ReadFileOrDie(sealed);
  bytes[bytes.size() / 3] ^= 0x10;
  WriteFileOrDie(sealed, bytes);
  const std::map<std::string, std::string> before = Snapshot(dir);

  FaultInjectionFs fs(PosixFileSystem());
  for (std::vector<std::string> args : AllModes()) {
    args.push_back(dir);
    DumpResult r = RunDump(args, &fs);
    EXPECT_EQ(r.exit_code, kExitCorrupt) << absl::StrJoin(args, " ") << "\n" << r.out << r.err;
  }
  for (const std::string& file : {active_log, active_index, sealed}) {
    DumpResult r = RunDump({file}, &fs);
    EXPECT_THAT(r.exit_code, AnyOf(Eq(kExitClean), Eq(kExitCorrupt))) << file;
  }
  const IoStats stats = fs.StatsFor("");
  EXPECT_EQ(stats.writes, 0);
  EXPECT_EQ(stats.syncs, 0);
  EXPECT_EQ(stats.maps, 0);
  EXPECT_GT(stats.reads, 0);
  EXPECT_EQ(Snapshot(dir), before);
}

TEST(RobustnessTest, UnreadableFileExitsWith2) {
  TempDir tmp;
  const std::string dir = tmp.Sub("t-0");
  WriteMixedLog(dir);
  struct Case {
    FaultOp op;
    const char* path_contains;
    const char* mode;
  };
  const Case cases[] = {
      {FaultOp::kRead, ".log", "--verify"},        {FaultOp::kRead, ".log", "--digest"},
      {FaultOp::kRead, ".log", "--records"},       {FaultOp::kOpen, ".log", "--verify"},
      {FaultOp::kRead, ".index", "--verify"},      {FaultOp::kOpen, ".timeindex", "--verify"},
      {FaultOp::kRead, ".timeindex", "--indexes"}, {FaultOp::kListDir, "t-0", "--verify"},
      {FaultOp::kRead, "checkpoint", "--verify"},
  };
  for (const Case& c : cases) {
    FaultInjectionFs fs(PosixFileSystem());
    fs.AddRule({.op = c.op, .path_contains = c.path_contains, .times = -1});
    DumpResult r = RunDump({c.mode, dir}, &fs);
    EXPECT_EQ(r.exit_code, kExitUsage) << c.mode << " " << c.path_contains << "\n" << r.out;
    EXPECT_THAT(r.err, HasSubstr("varve-dump: ")) << c.mode << " " << c.path_contains;
  }
}

// Random damage to every kind of file: the tool must report and go on, never crash, hang or
// exhaust memory. Deterministic (fixed seed), so a failure reproduces.
TEST(RobustnessTest, HostileFilesNeverCrash) {
  TempDir tmp;
  const std::string pristine = tmp.Sub("pristine-0");
  WriteMixedLog(pristine);
  const std::map<std::string, std::string> files = Snapshot(pristine);
  std::mt19937_64 rng(20240501);
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  const std::string dir = tmp.Sub("t-0");
  PosixFileSystem()->CreateDir(dir).IgnoreError();
  for (int round = 0; round < 120; ++round) {
    for (const auto& [name, contents] : files) {
      std::string bytes = contents;
      const int damage = static_cast<int>(pick(6));
      for (int d = 0; d < damage && !bytes.empty(); ++d) {
        const int64_t at = pick(static_cast<int64_t>(bytes.size()));
        switch (pick(6)) {
          case 0:  // flip a byte
            bytes[at] = static_cast<char>(bytes[at] ^ (1 + pick(255)));
            break;
          case 1:  // cut the file
            bytes.resize(at);
            break;
          case 2:  // a hostile 32-bit field (a length, a count, a relative offset)
            if (at + 4 <= static_cast<int64_t>(bytes.size())) {
              const uint32_t values[] = {0x7fffffff, 0x80000000, 0xffffffff, 0, 49, 61};
              StoreBE32(bytes.data() + at, values[pick(6)]);
            }
            break;
          case 3:  // zeros
            bytes.replace(at, std::min<int64_t>(pick(200), bytes.size() - at),
                          std::string(pick(200), '\0'));
            break;
          case 4:  // garbage inserted
            bytes.insert(at, std::string(pick(100), static_cast<char>(pick(256))));
            break;
          default:  // a batch copied over another place
            bytes.replace(at, 0, bytes.substr(pick(static_cast<int64_t>(bytes.size())), 200));
            break;
        }
      }
      WriteFileOrDie(dir + "/" + name, bytes);
    }
    for (std::vector<std::string> args : AllModes()) {
      args.push_back(dir);
      DumpResult r = RunDump(args);
      ASSERT_THAT(r.exit_code, AnyOf(Eq(kExitClean), Eq(kExitCorrupt)))
          << "round " << round << ": " << absl::StrJoin(args, " ") << "\n"
          << r.err;
    }
  }
}

TEST(RobustnessTest, FileOfRandomBytesNeverCrashes) {
  TempDir tmp;
  std::mt19937_64 rng(7);
  for (const char* name : {"00000000000000000000.log", "00000000000000000000.index",
                           "00000000000000000000.timeindex", "leader-epoch-checkpoint"}) {
    for (int round = 0; round < 40; ++round) {
      std::string bytes(rng() % 5000, '\0');
      for (char& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? 2 : rng());
      WriteFileOrDie(tmp.Sub(name), bytes);
      for (const char* mode : {"--records", "--verify", "--indexes"}) {
        DumpResult r = RunDump({mode, tmp.Sub(name)});
        ASSERT_THAT(r.exit_code, AnyOf(Eq(kExitClean), Eq(kExitCorrupt))) << name << r.err;
      }
    }
  }
}

}  // namespace
}  // namespace varve::dump
