// varve-dump's range queries (--from/--to-offset, --from/--to-time) and digests (--digest).

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/fault_injection_fs.h"
#include "base/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/dump_test_util.h"
#include "tools/varve_dump.h"

namespace varve::dump {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Lt;
using ::testing::SizeIs;
using ::testing::StartsWith;

// Three segments of `batches_per_segment` 5-record batches: offsets from 1000, timestamps
// 100000 + 10 * base offset + i, so batch b (base 1000 + 5b) holds timestamps
// 110000 + 50b .. 110000 + 50b + 4. `compressed`: batch b uses codec 1 + b % 4.
std::vector<std::vector<std::string>> Segments(int batches_per_segment, int value_padding = 50,
                                               bool compressed = false) {
  std::vector<std::vector<std::string>> segments(3);
  int64_t base = 1000;
  for (auto& segment : segments) {
    for (int b = 0; b < batches_per_segment; ++b, base += 5) {
      const Compression codec =
          compressed ? static_cast<Compression>(1 + (base - 1000) / 5 % 4) : Compression::kNone;
      segment.push_back(MakeBatch({.base_offset = base,
                                   .count = 5,
                                   .first_timestamp = 100000 + 10 * base,
                                   .codec = codec,
                                   .value_padding = value_padding}));
    }
  }
  return segments;
}

// The record offsets printed.
std::vector<int64_t> RecordOffsets(const DumpResult& r) {
  std::vector<int64_t> offsets;
  for (const std::string& line : r.Lines("| offset: ")) {
    offsets.push_back(std::stoll(line.substr(std::string("| offset: ").size())));
  }
  return offsets;
}

std::vector<int64_t> Iota(int64_t from, int64_t to) {  // [from, to]
  std::vector<int64_t> v;
  for (int64_t i = from; i <= to; ++i) v.push_back(i);
  return v;
}

// The hex digest of a --digest run.
std::string DigestOf(const DumpResult& r) {
  const std::vector<std::string> lines = r.Lines("digest: ");
  EXPECT_THAT(lines, SizeIs(1)) << r.out << r.err;
  if (lines.size() != 1) return "";
  return std::vector<std::string>(absl::StrSplit(lines[0], ' '))[1];
}

class RangeTest : public ::testing::Test {
 protected:
  std::string log_dir() const { return dir_.Sub("events-0"); }
  TempDir dir_;
};

TEST_F(RangeTest, OffsetRangePrintsOnlyTheBatchesAndRecordsInIt) {
  WriteLogDirectory(log_dir(), Segments(4), /*index_interval_bytes=*/200);  // 1000-1019, ...
  DumpResult r = RunDump({"--records", "--from-offset=1017", "--to-offset", "1033", log_dir()});
  EXPECT_EQ(r.exit_code, kExitClean) << r.out << r.err;
  EXPECT_THAT(r.Lines("Dumping "), ElementsAre(HasSubstr("00000000000000001000.log"),
                                               HasSubstr("00000000000000001020.log")));
  EXPECT_THAT(r.Lines("baseOffset: "),
              ElementsAre(StartsWith("baseOffset: 1015 "), StartsWith("baseOffset: 1020 "),
                          StartsWith("baseOffset: 1025 "), StartsWith("baseOffset: 1030 ")));
  EXPECT_EQ(RecordOffsets(r), Iota(1017, 1033));
}

TEST_F(RangeTest, TimeRangeInMillisecondsAndIso8601) {
  WriteLogDirectory(log_dir(), Segments(4), /*index_interval_bytes=*/200);
  // Offset 1027 has timestamp 110252 (batch 1025), 1043 has 110403, 1044 110404.
  DumpResult ms = RunDump({"--records", "--from-time=110252", "--to-time=110403", log_dir()});
  EXPECT_EQ(ms.exit_code, kExitClean) << ms.out << ms.err;
  EXPECT_EQ(RecordOffsets(ms), Iota(1027, 1043));
  DumpResult iso = RunDump({"--records", "--from-time=1970-01-01T00:01:50.252Z",
                            "--to-time=1970-01-01T01:01:50.403+01:00", log_dir()});
  EXPECT_EQ(iso.out, ms.out);
}

TEST_F(RangeTest, TimeRangeIsExactInsideCompressedBatches) {
  // As TimeRangeInMillisecondsAndIso8601, with every batch compressed (each codec in turn): the
  // bounds fall inside batches, and the records printed start and end exactly at them.
  WriteLogDirectory(log_dir(), Segments(4, /*value_padding=*/50, /*compressed=*/true),
                    /*index_interval_bytes=*/100);
  DumpResult r = RunDump({"--records", "--from-time=110252", "--to-time=110403", log_dir()});
  EXPECT_EQ(r.exit_code, kExitClean) << r.out << r.err;
  EXPECT_EQ(RecordOffsets(r), Iota(1027, 1043));
  EXPECT_THAT(r.Lines("baseOffset: 1025 "), ElementsAre(HasSubstr("compression: snappy")));
}

TEST_F(RangeTest, TimeAndOffsetBoundsCombine) {
  WriteLogDirectory(log_dir(), Segments(4), /*index_interval_bytes=*/200);
  DumpResult r = RunDump({"--records", "--from-time=110252", "--to-offset=1030", log_dir()});
  EXPECT_EQ(RecordOffsets(r), Iota(1027, 1030));
}

TEST_F(RangeTest, RangeOutsideTheLogPrintsNothing) {
  WriteLogDirectory(log_dir(), Segments(2));
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--from-time=999999999", log_dir()},
        std::vector<std::string>{"--from-offset=5000", log_dir()},
        std::vector<std::string>{"--to-offset=10", log_dir()}}) {
    DumpResult r = RunDump(args);
    EXPECT_EQ(r.exit_code, kExitClean) << r.out;
    EXPECT_THAT(r.Lines("baseOffset: "), IsEmpty()) << args[0];
  }
}

TEST_F(RangeTest, RangesReadThroughTheIndexesNotTheWholeLog) {
  // ~1.9 MB of batches, indexed every 4 KiB as by default.
  WriteLogDirectory(log_dir(), Segments(1000, /*value_padding=*/100));
  const auto small_reads = [](DumpOptions* options) { options->read_chunk_bytes = 4096; };
  int64_t total = 0;
  for (int64_t base : {1000, 6000, 11000}) {
    total += static_cast<int64_t>(ReadFileOrDie(SegmentPath(log_dir(), base, ".log")).size());
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--from-offset=9000", "--to-offset=9009", log_dir()},
        // Offset 9000's timestamp: 100000 + 10 * 9000.
        std::vector<std::string>{"--from-time=190000", "--to-time=190095", log_dir()}}) {
    FaultInjectionFs fs(PosixFileSystem());
    DumpResult r = RunDump(args, &fs, small_reads);
    EXPECT_EQ(r.exit_code, kExitClean) << r.out << r.err;
    EXPECT_THAT(r.Lines("baseOffset: "),
                ElementsAre(StartsWith("baseOffset: 9000 "), StartsWith("baseOffset: 9005 ")));
    EXPECT_THAT(fs.StatsFor(".log").read_bytes, Lt(64 * 1024)) << "of " << total;
    EXPECT_THAT(fs.StatsFor(".index").read_bytes, Lt(4096));
  }
}

TEST_F(RangeTest, CorruptIndexEntryFallsBackToAScanAndIsReported) {
  WriteLogDirectory(log_dir(), Segments(4), /*index_interval_bytes=*/200);
  const std::string index = SegmentPath(log_dir(), 1000, ".index");
  std::string bytes = ReadFileOrDie(index);
  for (size_t i = 4; i < bytes.size(); i += 8) bytes[i + 3] ^= 0x07;  // every position is off
  WriteFileOrDie(index, bytes);
  DumpResult r = RunDump({"--records", "--from-offset=1012", "--to-offset=1013", log_dir()});
  EXPECT_EQ(r.exit_code, kExitCorrupt);
  EXPECT_EQ(RecordOffsets(r), Iota(1012, 1013));
  EXPECT_THAT(r.Problems(), ElementsAre(AllOf(StartsWith("problem: index_not_batch_start"),
                                              HasSubstr("looking up offset 1012"))));
}

// ---- digests --------------------------------------------------------------------------------

TEST_F(RangeTest, DigestIsTheSameForTwoCopiesAndChangesWithOneByte) {
  WriteLogDirectory(dir_.Sub("a-0"), Segments(5));
  WriteLogDirectory(dir_.Sub("b-0"), Segments(5));
  const std::string a = DigestOf(RunDump({"--digest", dir_.Sub("a-0")}));
  EXPECT_EQ(DigestOf(RunDump({"--digest", dir_.Sub("b-0")})), a);
  EXPECT_EQ(a.size(), 16u);

  const std::string path = SegmentPath(dir_.Sub("b-0"), 1025, ".log");
  std::string log = ReadFileOrDie(path);
  log[log.size() / 2] ^= 0x01;
  WriteFileOrDie(path, log);
  DumpResult changed = RunDump({"--digest", dir_.Sub("b-0")});
  EXPECT_NE(DigestOf(changed), a);
  EXPECT_EQ(changed.exit_code, kExitCorrupt);  // and the CRC mismatch is reported
  EXPECT_THAT(changed.Problems(), ElementsAre(StartsWith("problem: crc_mismatch")));
}

TEST_F(RangeTest, DigestDoesNotDependOnSegmentBoundaries) {
  const std::vector<std::vector<std::string>> three = Segments(4);
  std::vector<std::string> all;
  for (const auto& segment : three) all.insert(all.end(), segment.begin(), segment.end());
  WriteLogDirectory(dir_.Sub("three-0"), three);
  WriteLogDirectory(dir_.Sub("one-0"), {all});
  EXPECT_EQ(DigestOf(RunDump({"--digest", dir_.Sub("three-0")})),
            DigestOf(RunDump({"--digest", dir_.Sub("one-0")})));
}

TEST_F(RangeTest, DigestOfARangeIgnoresChangesOutsideIt) {
  WriteLogDirectory(dir_.Sub("a-0"), Segments(4));
  std::vector<std::vector<std::string>> segments = Segments(4);
  segments[2][3] = MakeBatch({.base_offset = 1055, .count = 5, .value_padding = 7});
  WriteLogDirectory(dir_.Sub("b-0"), segments);
  const std::vector<std::string> range = {"--digest", "--from-offset=1010", "--to-offset=1040"};
  auto with = [&](const std::string& dir) {
    std::vector<std::string> args = range;
    args.push_back(dir);
    return RunDump(args);
  };
  DumpResult a = with(dir_.Sub("a-0"));
  EXPECT_EQ(DigestOf(a), DigestOf(with(dir_.Sub("b-0"))));
  EXPECT_THAT(a.Lines("digest: "),
              ElementsAre(HasSubstr("batches: 7 bytes: ")));  // 1010-1014 ... 1040-1044
  EXPECT_THAT(a.Lines("digest: "), ElementsAre(HasSubstr("firstOffset: 1010 lastOffset: 1044")));
  EXPECT_NE(DigestOf(RunDump({"--digest", dir_.Sub("a-0")})),
            DigestOf(RunDump({"--digest", dir_.Sub("b-0")})));
}

TEST_F(RangeTest, DigestAsJson) {
  WriteLogDirectory(log_dir(), Segments(2));
  DumpResult r = RunDump({"--digest", "--json", log_dir()});
  EXPECT_EQ(r.exit_code, kExitClean);
  EXPECT_THAT(r.lines, ElementsAre(AllOf(StartsWith("{\"type\":\"digest\",\"digest\":\""),
                                         HasSubstr("\"algorithm\":\"xxh3_64\",\"batches\":6,"),
                                         HasSubstr("\"first_offset\":1000,\"last_offset\":1029"),
                                         HasSubstr("\"log\":\"" + log_dir() + "\"}"))));
}

}  // namespace
}  // namespace varve::dump
