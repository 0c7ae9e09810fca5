// Malformed input: truncated messages, lying counts and lengths, bad tagged-field sections,
// versions out of range. Decoding must fail with InvalidArgument naming the field path and the
// byte, never crash, and never allocate in proportion to a count it has not checked.

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "broker/protocol/generated/messages.h"
#include "broker/protocol/message_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// The largest single allocation since the last reset, to prove hostile counts allocate nothing
// big.
std::atomic<size_t> g_largest_allocation{0};

// Not inlined: GCC would otherwise see free() of a pointer from operator new at call sites and
// warn (-Wmismatched-new-delete), although this new and delete are a matched malloc/free pair.
[[gnu::noinline]] void* operator new(size_t size) {
  size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (size > seen && !g_largest_allocation.compare_exchange_weak(seen, size)) {
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace varve::protocol {
namespace {

using ::testing::HasSubstr;

template <typename T>
absl::Status DecodeHex(absl::string_view hex, int16_t version, T* out = nullptr) {
  std::string bytes = HexToBytes(hex);
  Reader reader(absl::MakeSpan(bytes));
  T message;
  absl::Status status = message.Decode(reader, version);
  if (out != nullptr) *out = message;
  return status;
}

template <typename T>
void ExpectEveryPrefixFails(int16_t version, int seed) {
  SCOPED_TRACE(absl::StrCat(T::kName, " v", version));
  T message;
  FillForTest(message, seed);
  const std::string full = EncodeToString(message, version);
  ASSERT_GT(full.size(), 0u);
  for (size_t n = 0; n < full.size(); ++n) {
    std::string prefix = full.substr(0, n);
    Reader reader(absl::MakeSpan(prefix));
    T decoded;
    absl::Status status = decoded.Decode(reader, version);
    ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "prefix of " << n << " bytes";
    ASSERT_THAT(std::string(status.message()), HasSubstr(T::kName)) << status;
  }
}

TEST(TruncationTest, EveryStrictPrefixFails) {
  ExpectEveryPrefixFails<RequestHeader>(1, 1);
  ExpectEveryPrefixFails<RequestHeader>(2, 1);
  ExpectEveryPrefixFails<ProduceRequest>(3, 1);
  ExpectEveryPrefixFails<ProduceRequest>(9, 2);
  ExpectEveryPrefixFails<FetchRequest>(11, 3);
  ExpectEveryPrefixFails<FetchRequest>(15, 4);
  ExpectEveryPrefixFails<FetchResponse>(4, 5);
  ExpectEveryPrefixFails<FetchResponse>(12, 6);
  ExpectEveryPrefixFails<FetchResponse>(16, 6);
  ExpectEveryPrefixFails<MetadataResponse>(7, 7);
  ExpectEveryPrefixFails<MetadataResponse>(12, 7);
  ExpectEveryPrefixFails<ApiVersionsResponse>(3, 8);
  ExpectEveryPrefixFails<CreateTopicsRequest>(5, 9);
  ExpectEveryPrefixFails<OffsetFetchResponse>(8, 10);
}

TEST(HostileCountTest, HugeArrayCountFailsWithoutAllocating) {
  // ProduceRequest v3: TransactionalId null, Acks -1, TimeoutMs 1000, TopicData count 2^31-1, and
  // then only 6 bytes.
  g_largest_allocation = 0;
  absl::Status status = DecodeHex<ProduceRequest>("ffff ffff 000003e8 7fffffff 000100000000", 3);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "ProduceRequest.topic_data: count 2147483647 exceeds the 6 bytes left at byte 12");
  EXPECT_LT(g_largest_allocation.load(), 4096u);
}

TEST(HostileCountTest, HugeCompactCountFailsWithoutAllocating) {
  // ProduceRequest v9: TransactionalId null (00), Acks 1, TimeoutMs 0, TopicData compact count
  // 0xfffffffe + 1 (ff ff ff ff 0f), 3 bytes more.
  g_largest_allocation = 0;
  absl::Status status = DecodeHex<ProduceRequest>("00 0001 00000000 ffffffff0f 000000", 9);
  EXPECT_EQ(status.message(),
            "ProduceRequest.topic_data: count 4294967294 exceeds the 3 bytes left at byte 12");
  EXPECT_LT(g_largest_allocation.load(), 4096u);
}

TEST(HostileCountTest, Int32ArrayCountIsBoundedByFourBytesPerElement) {
  // MetadataResponse v0: no brokers, one topic "t" with one partition whose ReplicaNodes claim
  // 1000 elements with 8 bytes left: that must fail at the count, before reserving 4000 bytes.
  g_largest_allocation = 0;
  absl::Status status = DecodeHex<MetadataResponse>(
      "00000000"                         // brokers: 0
      "00000001 0000 0001 74"            // topics: 1; error 0, name "t"
      "00000001 0000 00000000 00000001"  // partitions: 1; error 0, index 0, leader 1
      "000003e8 0000000100000002",       // replica_nodes: 1000, then 8 bytes
      0);
  EXPECT_EQ(status.message(),
            "MetadataResponse.topics[0].partitions[0].replica_nodes: count 1000 of elements of "
            "at least 4 bytes exceeds the 8 bytes left at byte 31");
  EXPECT_LT(g_largest_allocation.load(), 1000u);
}

TEST(HostileLengthTest, RecordsLengthBeyondTheFrameNamesThePath) {
  // ProduceRequest v3 with topic "t": partitions [0: "ab" records, 1: records of length 99999].
  absl::Status status = DecodeHex<ProduceRequest>(
      "ffff 0001 000003e8"                           // transactional_id null, acks 1, timeout 1000
      "00000001 0001 74"                             // topic_data: 1, name "t"
      "00000002"                                     // partition_data: 2
      "00000000 00000002 6162"                       // index 0, records "ab"
      "00000001 0001869f 000102030405060708090a0b",  // index 1, records length 99999, 12 bytes
      3);
  EXPECT_EQ(status.message(),
            "ProduceRequest.topic_data[0].partition_data[1].records: length 99999 exceeds the 12 "
            "bytes left at byte 37");
}

TEST(HostileLengthTest, NegativeStringLengthIsAnError) {
  absl::Status status = DecodeHex<FindCoordinatorRequest>("fffe", 0);
  EXPECT_EQ(status.message(), "FindCoordinatorRequest.key: negative length -2 at byte 0");
}

TEST(HostileLengthTest, NullInANonNullableFieldIsAnError) {
  // MetadataRequest v0: Topics is not nullable before v1.
  EXPECT_EQ(DecodeHex<MetadataRequest>("ffffffff", 0).message(),
            "MetadataRequest.topics: null is not allowed at this version (byte 0)");
  MetadataRequest request;
  ASSERT_TRUE(DecodeHex<MetadataRequest>("ffffffff", 1, &request).ok());
  EXPECT_EQ(request.topics, std::nullopt);
}

TEST(TaggedFieldsTest, UnknownTagsAreSkipped) {
  // ApiVersionsRequest v3: name "a", version "b", tags: 2 fields: tag 5 (3 bytes), tag 9 (0 bytes).
  ApiVersionsRequest request;
  ASSERT_TRUE(DecodeHex<ApiVersionsRequest>("0261 0262 02 05 03 aabbcc 09 00", 3, &request).ok());
  EXPECT_EQ(request.client_software_name, "a");
  EXPECT_EQ(request.client_software_version, "b");
}

TEST(TaggedFieldsTest, KnownTagsAreDecoded) {
  // ApiVersionsResponse v3: error 0, api_keys [] (compact 01), throttle 0, tags: tag 1
  // FinalizedFeaturesEpoch (8 bytes) = 7, tag 3 ZkMigrationReady (1 byte) = true.
  ApiVersionsResponse response;
  ASSERT_TRUE(DecodeHex<ApiVersionsResponse>("0000 01 00000000 02 01 08 0000000000000007 03 01 01",
                                             3, &response)
                  .ok());
  EXPECT_EQ(response.finalized_features_epoch, 7);
  EXPECT_TRUE(response.zk_migration_ready);
}

TEST(TaggedFieldsTest, TagsOutOfOrderAreRejected) {
  EXPECT_EQ(DecodeHex<ApiVersionsRequest>("0261 0262 02 09 00 05 00", 3).message(),
            "ApiVersionsRequest.tagged fields: tag 5 at byte 7 follows tag 9; tags must ascend");
  EXPECT_THAT(DecodeHex<ApiVersionsRequest>("0261 0262 02 05 00 05 00", 3).message(),
              HasSubstr("tags must ascend"));
}

TEST(TaggedFieldsTest, SizeBeyondTheBufferIsRejected) {
  EXPECT_EQ(DecodeHex<ApiVersionsRequest>("0261 0262 01 05 09 aabb", 3).message(),
            "ApiVersionsRequest.tagged fields: tag 5: size 9 exceeds the 2 bytes left at byte 7");
}

TEST(TaggedFieldsTest, KnownTagWhoseValueIsShorterThanItsSizeIsRejected) {
  // Tag 3 (ZkMigrationReady, a bool) claims 2 bytes.
  EXPECT_THAT(DecodeHex<ApiVersionsResponse>("0000 01 00000000 01 03 02 0100", 3).message(),
              HasSubstr("tag 3: the value ends at byte"));
  // Tag 1 (an int64) given 2 bytes.
  EXPECT_EQ(DecodeHex<ApiVersionsResponse>("0000 01 00000000 01 01 02 0000", 3).message(),
            "ApiVersionsResponse.finalized_features_epoch: int64 needs 8 bytes, 2 left at byte 10");
}

TEST(TaggedFieldsTest, HugeTagCountFailsFast) {
  EXPECT_THAT(DecodeHex<ApiVersionsRequest>("0261 0262 ffffffff0f 00", 3).message(),
              HasSubstr("tagged fields: count 4294967295 exceeds the 1 bytes left"));
}

TEST(VersionTest, OutOfRangeVersionsAreRejected) {
  EXPECT_EQ(DecodeHex<ProduceRequest>("", 12).message(),
            "ProduceRequest: version 12 is outside the valid range 0-11");
  EXPECT_EQ(DecodeHex<ProduceRequest>("", -1).message(),
            "ProduceRequest: version -1 is outside the valid range 0-11");
  EXPECT_EQ(DecodeHex<RequestHeader>("", 3).message(),
            "RequestHeader: version 3 is outside the valid range 0-2");
}

TEST(DecodeTest, DecodingReplacesEveryField) {
  // A reused message keeps nothing from its previous decode, even fields the new version lacks.
  MetadataRequest request;
  request.allow_auto_topic_creation = false;
  request.include_topic_authorized_operations = true;
  std::string bytes = HexToBytes("00000000");
  Reader reader(absl::MakeSpan(bytes));
  ASSERT_TRUE(request.Decode(reader, 0).ok());
  EXPECT_EQ(request,
            MetadataRequest{.topics = std::vector<MetadataRequest::MetadataRequestTopic>()});
  EXPECT_TRUE(request.allow_auto_topic_creation);
}

}  // namespace
}  // namespace varve::protocol
