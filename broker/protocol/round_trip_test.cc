// Every generated message at every valid version: a message with every field set (to values, and
// to null wherever the version allows null) survives encode + decode (fields the version lacks
// come back as defaults), decoding consumes exactly the encoding, and re-encoding gives the same
// bytes.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "broker/protocol/generated/messages.h"
#include "broker/protocol/message_testing.h"
#include "gtest/gtest.h"

namespace varve::protocol {
namespace {

int versions_checked = 0;

template <typename T>
void ExpectRoundTrip(const T& message, int16_t version) {
  T expected = message;
  ClearAbsentFields(expected, version);
  std::string bytes = EncodeToString(message, version);
  absl::StatusOr<T> decoded = DecodeFromString<T>(bytes, version);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, expected);
  EXPECT_EQ(ToHex(EncodeToString(*decoded, version)), ToHex(bytes));
}

template <typename T>
void RoundTripEveryVersion(int seed) {
  for (int v = T::kLowestVersion; v <= T::kHighestVersion; ++v) {
    const int16_t version = static_cast<int16_t>(v);
    SCOPED_TRACE(absl::StrCat(T::kName, " v", version));
    T filled;
    FillForTest(filled, seed + version);
    ExpectRoundTrip(filled, version);
    ExpectRoundTrip(T(), version);
    T nulls = filled;
    NullWherePossible(nulls, version);
    ExpectRoundTrip(nulls, version);
    ++versions_checked;
  }
}

TEST(RoundTripTest, EveryApiAtEveryVersion) {
  int apis = 0;
  ForEachApi([&](auto api) {
    using Api = decltype(api);
    RoundTripEveryVersion<typename Api::Request>(1);
    RoundTripEveryVersion<typename Api::Response>(100);
    ++apis;
  });
  EXPECT_EQ(apis, 22);
  EXPECT_GT(versions_checked, 300);
}

TEST(RoundTripTest, Headers) {
  RoundTripEveryVersion<RequestHeader>(7);
  RoundTripEveryVersion<ResponseHeader>(8);
}

TEST(RoundTripTest, FilledMessagesDifferFromDefaultsInEveryField) {
  // Guards the helpers the round trips rely on: a filled message differs from a default one in
  // every field, so each field's encoding is exercised.
  FetchResponse filled;
  FillForTest(filled, 1);
  int fields = 0;
  FetchResponse::VisitFields(filled, [&](const FieldInfo& info, const auto& field, auto&& def) {
    EXPECT_FALSE(field == def) << info.name;
    ++fields;
  });
  EXPECT_EQ(fields, 5);
  ASSERT_EQ(filled.responses.size(), 2u);
  ASSERT_EQ(filled.responses[0].partitions.size(), 2u);
  const FetchResponse::PartitionData& partition = filled.responses[0].partitions[0];
  FetchResponse::PartitionData::VisitFields(
      partition, [&](const FieldInfo& info, const auto& field, auto&& def) {
        EXPECT_FALSE(field == def) << info.name;
      });
}

TEST(RoundTripTest, NullWherePossibleFollowsNullableVersions) {
  FetchResponse response;
  FillForTest(response, 1);
  NullWherePossible(response, 4);
  const FetchResponse::PartitionData& partition = response.responses[0].partitions[0];
  EXPECT_TRUE(partition.records.is_null());
  EXPECT_EQ(partition.aborted_transactions, std::nullopt);  // nullable v4+
  MetadataRequest request;
  FillForTest(request, 1);
  NullWherePossible(request, 0);
  EXPECT_NE(request.topics, std::nullopt);  // nullable only from v1
  NullWherePossible(request, 1);
  EXPECT_EQ(request.topics, std::nullopt);
}

TEST(RoundTripTest, ClearAbsentFieldsUsesSchemaDefaults) {
  FetchResponse response;
  FillForTest(response, 1);
  ClearAbsentFields(response, 4);
  EXPECT_EQ(response.error_code, 0);  // v7+
  EXPECT_EQ(response.session_id, 0);  // v7+
  const FetchResponse::PartitionData& partition = response.responses[0].partitions[0];
  EXPECT_EQ(partition.log_start_offset, -1);        // v5+, default -1
  EXPECT_EQ(partition.preferred_read_replica, -1);  // v11+, default -1
  EXPECT_NE(partition.last_stable_offset, -1);      // v4+: kept
}

}  // namespace
}  // namespace varve::protocol
