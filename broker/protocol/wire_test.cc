#include "broker/protocol/wire.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/match.h"
#include "base/temp_dir.h"
#include "broker/protocol/message_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace varve::protocol {
namespace {

using ::testing::HasSubstr;

// Encodes with `write` and returns the bytes as hex.
template <typename F>
std::string Encoded(F write) {
  OutputBuffer out;
  Writer writer(&out);
  write(writer);
  absl::StatusOr<std::string> flat = out.Flatten();
  EXPECT_TRUE(flat.ok()) << flat.status();
  return ToHex(flat.ok() ? *flat : "");
}

class ReaderOver {
 public:
  explicit ReaderOver(absl::string_view hex) : bytes_(HexToBytes(hex)), reader_(Span()) {}
  Reader& operator*() { return reader_; }
  Reader* operator->() { return &reader_; }
  std::string& bytes() { return bytes_; }

 private:
  absl::Span<char> Span() { return absl::MakeSpan(bytes_); }
  std::string bytes_;
  Reader reader_;
};

TEST(WireIntegers, BigEndianAtTheLimits) {
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteInt8(-128); }), "80");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteInt8(127); }), "7f");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteInt16(-32768); }), "8000");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteInt16(0x1234); }), "1234");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteInt32(std::numeric_limits<int32_t>::min()); }),
            "80000000");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteInt32(-1); }), "ffffffff");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteInt64(std::numeric_limits<int64_t>::max()); }),
            "7fffffffffffffff");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteUInt16(65535); }), "ffff");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteUInt32(0xdeadbeef); }), "deadbeef");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteFloat64(1.5); }), "3ff8000000000000");

  ReaderOver r("80 8000 80000000 8000000000000000 ffff deadbeef 3ff8000000000000");
  int8_t i8;
  int16_t i16;
  int32_t i32;
  int64_t i64;
  uint16_t u16;
  uint32_t u32;
  double f64;
  ASSERT_TRUE(r->ReadInt8(&i8).ok());
  ASSERT_TRUE(r->ReadInt16(&i16).ok());
  ASSERT_TRUE(r->ReadInt32(&i32).ok());
  ASSERT_TRUE(r->ReadInt64(&i64).ok());
  ASSERT_TRUE(r->ReadUInt16(&u16).ok());
  ASSERT_TRUE(r->ReadUInt32(&u32).ok());
  ASSERT_TRUE(r->ReadFloat64(&f64).ok());
  EXPECT_EQ(i8, -128);
  EXPECT_EQ(i16, -32768);
  EXPECT_EQ(i32, std::numeric_limits<int32_t>::min());
  EXPECT_EQ(i64, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(u16, 65535);
  EXPECT_EQ(u32, 0xdeadbeef);
  EXPECT_EQ(f64, 1.5);
  EXPECT_EQ(r->remaining(), 0u);
}

TEST(WireIntegers, ShortInputNamesFieldTypeAndOffset) {
  ReaderOver r("00 01 02 03 04");
  int8_t skip;
  ASSERT_TRUE(r->ReadInt8(&skip).ok());
  ASSERT_TRUE(r->ReadInt8(&skip).ok());
  ASSERT_TRUE(r->ReadInt8(&skip).ok());
  int32_t v;
  absl::Status status = r->ReadInt32(&v, "partition_index");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "partition_index: int32 needs 4 bytes, 2 left at byte 3");
  int64_t v64;
  EXPECT_EQ(r->ReadInt64(&v64).message(), "int64 needs 8 bytes, 2 left at byte 3");
}

TEST(WireBool, AnyNonZeroByteIsTrue) {
  EXPECT_EQ(Encoded([](Writer& w) {
              w.WriteBool(true);
              w.WriteBool(false);
            }),
            "0100");
  ReaderOver r("00 01 02 ff");
  bool b[4];
  for (bool& x : b) ASSERT_TRUE(r->ReadBool(&x).ok());
  EXPECT_FALSE(b[0]);
  EXPECT_TRUE(b[1]);
  EXPECT_TRUE(b[2]);
  EXPECT_TRUE(b[3]);
}

TEST(WireUnsignedVarint, EncodingsAtEveryByteBoundary) {
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteUnsignedVarint(0); }), "00");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteUnsignedVarint(127); }), "7f");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteUnsignedVarint(128); }), "8001");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteUnsignedVarint(300); }), "ac02");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteUnsignedVarint(16383); }), "ff7f");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteUnsignedVarint(16384); }), "808001");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteUnsignedVarint(0xffffffff); }), "ffffffff0f");

  ReaderOver r("00 7f 8001 ac02 ffffffff0f");
  uint32_t v[5];
  for (uint32_t& x : v) ASSERT_TRUE(r->ReadUnsignedVarint(&x).ok());
  EXPECT_EQ(v[0], 0u);
  EXPECT_EQ(v[1], 127u);
  EXPECT_EQ(v[2], 128u);
  EXPECT_EQ(v[3], 300u);
  EXPECT_EQ(v[4], 0xffffffffu);
}

TEST(WireUnsignedVarint, NonMinimalEncodingIsAccepted) {
  ReaderOver r("80 80 80 80 00");
  uint32_t v;
  ASSERT_TRUE(r->ReadUnsignedVarint(&v).ok());
  EXPECT_EQ(v, 0u);
}

TEST(WireUnsignedVarint, SixBytesAreTooLong) {
  ReaderOver r("80 80 80 80 80 00");
  uint32_t v;
  EXPECT_EQ(r->ReadUnsignedVarint(&v, "count").message(),
            "count: unsigned varint at byte 0 is longer than 5 bytes");
}

TEST(WireUnsignedVarint, FifthByteOverflowingThirtyTwoBitsIsRejected) {
  ReaderOver r("ff ff ff ff 1f");
  uint32_t v;
  EXPECT_EQ(r->ReadUnsignedVarint(&v).message(), "unsigned varint at byte 0 overflows 32 bits");
}

TEST(WireUnsignedVarint, CutOffInTheMiddle) {
  ReaderOver r("00 80 80");
  uint32_t v;
  ASSERT_TRUE(r->ReadUnsignedVarint(&v).ok());
  EXPECT_EQ(r->ReadUnsignedVarint(&v, "tag").message(),
            "tag: unsigned varint starting at byte 1 is cut off at byte 3");
}

TEST(WireVarint, ZigZagReferenceExamples) {
  const std::pair<int32_t, const char*> cases[] = {
      {0, "00"},
      {-1, "01"},
      {1, "02"},
      {-2, "03"},
      {63, "7e"},
      {-64, "7f"},
      {64, "8001"},
      {2147483647, "feffffff0f"},
      {-2147483648, "ffffffff0f"},
  };
  for (const auto& [value, hex] : cases) {
    EXPECT_EQ(Encoded([&](Writer& w) { w.WriteVarint(value); }), hex) << value;
    ReaderOver r(hex);
    int32_t decoded;
    ASSERT_TRUE(r->ReadVarint(&decoded).ok());
    EXPECT_EQ(decoded, value);
  }
}

TEST(WireVarlong, LimitsTakeTenBytes) {
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteVarlong(std::numeric_limits<int64_t>::min()); }),
            "ffffffffffffffffff01");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteVarlong(std::numeric_limits<int64_t>::max()); }),
            "feffffffffffffffff01");
  ReaderOver r("ffffffffffffffffff01 feffffffffffffffff01");
  int64_t a, b;
  ASSERT_TRUE(r->ReadVarlong(&a).ok());
  ASSERT_TRUE(r->ReadVarlong(&b).ok());
  EXPECT_EQ(a, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(b, std::numeric_limits<int64_t>::max());
}

TEST(WireVarlong, ElevenBytesAndOverflowAreRejected) {
  ReaderOver too_long("8080808080808080808000");
  int64_t v;
  EXPECT_THAT(too_long->ReadVarlong(&v).message(), HasSubstr("longer than 10 bytes"));
  ReaderOver overflow("ffffffffffffffffff02");
  EXPECT_THAT(overflow->ReadVarlong(&v).message(), HasSubstr("overflows 64 bits"));
}

TEST(WireString, FixedAndCompactEncodings) {
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteString("", false); }), "0000");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteString("", true); }), "01");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteString("abc", false); }), "0003616263");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteString("abc", true); }), "04616263");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteNullableString(std::nullopt, false, true); }), "ffff");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteNullableString(std::nullopt, true, true); }), "00");
  // Null where the version has no null: written as empty.
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteNullableString(std::nullopt, false, false); }), "0000");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteNullableString(std::string(), true, true); }), "01");
}

TEST(WireString, DecodesNullEmptyAndValue) {
  ReaderOver r("ffff 0000 0001 61 00 01 0262");
  std::optional<std::string> a, b, c, d, e, f;
  ASSERT_TRUE(r->ReadNullableString(&a, false, true).ok());
  ASSERT_TRUE(r->ReadNullableString(&b, false, true).ok());
  ASSERT_TRUE(r->ReadNullableString(&c, false, true).ok());
  ASSERT_TRUE(r->ReadNullableString(&d, true, true).ok());
  ASSERT_TRUE(r->ReadNullableString(&e, true, true).ok());
  ASSERT_TRUE(r->ReadNullableString(&f, true, true).ok());
  EXPECT_EQ(a, std::nullopt);
  EXPECT_EQ(b, "");
  EXPECT_EQ(c, "a");
  EXPECT_EQ(d, std::nullopt);
  EXPECT_EQ(e, "");
  EXPECT_EQ(f, "b");
  EXPECT_EQ(r->remaining(), 0u);
}

TEST(WireString, NullWhereNotNullableIsAnError) {
  ReaderOver fixed("ffff");
  std::string s;
  EXPECT_EQ(fixed->ReadString(&s, false, "name").message(),
            "name: null is not allowed at this version (byte 0)");
  ReaderOver compact("00");
  EXPECT_EQ(compact->ReadString(&s, true, "name").message(),
            "name: null is not allowed at this version (byte 0)");
  ReaderOver nullable_field("ffff");
  std::optional<std::string> o;
  EXPECT_FALSE(nullable_field->ReadNullableString(&o, false, /*nullable=*/false).ok());
}

TEST(WireString, NegativeLengthOtherThanMinusOneIsAnError) {
  ReaderOver r("fffe 6162");
  std::optional<std::string> s;
  EXPECT_EQ(r->ReadNullableString(&s, false, true, "client_id").message(),
            "client_id: negative length -2 at byte 0");
}

TEST(WireString, LengthBeyondTheBufferNamesBytesLeft) {
  ReaderOver r("00 0005 616263");
  int8_t skip;
  ASSERT_TRUE(r->ReadInt8(&skip).ok());
  std::string s;
  EXPECT_EQ(r->ReadString(&s, false, "topic").message(),
            "topic: length 5 exceeds the 3 bytes left at byte 3");
}

TEST(WireString, CompactStringLongerThanInt16IsRejected) {
  // Length 32768 (+1 = 32769 = 0x8001 -> 81 80 02), with the bytes present.
  std::string hex = "818002" + std::string(32768 * 2, '6');
  ReaderOver r(hex);
  std::string s;
  EXPECT_EQ(r->ReadString(&s, true).message(), "length 32768 exceeds the maximum 32767 at byte 0");
  ReaderOver ok("80 80 02" + std::string(32767 * 2, '6'));
  EXPECT_TRUE(ok->ReadString(&s, true).ok());
  EXPECT_EQ(s.size(), 32767u);
}

TEST(WireBytes, Int32LengthAndCompact) {
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteBytes("xy", false); }), "000000027879");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteBytes("xy", true); }), "037879");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteNullableBytes(std::nullopt, false, true); }),
            "ffffffff");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteNullableBytes(std::nullopt, true, true); }), "00");
  ReaderOver r("ffffffff 00000000 037879");
  std::optional<std::string> a, b, c;
  ASSERT_TRUE(r->ReadNullableBytes(&a, false, true).ok());
  ASSERT_TRUE(r->ReadNullableBytes(&b, false, true).ok());
  ASSERT_TRUE(r->ReadNullableBytes(&c, true, true).ok());
  EXPECT_EQ(a, std::nullopt);
  EXPECT_EQ(b, "");
  EXPECT_EQ(c, "xy");
  ReaderOver negative("80000000");
  std::string s;
  EXPECT_EQ(negative->ReadBytes(&s, false, "metadata").message(),
            "metadata: negative length -2147483648 at byte 0");
}

TEST(WireUuid, SixteenRawBytes) {
  Uuid id;
  for (int i = 0; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Encoded([&](Writer& w) { w.WriteUuid(id); }), "000102030405060708090a0b0c0d0e0f");
  ReaderOver r("000102030405060708090a0b0c0d0e0f");
  Uuid decoded;
  ASSERT_TRUE(r->ReadUuid(&decoded).ok());
  EXPECT_EQ(decoded, id);
  EXPECT_EQ(Uuid(), Uuid{});
  EXPECT_FALSE(decoded == Uuid());
}

TEST(WireRecords, DecodedRecordsAreAMutableViewIntoTheBuffer) {
  ReaderOver r("00000003 aabbcc ff");
  Records records;
  ASSERT_TRUE(r->ReadRecords(&records, false, true, "records").ok());
  ASSERT_FALSE(records.is_null());
  ASSERT_EQ(records.size(), 3);
  ASSERT_EQ(records.data().size(), 3u);
  EXPECT_EQ(records.data().data(), r.bytes().data() + 4);
  records.data()[0] = 0x11;  // the broker rewrites BaseOffset in place like this
  EXPECT_EQ(static_cast<uint8_t>(r.bytes()[4]), 0x11);
  EXPECT_EQ(r->position(), 7u);
}

TEST(WireRecords, NullEmptyAndCompact) {
  ReaderOver r("ffffffff 00000000 00 01 03aabb");
  Records a, b, c, d, e;
  ASSERT_TRUE(r->ReadRecords(&a, false, true).ok());
  ASSERT_TRUE(r->ReadRecords(&b, false, true).ok());
  ASSERT_TRUE(r->ReadRecords(&c, true, true).ok());
  ASSERT_TRUE(r->ReadRecords(&d, true, true).ok());
  ASSERT_TRUE(r->ReadRecords(&e, true, true).ok());
  EXPECT_TRUE(a.is_null());
  EXPECT_FALSE(b.is_null());
  EXPECT_EQ(b.size(), 0);
  EXPECT_TRUE(c.is_null());
  EXPECT_FALSE(d.is_null());
  EXPECT_EQ(d.size(), 0);
  EXPECT_EQ(e.size(), 2);

  EXPECT_EQ(Encoded([](Writer& w) { w.WriteRecords(Records::Null(), false, true); }), "ffffffff");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteRecords(Records(), false, true); }), "00000000");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteRecords(Records::Null(), true, true); }), "00");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteRecords(Records(), true, true); }), "01");
}

TEST(WireRecords, LengthBeyondTheBufferFailsBeforeAnyView) {
  ReaderOver r("0001869f 000102030405060708090a0b");  // 99999, then 12 bytes
  Records records;
  EXPECT_EQ(r->ReadRecords(&records, false, true, "records").message(),
            "records: length 99999 exceeds the 12 bytes left at byte 4");
}

TEST(WireRecords, PartsEncodeInOrderWithFileRegionsAsChunks) {
  TempDir dir;
  const std::string path = dir.Sub("segment.log");
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "0123456789", 10, 0), 10);

  Records records;
  records.AddBytes("ab");
  records.AddView("cd");
  records.AddFile(FileRegion{.fd = fd, .offset = 2, .size = 5});
  records.AddFile(FileRegion{.fd = fd, .offset = 0, .size = 0});  // dropped
  records.AddBytes("");                                           // dropped
  EXPECT_EQ(records.size(), 9);
  EXPECT_EQ(records.parts().size(), 3u);

  OutputBuffer out;
  Writer w(&out);
  w.WriteInt8(7);
  w.WriteRecords(records, /*compact=*/false, /*nullable=*/true);
  w.WriteInt8(8);
  ASSERT_EQ(out.chunks().size(), 3u);
  EXPECT_EQ(std::get<std::string>(out.chunks()[0]), HexToBytes("07 00000009 6162 6364"));
  EXPECT_EQ(std::get<FileRegion>(out.chunks()[1]), (FileRegion{.fd = fd, .offset = 2, .size = 5}));
  EXPECT_EQ(std::get<std::string>(out.chunks()[2]), HexToBytes("08"));
  EXPECT_EQ(out.size(), 1 + 4 + 9 + 1);
  absl::StatusOr<std::string> flat = out.Flatten();
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_EQ(*flat, HexToBytes("07 00000009") + "abcd23456" + HexToBytes("08"));

  // A region past the end of the file cannot be flattened.
  OutputBuffer past_end;
  Writer w2(&past_end);
  Records beyond;
  beyond.AddFile(FileRegion{.fd = fd, .offset = 8, .size = 5});
  w2.WriteRecords(beyond, true, true);
  EXPECT_EQ(past_end.Flatten().status().code(), absl::StatusCode::kDataLoss);
  close(fd);
}

TEST(WireRecords, EqualityComparesBytesNotParts) {
  Records a;
  a.AddBytes("abc");
  a.AddView("def");
  Records b;
  b.AddBytes("abcdef");
  EXPECT_EQ(a, b);
  std::string buffer = "abcdef";
  EXPECT_EQ(Records::View(absl::MakeSpan(buffer)), b);
  Records c;
  c.AddBytes("abcdeX");
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(Records() == Records::Null());
  EXPECT_EQ(Records::Null(), Records::Null());
  Records null_then_added = Records::Null();
  null_then_added.AddBytes("");
  EXPECT_EQ(null_then_added, Records());
}

TEST(WireArrayCount, CountsAreBoundedByTheBytesLeft) {
  ReaderOver r("7fffffff 00000000 00");
  int32_t count;
  EXPECT_EQ(r->ReadArrayCount(&count, false, false, 1, "topics").message(),
            "topics: count 2147483647 exceeds the 5 bytes left at byte 4");
  ReaderOver four("00000002 00000000 0000");  // two int32 need 8 bytes, 6 are left
  EXPECT_EQ(four->ReadArrayCount(&count, false, false, 4, "isr_nodes").message(),
            "isr_nodes: count 2 of elements of at least 4 bytes exceeds the 6 bytes left at "
            "byte 4");
  ReaderOver compact("ffffffff0f");
  EXPECT_THAT(compact->ReadArrayCount(&count, true, true, 1).message(),
              HasSubstr("count 4294967294 exceeds the 0 bytes left"));
  ReaderOver null_array("ffffffff");
  ASSERT_TRUE(null_array->ReadArrayCount(&count, false, true, 1).ok());
  EXPECT_EQ(count, -1);
  ReaderOver not_nullable("ffffffff");
  EXPECT_FALSE(not_nullable->ReadArrayCount(&count, false, false, 1).ok());
  ReaderOver negative("fffffffe");
  EXPECT_EQ(negative->ReadArrayCount(&count, false, true, 1).message(),
            "negative count -2 at byte 0");
}

TEST(WireArrayCount, WritesFixedAndCompact) {
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteArrayCount(-1, false); }), "ffffffff");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteArrayCount(-1, true); }), "00");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteArrayCount(0, true); }), "01");
  EXPECT_EQ(Encoded([](Writer& w) { w.WriteArrayCount(3, false); }), "00000003");
}

TEST(WireReader, SubReaderKeepsAbsolutePositionsAndItsOwnEnd) {
  ReaderOver r("01 02 03 04 05");
  int8_t v;
  ASSERT_TRUE(r->ReadInt8(&v).ok());
  Reader sub = r->Sub(2);
  EXPECT_EQ(sub.position(), 1u);
  EXPECT_EQ(sub.remaining(), 2u);
  int32_t too_big;
  EXPECT_EQ(sub.ReadInt32(&too_big).message(), "int32 needs 4 bytes, 2 left at byte 1");
  EXPECT_EQ(r->position(), 1u);  // the parent does not move
  EXPECT_EQ(r->Skip(5, "x").message(), "x: cannot skip 5 bytes, 4 left at byte 1");
  ASSERT_TRUE(r->Skip(4).ok());
  EXPECT_EQ(r->remaining(), 0u);
}

TEST(WireWriter, ReserveAndPatchAFrameSize) {
  OutputBuffer out;
  Writer w(&out);
  Writer::Int32Slot size = w.ReserveInt32();
  w.WriteInt16(1);
  Records file_records;
  file_records.AddFile(FileRegion{.fd = 99, .offset = 0, .size = 100});
  w.WriteRecords(file_records, true, true);
  Writer::Int32Slot trailer = w.ReserveInt32();  // lands in a chunk after the file region
  w.PatchInt32(size, static_cast<int32_t>(out.size() - 4));
  w.PatchInt32(trailer, 0x01020304);
  ASSERT_EQ(out.chunks().size(), 3u);
  EXPECT_EQ(ToHex(std::get<std::string>(out.chunks()[0])),
            "0000006b"
            "0001"
            "65");
  EXPECT_EQ(ToHex(std::get<std::string>(out.chunks()[2])), "01020304");
  EXPECT_EQ(out.size(), 4 + 2 + 1 + 100 + 4);
  std::vector<OutputBuffer::Chunk> chunks = out.TakeChunks();
  EXPECT_EQ(chunks.size(), 3u);
  EXPECT_EQ(out.size(), 0);
  EXPECT_TRUE(out.chunks().empty());
}

}  // namespace
}  // namespace varve::protocol
