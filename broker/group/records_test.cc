#include "broker/group/records.h"

#include "gtest/gtest.h"

namespace varve::broker::group {
namespace {

TEST(RecordsTest, OffsetCommitRoundTrips) {
  OffsetRecord r{.key = {"g", "orders", 7},
                 .value = CommittedOffset{.offset = 42,
                                          .leader_epoch = 3,
                                          .metadata = "meta",
                                          .commit_timestamp_ms = 1700000000000}};
  auto decoded = DecodeRecord(EncodeKey(r), EncodeValue(r));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const auto& o = std::get<OffsetRecord>(*decoded);
  EXPECT_EQ(o.key, r.key);
  EXPECT_EQ(o.value, r.value);
}

TEST(RecordsTest, KeyBytesAreKafkasOffsetKeyV1) {
  const std::string key = EncodeOffsetKey({"g", "t", 1});
  EXPECT_EQ(key, std::string("\x00\x01\x00\x01g\x00\x01t\x00\x00\x00\x01", 12));
}

TEST(RecordsTest, TombstonesHaveNoValue) {
  OffsetRecord r{.key = {"g", "t", 0}, .value = std::nullopt};
  EXPECT_FALSE(EncodeValue(r).has_value());
  auto decoded = DecodeRecord(EncodeKey(r), std::nullopt);
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(std::get<OffsetRecord>(*decoded).value.has_value());
  GroupRecord g{.group = "g", .value = std::nullopt};
  auto dg = DecodeRecord(EncodeKey(g), std::nullopt);
  ASSERT_TRUE(dg.ok());
  EXPECT_EQ(std::get<GroupRecord>(*dg).group, "g");
}

TEST(RecordsTest, GroupMetadataRoundTrips) {
  GroupMetadataRecord v{.protocol_type = "consumer",
                        .generation = 5,
                        .protocol = "range",
                        .leader = "c-1",
                        .state_timestamp_ms = 99,
                        .members = {{.member_id = "c-1",
                                     .client_id = "c",
                                     .client_host = "/127.0.0.1",
                                     .rebalance_timeout_ms = 300000,
                                     .session_timeout_ms = 10000,
                                     .subscription = std::string("\x00\x01", 2),
                                     .assignment = "a"}}};
  GroupRecord r{.group = "g", .value = v};
  auto decoded = DecodeRecord(EncodeKey(r), EncodeValue(r));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(std::get<GroupRecord>(*decoded).value, v);
  GroupMetadataRecord empty{.protocol_type = "consumer", .generation = 6};
  auto e = DecodeGroupValue(EncodeGroupValue(empty));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, empty);
}

TEST(RecordsTest, TruncatedAndUnknownVersionsAreDataLoss) {
  const std::string key = EncodeOffsetKey({"g", "t", 1});
  const std::string value = EncodeOffsetValue({.offset = 1});
  for (size_t n = 0; n < key.size(); ++n) {
    EXPECT_TRUE(absl::IsDataLoss(DecodeRecord(key.substr(0, n), value).status())) << n;
  }
  for (size_t n = 0; n < value.size(); ++n) {
    EXPECT_TRUE(absl::IsDataLoss(DecodeRecord(key, value.substr(0, n)).status())) << n;
  }
  EXPECT_TRUE(absl::IsDataLoss(DecodeRecord(std::string("\x00\x09", 2), std::nullopt).status()));
  GroupMetadataRecord v{.protocol_type = "consumer", .members = {{.member_id = "m"}}};
  const std::string gv = EncodeGroupValue(v);
  for (size_t n = 0; n < gv.size(); ++n) {
    EXPECT_FALSE(DecodeGroupValue(gv.substr(0, n)).ok()) << n;
  }
}

TEST(RecordsTest, PartitionIsKafkasHashOfTheGroupId) {
  // Java: "my-group".hashCode() == -1906497762; Utils.abs keeps the low 31 bits: 240985886.
  EXPECT_EQ(PartitionForGroup("my-group", 50), 240985886 % 50);
  EXPECT_EQ(PartitionForGroup("", 4), 0);
  for (const char* g : {"a", "group-1", "zzzzzzzzzzzzzzzzzzzzzzzz"}) {
    const int32_t p = PartitionForGroup(g, 7);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, 7);
  }
}

}  // namespace
}  // namespace varve::broker::group
