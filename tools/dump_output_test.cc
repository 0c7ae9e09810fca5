#include "tools/dump_output.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "log/batch_builder.h"

namespace varve::dump {
namespace {

using ::testing::HasSubstr;

TEST(QuoteBytesTest, TextStaysTextAndEverythingElseIsEscaped) {
  EXPECT_EQ(QuoteBytes(""), "\"\"");
  EXPECT_EQ(QuoteBytes("plain text 123"), "\"plain text 123\"");
  EXPECT_EQ(QuoteBytes("a\"b\\c\n\r\t"), "\"a\\\"b\\\\c\\n\\r\\t\"");
  EXPECT_EQ(QuoteBytes(std::string("\x00\x01\x7f", 3)), "\"\\x00\\x01\\x7f\"");
  EXPECT_EQ(QuoteBytes("na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80\"");
  // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong '/', a
  // surrogate; and a C1 control character (valid UTF-8, not printable).
  EXPECT_EQ(QuoteBytes("\x80"), "\"\\x80\"");
  EXPECT_EQ(QuoteBytes("\xe2\x82"), "\"\\xe2\\x82\"");
  EXPECT_EQ(QuoteBytes("\xc0\xaf"), "\"\\xc0\\xaf\"");
  EXPECT_EQ(QuoteBytes("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\"");
  EXPECT_EQ(QuoteBytes("\xc2\x85"), "\"\\xc2\\x85\"");
}

TEST(JsonQuoteTest, ProducesValidJsonStrings) {
  EXPECT_EQ(JsonQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(JsonQuote(std::string("\x00\x1f", 2)), "\"\\u0000\\u001f\"");
  EXPECT_EQ(JsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(JsonQuote("bad\xff"), "\"bad\\ufffd\"");
}

TEST(Utf8Test, Validity) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(SnakeToCamelTest, Converts) {
  EXPECT_EQ(SnakeToCamel("base_offset"), "baseOffset");
  EXPECT_EQ(SnakeToCamel("partition_leader_epoch"), "partitionLeaderEpoch");
  EXPECT_EQ(SnakeToCamel("size"), "size");
}

class PrinterTest : public ::testing::Test {
 protected:
  std::string Print(bool json, const std::function<void(DumpPrinter*)>& f, size_t max = 8) {
    std::ostringstream out;
    DumpPrinter printer(&out, json, max);
    f(&printer);
    return out.str();
  }
};

TEST_F(PrinterTest, ProblemLines) {
  const Problem p{"/d/0.log", 17, "crc_mismatch", "stored crc 0x1, computed 0x2"};
  EXPECT_EQ(Print(false, [&](DumpPrinter* pr) { pr->Report(p); }),
            "problem: crc_mismatch file: /d/0.log position: 17 detail: stored crc 0x1, "
            "computed 0x2\n");
  EXPECT_EQ(Print(true, [&](DumpPrinter* pr) { pr->Report(p); }),
            "{\"type\":\"problem\",\"rule\":\"crc_mismatch\",\"file\":\"/d/0.log\","
            "\"position\":17,\"detail\":\"stored crc 0x1, computed 0x2\"}\n");
}

TEST_F(PrinterTest, RecordElisionInBothFormats) {
  BatchBuilder builder;
  builder.Add(5, "key", "0123456789abcdef");
  const std::string batch = builder.Build();
  RecordIterator it(batch);
  RecordView r;
  ASSERT_TRUE(it.Next(&r));
  EXPECT_EQ(Print(false, [&](DumpPrinter* pr) { pr->Record("f", r); }),
            "| offset: 0 timestamp: 5 keySize: 3 valueSize: 16 key: \"key\" value: "
            "\"01234567\"... headers: []\n");
  EXPECT_THAT(Print(true, [&](DumpPrinter* pr) { pr->Record("f", r); }),
              HasSubstr("\"key\":\"key\",\"value\":\"01234567\",\"value_truncated\":true,"));
}

TEST_F(PrinterTest, SummaryAndNotes) {
  VerifyTotals totals{.logs = 1, .segments = 2, .batches = 3, .records = 4, .index_entries = 5};
  EXPECT_EQ(Print(false, [&](DumpPrinter* pr) { pr->Summary(totals); }),
            "summary: clean logs: 1 segments: 2 batches: 3 records: 4 indexEntries: 5 "
            "problems: 0\n");
  EXPECT_EQ(Print(true, [&](DumpPrinter* pr) { pr->Note("f", "m"); }),
            "{\"type\":\"note\",\"file\":\"f\",\"message\":\"m\"}\n");
}

}  // namespace
}  // namespace varve::dump
