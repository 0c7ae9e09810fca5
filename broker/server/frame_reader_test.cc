#include "broker/server/frame_reader.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/endian.h"
#include "gtest/gtest.h"

namespace varve::server {
namespace {

std::string Prefix(uint32_t size) {
  std::string out(4, '\0');
  StoreBE32(out.data(), size);
  return out;
}

std::string Frame(const std::string& body) { return Prefix(body.size()) + body; }

TEST(FrameReaderTest, SingleFrame) {
  FrameReader reader(1024);
  reader.Append(Frame("hello"));
  std::string frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kFrame);
  EXPECT_EQ(frame, "hello");
  EXPECT_EQ(reader.Next(&frame), FrameReader::Result::kNeedMore);
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(FrameReaderTest, SeveralFramesInOneAppend) {
  FrameReader reader(1024);
  reader.Append(Frame("a") + Frame("bb") + Frame("ccc") + Prefix(10).substr(0, 2));
  std::string frame;
  for (const char* want : {"a", "bb", "ccc"}) {
    ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kFrame);
    EXPECT_EQ(frame, want);
  }
  EXPECT_EQ(reader.Next(&frame), FrameReader::Result::kNeedMore);
  EXPECT_EQ(reader.buffered_bytes(), 2u);
}

TEST(FrameReaderTest, ByteByByteIsReassembled) {
  FrameReader reader(1 << 20);
  std::string bodies[] = {"first", std::string(1000, 'x'), "", "last"};
  std::string stream;
  for (const auto& body : bodies) stream += Frame(body);
  std::vector<std::string> got;
  std::string frame;
  for (char c : stream) {
    reader.Append(std::string(1, c));
    while (reader.Next(&frame) == FrameReader::Result::kFrame) got.push_back(frame);
  }
  ASSERT_EQ(got.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(got[i], bodies[i]);
}

TEST(FrameReaderTest, ZeroSizeFrameIsAFrame) {
  FrameReader reader(1024);
  reader.Append(Prefix(0));
  std::string frame = "stale";
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kFrame);
  EXPECT_EQ(frame, "");
}

TEST(FrameReaderTest, MaxSizeIsAccepted) {
  FrameReader reader(16);
  reader.Append(Frame(std::string(16, 'm')));
  std::string frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kFrame);
  EXPECT_EQ(frame.size(), 16u);
}

TEST(FrameReaderTest, OneAboveMaxIsRejectedBeforeTheBodyArrives) {
  FrameReader reader(16);
  reader.Append(Prefix(17));
  std::string frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kBadSize);
  EXPECT_EQ(reader.bad_size(), 17);
}

TEST(FrameReaderTest, NegativeSizeIsRejected) {
  FrameReader reader(1024);
  reader.Append(Prefix(0xFFFFFFFF));
  std::string frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kBadSize);
  EXPECT_EQ(reader.bad_size(), -1);
}

TEST(FrameReaderTest, TlsClientHelloIsRejected) {
  FrameReader reader(100 << 20);
  reader.Append(std::string("\x16\x03\x01\x00\xa5\x01\x00\x00", 8));
  std::string frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kBadSize);
  EXPECT_EQ(reader.bad_size(), 0x16030100);
}

TEST(FrameReaderTest, BadSizeIsSticky) {
  FrameReader reader(8);
  reader.Append(Frame("ok") + Prefix(9) + Frame("later"));
  std::string frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kFrame);
  EXPECT_EQ(reader.Next(&frame), FrameReader::Result::kBadSize);
  EXPECT_EQ(reader.Next(&frame), FrameReader::Result::kBadSize);
}

TEST(FrameReaderTest, DeclaredSizeAloneAllocatesAtMostTheEagerLimit) {
  FrameReader reader(100 << 20);
  reader.Append(Prefix(100 << 20) + "abc");
  std::string frame;
  EXPECT_EQ(reader.Next(&frame), FrameReader::Result::kNeedMore);
  EXPECT_EQ(reader.buffered_bytes(), 7u);
  EXPECT_EQ(reader.allocated_bytes(), FrameReader::kEagerFrameBytes);
  // The direct target never runs past the allocated part.
  EXPECT_EQ(reader.DirectTarget().size(), FrameReader::kEagerFrameBytes - 3);
}

TEST(FrameReaderTest, SmallFrameAllocatesItsSize) {
  FrameReader reader(100 << 20);
  reader.Append(Prefix(10) + "abc");
  EXPECT_EQ(reader.allocated_bytes(), 10u);
  EXPECT_EQ(reader.DirectTarget().size(), 7u);
}

// Reads the way Connection does: the body of a known frame into DirectTarget(), everything
// else through Append, with read sizes cycling through `chunks`.
std::vector<std::string> ReadLikeConnection(FrameReader* reader, absl::string_view stream,
                                            const std::vector<size_t>& chunks) {
  std::vector<std::string> got;
  std::string frame;
  size_t pos = 0;
  for (size_t i = 0; pos < stream.size(); ++i) {
    size_t n = std::min(chunks[i % chunks.size()], stream.size() - pos);
    absl::Span<char> direct = reader->DirectTarget();
    size_t direct_n = std::min(n, direct.size());
    if (!direct.empty()) {
      std::memcpy(direct.data(), stream.data() + pos, direct_n);
      reader->CommitDirect(direct_n);
    }
    reader->Append(stream.substr(pos + direct_n, n - direct_n));
    pos += n;
    while (reader->Next(&frame) == FrameReader::Result::kFrame) got.push_back(frame);
  }
  return got;
}

TEST(FrameReaderTest, DirectReadsReassembleFramesOfEverySize) {
  std::string big(3 * FrameReader::kEagerFrameBytes + 12345, '\0');  // grows past the eager part
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13 + 1);
  std::vector<std::string> bodies = {"a", "", big, "bb", std::string(70000, 'x'), "", "tail"};
  std::string stream;
  for (const std::string& b : bodies) stream += Frame(b);
  for (const std::vector<size_t>& chunks : std::vector<std::vector<size_t>>{
           {1}, {3, 5, 7}, {65536}, {1 << 20}, {stream.size()}, {4096, 1, 300000}}) {
    FrameReader reader(8 << 20);
    std::vector<std::string> got = ReadLikeConnection(&reader, stream, chunks);
    ASSERT_EQ(got.size(), bodies.size()) << "chunks[0]=" << chunks[0];
    for (size_t i = 0; i < bodies.size(); ++i) {
      EXPECT_TRUE(got[i] == bodies[i]) << "frame " << i << " chunks[0]=" << chunks[0];
    }
    EXPECT_EQ(reader.buffered_bytes(), 0u);
    EXPECT_EQ(reader.allocated_bytes(), 0u);
  }
}

TEST(FrameReaderTest, FramesBeforeABadSizeAreDeliveredFirst) {
  FrameReader reader(100);
  reader.Append(Frame("one") + Frame("two") + Prefix(101) + Frame("never"));
  std::string frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kFrame);
  EXPECT_EQ(frame, "one");
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kFrame);
  EXPECT_EQ(frame, "two");
  EXPECT_EQ(reader.Next(&frame), FrameReader::Result::kBadSize);
  EXPECT_EQ(reader.bad_size(), 101);
  EXPECT_TRUE(reader.DirectTarget().empty());
}

TEST(FrameReaderTest, LargeFrameArrivingInPiecesIsExact) {
  FrameReader reader(8 << 20);
  std::string body(5 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7);
  std::string stream = Frame(body) + Frame("tail");
  std::string frame;
  std::vector<std::string> got;
  for (size_t pos = 0; pos < stream.size(); pos += 65536) {
    reader.Append(absl::string_view(stream).substr(pos, 65536));
    while (reader.Next(&frame) == FrameReader::Result::kFrame) got.push_back(frame);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0] == body);
  EXPECT_EQ(got[1], "tail");
}

TEST(FrameReaderTest, ClearDropsBufferedBytes) {
  FrameReader reader(1024);
  reader.Append(Prefix(10) + "abc");
  reader.Clear();
  EXPECT_EQ(reader.buffered_bytes(), 0u);
  reader.Append(Frame("new"));
  std::string frame;
  ASSERT_EQ(reader.Next(&frame), FrameReader::Result::kFrame);
  EXPECT_EQ(frame, "new");
}

}  // namespace
}  // namespace varve::server
