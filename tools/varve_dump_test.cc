// End-to-end tests of varve-dump through its library entry point (RunVarveDump): clean logs,
// the corruptions the issue lists, compressed batches of every codec, and wrong arguments.
// Ranges and digests: range_digest_test.cc; read-only and hostile inputs: robustness_test.cc.

#include "tools/varve_dump.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/endian.h"
#include "base/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"
#include "log/compression/test_codecs.h"
#include "log/log.h"
#include "tools/dump_test_util.h"

namespace varve::dump {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

class VarveDumpTest : public ::testing::Test {
 protected:
  // Two sealed segments and an active one, each of four 5-record batches with ~100-byte values,
  // indexed every 256 bytes: offsets 100-119, 120-139, 140-159 (three digits each, so that all
  // batches have the same size).
  void WriteThreeSegments() {
    std::vector<std::vector<std::string>> segments(3);
    for (int s = 0; s < 3; ++s) {
      for (int b = 0; b < 4; ++b) {
        const int64_t base = 100 + s * 20 + b * 5;
        segments[s].push_back(MakeBatch({.base_offset = base,
                                         .count = 5,
                                         .first_timestamp = 10000 + base * 10,
                                         .value_padding = 100}));
      }
    }
    WriteLogDirectory(log_dir(), segments, /*index_interval_bytes=*/256);
  }
  std::string log_dir() const { return dir_.Sub("orders-0"); }
  std::string SegmentFile(int64_t base, absl::string_view ext) const {
    return SegmentPath(log_dir(), base, ext);
  }
  // Position of batch `i` (0-3) in each of the segments above: all batches have one size.
  int64_t BatchPosition(int i) const {
    return i * static_cast<int64_t>(
                   MakeBatch({.base_offset = 100, .count = 5, .value_padding = 100}).size());
  }

  TempDir dir_;
};

// ---- clean logs -----------------------------------------------------------------------------

TEST_F(VarveDumpTest, CleanLogVerifiesClean) {
  WriteThreeSegments();
  DumpResult r = RunDump({"--verify", log_dir()});
  EXPECT_EQ(r.exit_code, kExitClean) << r.out << r.err;
  EXPECT_THAT(r.Problems(), IsEmpty());
  EXPECT_THAT(r.Lines("summary: "),
              ElementsAre(AllOf(StartsWith("summary: clean logs: 1 segments: 3 batches: 12 "
                                           "records: 60 indexEntries: "),
                                HasSubstr("problems: 0"))));
}

TEST_F(VarveDumpTest, CleanLogPrintsOneLinePerBatch) {
  WriteThreeSegments();
  DumpResult r = RunDump({log_dir()});
  EXPECT_EQ(r.exit_code, kExitClean) << r.out << r.err;
  EXPECT_THAT(r.Lines("Dumping "), ElementsAre(HasSubstr("00000000000000000100.log"),
                                               HasSubstr("00000000000000000120.log"),
                                               HasSubstr("00000000000000000140.log")));
  const std::vector<std::string> batches = r.Lines("baseOffset: ");
  ASSERT_THAT(batches, SizeIs(12));
  EXPECT_THAT(batches[5],
              StartsWith(absl::StrCat("baseOffset: 125 lastOffset: 129 count: 5 position: ",
                                      BatchPosition(1), " size: ")));
  EXPECT_THAT(batches[5], HasSubstr("firstTimestamp: 11250 maxTimestamp: 11254 "
                                    "timestampType: CreateTime compression: none "
                                    "producerId: -1 producerEpoch: -1 baseSequence: -1 "
                                    "partitionLeaderEpoch: 0 isTransactional: false "
                                    "isControl: false crc: "));
  EXPECT_THAT(batches[5], testing::EndsWith("isValid: true"));
}

TEST_F(VarveDumpTest, CleanLogWrittenByTheEngineVerifiesClean) {
  LogOptions options;
  options.config.segment_bytes = 2048;
  options.config.index_interval_bytes = 300;
  std::vector<std::string> values;
  {
    absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(log_dir(), options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 60; ++i) {
      values.push_back(absl::StrCat("value-", i, std::string(i % 40, 'x')));
      RecordToAppend record{.key = "k", .value = values.back(), .timestamp = 5000 + i};
      ASSERT_TRUE((*log)->Append({&record, 1}).ok());
    }
    for (Compression codec :
         {Compression::kGzip, Compression::kSnappy, Compression::kLz4, Compression::kZstd}) {
      std::string batch = MakeBatch({.count = 3, .first_timestamp = 9000, .codec = codec});
      ASSERT_TRUE((*log)->AppendBatch(absl::MakeSpan(batch)).ok());
    }
    ASSERT_TRUE((*log)->Close().ok());
  }
  DumpResult verify = RunDump({"--verify", log_dir()});
  EXPECT_EQ(verify.exit_code, kExitClean) << verify.out << verify.err;
  EXPECT_THAT(verify.Lines("summary: "), ElementsAre(HasSubstr("records: 72 ")));
  EXPECT_THAT(verify.Lines("summary: "), ElementsAre(Not(HasSubstr("segments: 1 "))));
  // Checkpoints and the clean-shutdown marker agree with the files; indexes are trimmed.
  EXPECT_THAT(verify.Lines("note: "), IsEmpty());

  DumpResult dump = RunDump({"--records", log_dir()});
  EXPECT_EQ(dump.exit_code, kExitClean) << dump.out << dump.err;
  const std::vector<std::string> records = dump.Lines("| offset: ");
  ASSERT_THAT(records, SizeIs(72));
  EXPECT_THAT(records[7], HasSubstr(absl::StrCat("value: \"", values[7], "\"")));
  EXPECT_THAT(records[71], HasSubstr("offset: 71 timestamp: 9002 keySize: 2 valueSize: 2 "
                                     "key: \"k2\" value: \"v2\" headers: []"));
}

// ---- corruption -----------------------------------------------------------------------------

TEST_F(VarveDumpTest, FlippedByteMidSegmentIsReportedWithFileAndPosition) {
  WriteThreeSegments();
  const std::string path = SegmentFile(120, ".log");
  std::string log = ReadFileOrDie(path);
  log[BatchPosition(2) + 100] ^= 0x01;  // a value byte of the third batch
  WriteFileOrDie(path, log);

  DumpResult verify = RunDump({"--verify", log_dir()});
  EXPECT_EQ(verify.exit_code, kExitCorrupt);
  EXPECT_THAT(verify.Problems(),
              ElementsAre(AllOf(StartsWith("problem: crc_mismatch file: " + path),
                                HasSubstr(absl::StrCat("position: ", BatchPosition(2), " ")))));
  EXPECT_THAT(verify.Lines("summary: "),
              ElementsAre(AllOf(HasSubstr("corrupt"), HasSubstr("batches: 12 "))));

  // The dump keeps going: every batch is printed, the bad one marked.
  DumpResult dump = RunDump({log_dir()});
  EXPECT_EQ(dump.exit_code, kExitCorrupt);
  EXPECT_THAT(dump.Lines("baseOffset: "), SizeIs(12));
  EXPECT_THAT(dump.Lines("baseOffset: 130 "), ElementsAre(HasSubstr("isValid: false")));
}

TEST_F(VarveDumpTest, FlippedLengthByteSkipsToTheNextValidBatch) {
  WriteThreeSegments();
  const std::string path = SegmentFile(100, ".log");
  std::string log = ReadFileOrDie(path);
  log[BatchPosition(1) + kBatchLengthPos + 1] ^= 0x40;  // BatchLength of the second batch
  WriteFileOrDie(path, log);

  DumpResult verify = RunDump({"--verify", log_dir()});
  EXPECT_EQ(verify.exit_code, kExitCorrupt);
  ASSERT_THAT(verify.Problems(), Not(IsEmpty()));
  EXPECT_THAT(verify.Problems()[0],
              AllOf(HasSubstr("file: " + path),
                    HasSubstr(absl::StrCat("position: ", BatchPosition(1), " ")),
                    HasSubstr(absl::StrCat("next valid batch at byte ", BatchPosition(2)))));
  // The batches after the damaged one are still read and checked (a gap is reported).
  EXPECT_THAT(verify.Lines("summary: "), ElementsAre(HasSubstr("batches: 11 ")));
  EXPECT_TRUE(verify.Contains("problem: offset_gap"));
}

TEST_F(VarveDumpTest, FlippedBaseOffsetByteIsOneProblem) {
  WriteThreeSegments();
  const std::string path = SegmentFile(120, ".log");
  std::string log = ReadFileOrDie(path);
  log[BatchPosition(2) + kBaseOffsetPos + 1] ^= 0x04;  // outside the CRC
  WriteFileOrDie(path, log);

  DumpResult verify = RunDump({"--verify", log_dir()});
  EXPECT_EQ(verify.exit_code, kExitCorrupt);
  // Not a cascade of offset and index problems: the neighbors say what the offset must be.
  EXPECT_THAT(verify.Problems(),
              ElementsAre(AllOf(StartsWith("problem: bad_base_offset file: " + path),
                                HasSubstr(absl::StrCat("position: ", BatchPosition(2), " ")),
                                HasSubstr("put it at 130"))));
  // The dump shows the bytes as stored.
  DumpResult dump = RunDump({log_dir()});
  EXPECT_THAT(dump.Lines("baseOffset: "), Contains(StartsWith("baseOffset: 1125899906842754 ")));
}

TEST_F(VarveDumpTest, TornTailIsReported) {
  WriteThreeSegments();
  const std::string path = SegmentFile(140, ".log");
  std::string log = ReadFileOrDie(path);
  log.resize(BatchPosition(3) + 30);  // the last batch cut off after 30 bytes
  WriteFileOrDie(path, log);

  DumpResult verify = RunDump({"--verify", log_dir()});
  EXPECT_EQ(verify.exit_code, kExitCorrupt);
  ASSERT_THAT(verify.Problems(), Not(IsEmpty()));
  EXPECT_THAT(verify.Problems()[0],
              AllOf(StartsWith("problem: torn_tail file: " + path),
                    HasSubstr(absl::StrCat("position: ", BatchPosition(3), " ")),
                    HasSubstr("length_beyond_buffer")));
  // The indexes still name the lost batch.
  EXPECT_TRUE(verify.Contains("problem: index_not_batch_start"));
  DumpResult dump = RunDump({log_dir()});
  EXPECT_EQ(dump.exit_code, kExitCorrupt);
  EXPECT_THAT(dump.Lines("baseOffset: "), SizeIs(11));
}

TEST_F(VarveDumpTest, ZeroFilledTailIsATornTail) {
  WriteThreeSegments();
  const std::string path = SegmentFile(140, ".log");
  WriteFileOrDie(path, ReadFileOrDie(path) + std::string(5000, '\0'));
  DumpResult verify = RunDump({"--verify", log_dir()});
  EXPECT_EQ(verify.exit_code, kExitCorrupt);
  EXPECT_THAT(verify.Problems(),
              ElementsAre(AllOf(StartsWith("problem: torn_tail"), HasSubstr("5000 zero bytes"))));
}

TEST_F(VarveDumpTest, TruncatedIndexIsReported) {
  WriteThreeSegments();
  const std::string index = SegmentFile(100, ".index");
  const std::string bytes = ReadFileOrDie(index);
  ASSERT_GE(bytes.size(), 16u);
  WriteFileOrDie(index, bytes.substr(0, bytes.size() - 5));  // a cut-off last entry

  DumpResult r = RunDump({"--verify", log_dir()});
  EXPECT_EQ(r.exit_code, kExitCorrupt);
  EXPECT_THAT(r.Problems(),
              ElementsAre(AllOf(StartsWith("problem: index_partial_entry file: " + index),
                                HasSubstr(absl::StrCat("position: ", bytes.size() - 8, " ")))));
}

TEST_F(VarveDumpTest, TimeIndexLackingItsFinalEntryIsReported) {
  WriteThreeSegments();
  const std::string index = SegmentFile(120, ".timeindex");
  const std::string bytes = ReadFileOrDie(index);
  WriteFileOrDie(index, bytes.substr(0, bytes.size() - 12));  // whole entries: no partial one

  DumpResult r = RunDump({"--verify", log_dir()});
  EXPECT_EQ(r.exit_code, kExitCorrupt);
  EXPECT_THAT(r.Problems(), ElementsAre(AllOf(StartsWith("problem: time_index_missing_final_entry"),
                                              HasSubstr("largest timestamp is 11354"))));
}

TEST_F(VarveDumpTest, IndexEntryPointingAtTheMiddleOfABatchIsReported) {
  WriteThreeSegments();
  const std::string index = SegmentFile(100, ".index");
  std::string bytes = ReadFileOrDie(index);
  ASSERT_GE(bytes.size(), 8u);
  const int64_t position = LoadBE32(bytes.data() + 4);
  StoreBE32(bytes.data() + 4, static_cast<uint32_t>(position + 10));
  WriteFileOrDie(index, bytes);

  DumpResult verify = RunDump({"--verify", log_dir()});
  EXPECT_EQ(verify.exit_code, kExitCorrupt);
  EXPECT_THAT(
      verify.Problems(),
      ElementsAre(AllOf(StartsWith("problem: index_not_batch_start file: " + index),
                        HasSubstr("position: 0 "),
                        HasSubstr(absl::StrCat("no batch starts at byte ", position + 10)))));
  // --indexes prints the entries and the same check.
  DumpResult dump = RunDump({"--indexes", log_dir()});
  EXPECT_EQ(dump.exit_code, kExitCorrupt);
  EXPECT_THAT(dump.Lines("offset: "), Not(IsEmpty()));
  EXPECT_THAT(dump.Lines("timestamp: "), Not(IsEmpty()));
  EXPECT_THAT(dump.Problems(), ElementsAre(StartsWith("problem: index_not_batch_start")));
  // So does the index file on its own, checked against its sibling .log.
  DumpResult alone = RunDump({index});
  EXPECT_EQ(alone.exit_code, kExitCorrupt);
  EXPECT_THAT(alone.Problems(), ElementsAre(StartsWith("problem: index_not_batch_start")));
}

TEST_F(VarveDumpTest, IndexEntryWithTheWrongOffsetIsReported) {
  WriteThreeSegments();
  const std::string index = SegmentFile(100, ".index");
  std::string bytes = ReadFileOrDie(index);
  ASSERT_GE(bytes.size(), 8u);
  StoreBE32(bytes.data(), LoadBE32(bytes.data()) - 2);  // not the batch's last offset
  WriteFileOrDie(index, bytes);
  DumpResult r = RunDump({"--verify", log_dir()});
  EXPECT_EQ(r.exit_code, kExitCorrupt);
  EXPECT_THAT(r.Problems(), ElementsAre(StartsWith("problem: index_offset_mismatch")));
}

TEST_F(VarveDumpTest, OffsetGapAcrossSegmentsIsReportedUnlessAllowed) {
  WriteLogDirectory(log_dir(), {{MakeBatch({.base_offset = 0, .count = 3})},
                                {MakeBatch({.base_offset = 5, .count = 3})}});
  DumpResult r = RunDump({"--verify", log_dir()});
  EXPECT_EQ(r.exit_code, kExitCorrupt);
  EXPECT_THAT(r.Problems(), ElementsAre(AllOf(StartsWith("problem: offset_gap"),
                                              HasSubstr("offsets 3-4 are missing"))));
  EXPECT_EQ(RunDump({"--verify", "--allow-gaps", log_dir()}).exit_code, kExitClean);
}

TEST_F(VarveDumpTest, PreallocatedIndexTailIsANoteNotAProblem) {
  WriteThreeSegments();
  // The active segment's indexes as a crash leaves them: preallocated with zeros.
  for (absl::string_view ext : {".index", ".timeindex"}) {
    const std::string path = SegmentFile(140, ext);
    WriteFileOrDie(path, ReadFileOrDie(path) + std::string(12 * 1000, '\0'));
  }
  DumpResult r = RunDump({"--verify", log_dir()});
  EXPECT_EQ(r.exit_code, kExitClean) << r.out;
  EXPECT_THAT(r.Lines("note: "), SizeIs(2));
}

// ---- compression ----------------------------------------------------------------------------

class CompressedBatchTest : public VarveDumpTest,
                            public ::testing::WithParamInterface<Compression> {};

TEST_P(CompressedBatchTest, RecordsAreDecoded) {
  WriteLogDirectory(log_dir(), {{MakeBatch({.base_offset = 0, .count = 2}),
                                 MakeBatch({.base_offset = 2,
                                            .count = 50,
                                            .first_timestamp = 7000,
                                            .codec = GetParam(),
                                            .value_padding = 20}),
                                 MakeBatch({.base_offset = 52, .count = 1})}});
  DumpResult r = RunDump({"--records", log_dir()});
  EXPECT_EQ(r.exit_code, kExitClean) << r.out << r.err;
  EXPECT_THAT(r.Lines("baseOffset: 2 "),
              ElementsAre(HasSubstr(absl::StrCat("compression: ", CompressionName(GetParam())))));
  const std::vector<std::string> records = r.Lines("| offset: ");
  ASSERT_THAT(records, SizeIs(53));
  EXPECT_THAT(records[40], HasSubstr("offset: 40 timestamp: 7038 keySize: 3 valueSize: 23 "
                                     "key: \"k40\" value: \"v40....................\""));
  EXPECT_EQ(RunDump({"--verify", log_dir()}).exit_code, kExitClean);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CompressedBatchTest,
                         ::testing::Values(Compression::kGzip, Compression::kSnappy,
                                           Compression::kLz4, Compression::kZstd),
                         [](const ::testing::TestParamInfo<Compression>& info) {
                           return std::string(CompressionName(info.param));
                         });

TEST_F(VarveDumpTest, RawSnappyBatchIsDecoded) {
  std::string batch = MakeBatch({.count = 4});
  std::string raw(batch.substr(0, kBatchHeaderSize));
  raw += SnappyRawForTest(absl::string_view(batch).substr(kBatchHeaderSize));
  StoreBE32(raw.data() + kBatchLengthPos, static_cast<uint32_t>(raw.size() - kLogOverhead));
  StoreBE16(raw.data() + kAttributesPos, static_cast<uint16_t>(Compression::kSnappy));
  FixCrc(&raw);
  WriteLogDirectory(log_dir(), {{raw}});
  DumpResult r = RunDump({"--records", log_dir()});
  EXPECT_EQ(r.exit_code, kExitClean) << r.out;
  EXPECT_THAT(r.Lines("| offset: "), SizeIs(4));
}

TEST_F(VarveDumpTest, CorruptCompressedPayloadIsReported) {
  // The zstd frame cut short, in a batch whose length and CRC are right for what is left.
  std::string batch = MakeBatch({.count = 10, .codec = Compression::kZstd});
  batch.resize(batch.size() - 5);
  StoreBE32(batch.data() + kBatchLengthPos, static_cast<uint32_t>(batch.size() - kLogOverhead));
  FixCrc(&batch);
  WriteLogDirectory(log_dir(), {{batch}});
  DumpResult r = RunDump({"--verify", log_dir()});
  EXPECT_EQ(r.exit_code, kExitCorrupt);
  EXPECT_THAT(r.Problems(),
              ElementsAre(AllOf(StartsWith("problem: decompression_failed"), HasSubstr("zstd"))));
}

TEST_F(VarveDumpTest, ZipBombBatchIsReportedNotDecoded) {
  BatchBuilder builder;
  builder.Add(1, "k", std::string(4 << 20, '\0'));  // 4 MiB of zeros: a few hundred bytes in zstd
  WriteLogDirectory(log_dir(), {{CompressBatchForTest(builder.Build(), Compression::kZstd)}});
  DumpResult r = RunDump({"--records", log_dir()});
  EXPECT_EQ(r.exit_code, kExitCorrupt);
  EXPECT_THAT(r.Problems(), ElementsAre(AllOf(StartsWith("problem: decompression_limit"),
                                              HasSubstr("exceeds the limit"))));
  EXPECT_THAT(r.Lines("| offset: "), IsEmpty());
}

// ---- records --------------------------------------------------------------------------------

TEST_F(VarveDumpTest, RecordBytesAreEscapedAndLongValuesElided) {
  BatchBuilder builder;
  const HeaderRef headers[] = {{"trace", absl::string_view("\x01\x02", 2)},
                               {"empty", std::nullopt}};
  builder.Add(1, std::string("\xff\x00k", 3), std::string(300, 'a'), headers);
  builder.Add(2, std::nullopt, "caf\xc3\xa9 \"quoted\"\n");
  WriteLogDirectory(log_dir(), {{builder.Build()}});

  DumpResult r = RunDump({"--records", log_dir()});
  const std::vector<std::string> records = r.Lines("| offset: ");
  ASSERT_THAT(records, SizeIs(2));
  EXPECT_THAT(records[0], HasSubstr("keySize: 3 valueSize: 300 key: \"\\xff\\x00k\" value: \"" +
                                    std::string(128, 'a') +
                                    "\"... headers: "
                                    "[\"trace\"=\"\\x01\\x02\", \"empty\"=null]"));
  EXPECT_THAT(records[1], HasSubstr("key: null value: \"caf\xc3\xa9 \\\"quoted\\\"\\n\""));

  DumpResult full = RunDump({"--records", "--full", log_dir()});
  EXPECT_THAT(full.Lines("| offset: 0 "),
              ElementsAre(HasSubstr("value: \"" + std::string(300, 'a') + "\" ")));

  DumpResult json = RunDump({"--records", "--json", log_dir()});
  EXPECT_THAT(json.Lines("{\"type\":\"record\""),
              ElementsAre(AllOf(HasSubstr("\"key\":\"/wBr\",\"key_base64\":true"),
                                HasSubstr("\"value_truncated\":true"),
                                HasSubstr("\"headers\":[{\"key\":\"trace\",\"value\":"
                                          "\"\\u0001\\u0002\"},{\"key\":\"empty\","
                                          "\"value\":null}]")),
                          HasSubstr("\"value\":\"caf\xc3\xa9 \\\"quoted\\\"\\n\"")));
}

// ---- inputs and arguments -------------------------------------------------------------------

TEST_F(VarveDumpTest, DataDirectoryDumpsEveryPartition) {
  WriteLogDirectory(dir_.Sub("a-0"), {{MakeBatch({.count = 2})}});
  WriteLogDirectory(dir_.Sub("b-3"), {{MakeBatch({.count = 3})}});
  DumpResult r = RunDump({"--verify", dir_.path()});
  EXPECT_EQ(r.exit_code, kExitClean) << r.out;
  EXPECT_THAT(r.Lines("summary: "), ElementsAre(HasSubstr("logs: 2 segments: 2 batches: 2")));
}

TEST_F(VarveDumpTest, CheckpointFilesAreDumpedAndChecked) {
  WriteThreeSegments();
  WriteFileOrDie(log_dir() + "/recovery-point-offset-checkpoint", "0\n1\n40\n");
  WriteFileOrDie(log_dir() + "/log-start-offset-checkpoint", "0\n2\n5\n");  // count says 2
  DumpResult dump = RunDump({log_dir() + "/recovery-point-offset-checkpoint"});
  EXPECT_EQ(dump.exit_code, kExitClean) << dump.out;
  EXPECT_THAT(dump.Lines("entry: "), ElementsAre("entry: 40"));

  DumpResult verify = RunDump({"--verify", log_dir()});
  EXPECT_EQ(verify.exit_code, kExitCorrupt);
  EXPECT_THAT(verify.Problems(), ElementsAre(AllOf(StartsWith("problem: checkpoint_malformed"),
                                                   HasSubstr("says 2 entries but the file has "
                                                             "1"))));

  WriteFileOrDie(log_dir() + "/log-start-offset-checkpoint", "0\n1\n5\n");
  WriteFileOrDie(log_dir() + "/recovery-point-offset-checkpoint", "0\n1\n175\n");
  EXPECT_THAT(RunDump({"--verify", log_dir()}).Problems(),
              ElementsAre(AllOf(StartsWith("problem: checkpoint_beyond_log_end"),
                                HasSubstr("recovery point 175 is beyond the log end offset 160"))));
}

TEST_F(VarveDumpTest, WrongArgumentsExitWith2) {
  WriteThreeSegments();
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"--bogus", log_dir()},
      {"--from-offset", log_dir()},
      {"--from-offset=-3", log_dir()},
      {"--from-offset=abc", log_dir()},
      {"--to-offset"},
      {"--from-time=yesterday", log_dir()},
      {"--from-offset=9", "--to-offset=3", log_dir()},
      {"--verify", "--digest", log_dir()},
      {"--verify", "--records", log_dir()},
      {"--verify", "--from-offset=3", log_dir()},
      {"--full", log_dir()},
      {"--json=yes", log_dir()},
      {dir_.Sub("missing")},
      {log_dir() + "/../orders-0/nothing.txt"},
      {dir_.Sub("empty")},  // nothing to read: most likely the wrong path
  };
  ASSERT_TRUE(PosixFileSystem()->CreateDir(dir_.Sub("empty")).ok());
  WriteFileOrDie(log_dir() + "/nothing.txt", "x");
  for (const std::vector<std::string>& args : cases) {
    DumpResult r = RunDump(args);
    EXPECT_EQ(r.exit_code, kExitUsage) << absl::StrJoin(args, " ");
    EXPECT_THAT(r.err, StartsWith("varve-dump: ")) << absl::StrJoin(args, " ");
    EXPECT_EQ(r.out, "") << absl::StrJoin(args, " ");
  }
  EXPECT_THAT(RunDump({"--bogus", log_dir()}).err, HasSubstr("unknown flag --bogus"));
}

TEST_F(VarveDumpTest, HelpPrintsUsage) {
  DumpResult r = RunDump({"--help"});
  EXPECT_EQ(r.exit_code, kExitClean);
  EXPECT_THAT(r.out, StartsWith("Usage: varve-dump"));
}

}  // namespace
}  // namespace varve::dump
