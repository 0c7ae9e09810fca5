#include "broker/server/response.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "base/temp_dir.h"
#include "gtest/gtest.h"

namespace varve::server {
namespace {

class FileFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::open(dir_.Sub("f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd_, 0);
    ASSERT_EQ(::write(fd_, "0123456789", 10), 10);
  }
  void TearDown() override { ::close(fd_); }

  TempDir dir_;
  int fd_ = -1;
};

TEST(ResponsePayloadTest, EmptyPiecesAreIgnored) {
  ResponsePayload payload;
  payload.AddBytes("");
  payload.AddFile({.fd = 3, .offset = 0, .size = 0});
  EXPECT_TRUE(payload.empty());
  EXPECT_TRUE(payload.chunks().empty());
}

TEST(ResponsePayloadTest, SmallBytesMergeIntoThePreviousChunk) {
  ResponsePayload payload("abc");
  payload.AddBytes("def");
  ASSERT_EQ(payload.chunks().size(), 1u);
  EXPECT_EQ(std::get<std::string>(payload.chunks()[0]), "abcdef");
  EXPECT_EQ(payload.size(), 6);
}

TEST(ResponsePayloadTest, LargeBytesStayASeparateChunk) {
  ResponsePayload payload("abc");
  payload.AddBytes(std::string(4096, 'x'));
  EXPECT_EQ(payload.chunks().size(), 2u);
  EXPECT_EQ(payload.size(), 4099);
}

TEST_F(FileFixture, FlattenReadsFileRegionsInOrder) {
  ResponsePayload payload("<");
  payload.AddFile({.fd = fd_, .offset = 2, .size = 3});
  payload.AddBytes("|");
  payload.AddFile({.fd = fd_, .offset = 7, .size = 3});
  payload.AddBytes(">");
  EXPECT_EQ(payload.size(), 9);
  absl::StatusOr<std::string> flat = payload.Flatten();
  ASSERT_TRUE(flat.ok()) << flat.status();
  EXPECT_EQ(*flat, "<234|789>");
}

TEST_F(FileFixture, FlattenOfARegionPastTheEndIsDataLoss) {
  ResponsePayload payload;
  payload.AddFile({.fd = fd_, .offset = 8, .size = 5});
  EXPECT_EQ(payload.Flatten().status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(FileFixture, TakeChunksEmptiesThePayload) {
  ResponsePayload payload("x");
  payload.AddFile({.fd = fd_, .offset = 0, .size = 1});
  std::vector<PayloadChunk> chunks = payload.TakeChunks();
  EXPECT_EQ(chunks.size(), 2u);
  EXPECT_TRUE(payload.empty());
  EXPECT_TRUE(payload.chunks().empty());
}

}  // namespace
}  // namespace varve::server
