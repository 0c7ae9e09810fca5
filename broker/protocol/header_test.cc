#include "broker/protocol/header.h"

#include <string>
#include <type_traits>

#include "broker/protocol/generated/messages.h"
#include "broker/protocol/golden_testing.h"
#include "gtest/gtest.h"

namespace varve::protocol {
namespace {

RequestHeader Header(int16_t key, int16_t version, int32_t correlation_id,
                     std::optional<std::string> client_id) {
  return RequestHeader{.request_api_key = key,
                       .request_api_version = version,
                       .correlation_id = correlation_id,
                       .client_id = std::move(client_id)};
}

TEST(RequestHeaderGolden, V0HasNoClientId) {
  ExpectGolden(Header(7, 0, 5, std::nullopt), 0, "0007 0000 00000005");
}

TEST(RequestHeaderGolden, V1ClientIdHasAnInt16Length) {
  ExpectGolden(Header(3, 1, 7, "ab"), 1, "0003 0001 00000007 0002 6162");
  ExpectGolden(Header(3, 1, 7, std::nullopt), 1, "0003 0001 00000007 ffff");
  ExpectGolden(Header(3, 1, 7, ""), 1, "0003 0001 00000007 0000");
}

TEST(RequestHeaderGolden, V2KeepsTheInt16ClientIdThenATagSection) {
  ExpectGolden(Header(18, 3, 1, "rdkafka"), 2, "0012 0003 00000001 0007 72646b61666b61 00");
  ExpectGolden(Header(18, 3, 1, std::nullopt), 2, "0012 0003 00000001 ffff 00");
  ExpectGolden(Header(18, 3, 1, ""), 2, "0012 0003 00000001 0000 00");
}

TEST(RequestHeaderGolden, V2SkipsUnknownTaggedFields) {
  std::string bytes = HexToBytes("0012 0003 00000001 ffff 01 05 02 aabb");
  absl::StatusOr<RequestHeader> header = DecodeFromString<RequestHeader>(bytes, 2);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(*header, Header(18, 3, 1, std::nullopt));
}

TEST(ResponseHeaderGolden, V0AndV1) {
  ExpectGolden(ResponseHeader{.correlation_id = 42}, 0, "0000002a");
  ExpectGolden(ResponseHeader{.correlation_id = 42}, 1, "0000002a 00");
}

TEST(DecodeRequestHeaderTest, FlexibleRequestWithNullClientIdConsumesTheTagByte) {
  // ApiVersions v3 (header v2), null ClientId, then the body: compact "a", "b", no tags. A decoder
  // that skips the header's tag byte would read the body one byte off (redpanda#6585).
  std::string frame = HexToBytes(
      "0012 0003 00000001 ffff 00"
      "0261 0262 00");
  Reader reader(absl::MakeSpan(frame));
  RequestHeader header;
  ASSERT_TRUE(DecodeRequestHeader(reader, &header).ok());
  EXPECT_EQ(header, Header(18, 3, 1, std::nullopt));
  EXPECT_EQ(reader.position(), 11u);
  ApiVersionsRequest body;
  ASSERT_TRUE(body.Decode(reader, header.request_api_version).ok());
  EXPECT_EQ(body.client_software_name, "a");
  EXPECT_EQ(body.client_software_version, "b");
  EXPECT_EQ(reader.remaining(), 0u);
}

TEST(DecodeRequestHeaderTest, NonFlexibleRequestHasNoTagSection) {
  // Metadata v1 (header v1), ClientId "c", then the body: Topics null.
  std::string frame = HexToBytes(
      "0003 0001 0000000b 0001 63"
      "ffffffff");
  Reader reader(absl::MakeSpan(frame));
  RequestHeader header;
  ASSERT_TRUE(DecodeRequestHeader(reader, &header).ok());
  EXPECT_EQ(header, Header(3, 1, 11, "c"));
  MetadataRequest body;
  ASSERT_TRUE(body.Decode(reader, 1).ok());
  EXPECT_EQ(body.topics, std::nullopt);
  EXPECT_EQ(reader.remaining(), 0u);
}

TEST(DecodeRequestHeaderTest, ShortFramesFail) {
  for (const char* hex : {"", "00", "0012 00", "0012 0003 000000", "0012 0003 00000001 ff",
                          "0012 0003 00000001 ffff"}) {
    std::string frame = HexToBytes(hex);
    Reader reader(absl::MakeSpan(frame));
    RequestHeader header;
    absl::Status status = DecodeRequestHeader(reader, &header);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << hex;
  }
}

TEST(DecodeRequestHeaderTest, UnknownApiKeyUsesHeaderV1) {
  std::string frame = HexToBytes("03e7 0005 00000001 0000");
  Reader reader(absl::MakeSpan(frame));
  RequestHeader header;
  ASSERT_TRUE(DecodeRequestHeader(reader, &header).ok());
  EXPECT_EQ(header, Header(999, 5, 1, ""));
  EXPECT_EQ(reader.remaining(), 0u);
}

TEST(HeaderVersionTest, RequestHeaderFollowsFlexibleVersions) {
  EXPECT_EQ(RequestHeaderVersion(18, 0), 1);  // ApiVersions
  EXPECT_EQ(RequestHeaderVersion(18, 2), 1);
  EXPECT_EQ(RequestHeaderVersion(18, 3), 2);
  EXPECT_EQ(RequestHeaderVersion(18, 4), 2);
  EXPECT_EQ(RequestHeaderVersion(18, 9), 2);  // above the schema: still flexible (KIP-511 path)
  EXPECT_EQ(RequestHeaderVersion(0, 8), 1);   // Produce
  EXPECT_EQ(RequestHeaderVersion(0, 9), 2);
  EXPECT_EQ(RequestHeaderVersion(1, 11), 1);  // Fetch
  EXPECT_EQ(RequestHeaderVersion(1, 12), 2);
  EXPECT_EQ(RequestHeaderVersion(9, 5), 1);  // OffsetFetch
  EXPECT_EQ(RequestHeaderVersion(9, 6), 2);
  EXPECT_EQ(RequestHeaderVersion(22, 1), 1);  // InitProducerId
  EXPECT_EQ(RequestHeaderVersion(22, 2), 2);
  EXPECT_EQ(RequestHeaderVersion(17, 1), 1);  // SaslHandshake: never flexible
  EXPECT_EQ(RequestHeaderVersion(999, 0), 1);
  // ControlledShutdown (7) has no schema here, so its v0 gets no special header.
  EXPECT_EQ(RequestHeaderVersion(7, 0), 1);
}

TEST(HeaderVersionTest, ResponseHeaderFollowsFlexibleVersionsExceptApiVersions) {
  EXPECT_EQ(ResponseHeaderVersion(18, 0), 0);
  EXPECT_EQ(ResponseHeaderVersion(18, 3), 0);  // KIP-511: always v0
  EXPECT_EQ(ResponseHeaderVersion(18, 4), 0);
  EXPECT_EQ(ResponseHeaderVersion(3, 8), 0);
  EXPECT_EQ(ResponseHeaderVersion(3, 9), 1);
  EXPECT_EQ(ResponseHeaderVersion(22, 2), 1);
  EXPECT_EQ(ResponseHeaderVersion(17, 1), 0);
  EXPECT_EQ(ResponseHeaderVersion(999, 0), 0);
}

TEST(HeaderVersionTest, AgreesWithEveryMessagesFirstFlexibleVersion) {
  ForEachApi([](auto api) {
    using Request = typename decltype(api)::Request;
    using Response = typename decltype(api)::Response;
    static_assert(Request::kApiKey == Response::kApiKey);
    static_assert(Request::kFirstFlexibleVersion == Response::kFirstFlexibleVersion);
    for (int v = Request::kLowestVersion; v <= Request::kHighestVersion; ++v) {
      const bool flexible =
          Request::kFirstFlexibleVersion >= 0 && v >= Request::kFirstFlexibleVersion;
      EXPECT_EQ(RequestHeaderVersion(Request::kApiKey, v), flexible ? 2 : 1) << Request::kName;
      if (Request::kApiKey != ApiVersionsRequest::kApiKey) {
        EXPECT_EQ(ResponseHeaderVersion(Request::kApiKey, v), flexible ? 1 : 0) << Request::kName;
      }
    }
  });
}

TEST(ApiTableTest, NamesAndRanges) {
  EXPECT_TRUE(IsKnownApiKey(0));
  EXPECT_TRUE(IsKnownApiKey(36));
  EXPECT_FALSE(IsKnownApiKey(7));
  EXPECT_FALSE(IsKnownApiKey(-1));
  EXPECT_FALSE(IsKnownApiKey(1000));
  EXPECT_STREQ(ApiKeyName(0), "Produce");
  EXPECT_STREQ(ApiKeyName(18), "ApiVersions");
  EXPECT_STREQ(ApiKeyName(23), "OffsetForLeaderEpoch");
  EXPECT_STREQ(ApiKeyName(999), "Unknown");
  ASSERT_TRUE(SchemaVersions(1).has_value());
  EXPECT_EQ(SchemaVersions(1)->min, 0);
  EXPECT_EQ(SchemaVersions(1)->max, 17);
  EXPECT_EQ(SchemaVersions(18)->max, 4);
  EXPECT_FALSE(SchemaVersions(7).has_value());
  EXPECT_TRUE(IsFlexibleVersion(3, 9));
  EXPECT_FALSE(IsFlexibleVersion(3, 8));
  EXPECT_FALSE(IsFlexibleVersion(17, 1));
  EXPECT_FALSE(IsFlexibleVersion(999, 20));
}

TEST(ApiTableTest, VisitApiFindsTheTypesOfAKey) {
  bool visited = false;
  EXPECT_TRUE(VisitApi(1, [&](auto api) {
    using Api = decltype(api);
    visited = std::is_same_v<typename Api::Request, FetchRequest> &&
              std::is_same_v<typename Api::Response, FetchResponse>;
  }));
  EXPECT_TRUE(visited);
  EXPECT_FALSE(VisitApi(7, [](auto) { ADD_FAILURE(); }));
  int count = 0;
  ForEachApi([&](auto api) {
    EXPECT_TRUE(IsKnownApiKey(decltype(api)::kApiKey));
    ++count;
  });
  EXPECT_EQ(count, 22);
}

TEST(MessageConstantsTest, FromTheSchemas) {
  EXPECT_EQ(ProduceRequest::kApiKey, 0);
  EXPECT_EQ(ProduceRequest::kLowestVersion, 0);
  EXPECT_EQ(ProduceRequest::kHighestVersion, 11);
  EXPECT_EQ(ProduceRequest::kFirstFlexibleVersion, 9);
  EXPECT_EQ(FetchResponse::kApiKey, 1);
  EXPECT_EQ(SaslHandshakeRequest::kFirstFlexibleVersion, -1);
  EXPECT_EQ(RequestHeader::kHighestVersion, 2);
  EXPECT_EQ(RequestHeader::kFirstFlexibleVersion, 2);
  EXPECT_EQ(ResponseHeader::kFirstFlexibleVersion, 1);
}

}  // namespace
}  // namespace varve::protocol
