#include "log/log_config.h"

#include "gtest/gtest.h"

namespace varve {
namespace {

TEST(LogConfigTest, DefaultsAreKafkas) {
  LogConfig c;
  EXPECT_EQ(c.segment_bytes, 1073741824);
  EXPECT_EQ(c.segment_ms, 604800000);
  EXPECT_EQ(c.index_interval_bytes, 4096);
  EXPECT_EQ(c.segment_index_bytes, 10485760);
  EXPECT_EQ(c.max_message_bytes, 1048588);
  EXPECT_TRUE(c.Validate().ok());
}

TEST(LogConfigTest, FromPropertiesAppliesKafkaNames) {
  auto c = LogConfig::FromProperties({{"segment.bytes", "1048576"},
                                      {"segment.ms", "60000"},
                                      {"segment.jitter.ms", "10"},
                                      {"index.interval.bytes", "128"},
                                      {"segment.index.bytes", "4096"},
                                      {"max.message.bytes", "2000"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->segment_bytes, 1048576);
  EXPECT_EQ(c->segment_ms, 60000);
  EXPECT_EQ(c->segment_jitter_ms, 10);
  EXPECT_EQ(c->index_interval_bytes, 128);
  EXPECT_EQ(c->segment_index_bytes, 4096);
  EXPECT_EQ(c->max_message_bytes, 2000);
}

TEST(LogConfigTest, UnknownKeyIsNamed) {
  auto c = LogConfig::FromProperties({{"segment.byte", "1"}});
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("segment.byte"), std::string::npos);
}

TEST(LogConfigTest, NonNumberIsNamed) {
  auto c = LogConfig::FromProperties({{"segment.ms", "7d"}});
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("segment.ms=\"7d\""), std::string::npos);
}

TEST(LogConfigTest, OutOfRangeValuesAreRejected) {
  EXPECT_FALSE(LogConfig::FromProperties({{"segment.bytes", "13"}}).ok());
  EXPECT_FALSE(LogConfig::FromProperties({{"segment.bytes", "4294967296"}}).ok());
  EXPECT_FALSE(LogConfig::FromProperties({{"segment.ms", "0"}}).ok());
  EXPECT_FALSE(LogConfig::FromProperties({{"segment.index.bytes", "23"}}).ok());
  EXPECT_FALSE(LogConfig::FromProperties({{"index.interval.bytes", "-1"}}).ok());
  EXPECT_FALSE(LogConfig::FromProperties({{"max.message.bytes", "99999999999"}}).ok());
  auto s = LogConfig::FromProperties({{"segment.index.bytes", "8"}}).status();
  EXPECT_NE(s.message().find("segment.index.bytes"), std::string::npos) << s;
}

}  // namespace
}  // namespace varve

namespace varve {
namespace {

TEST(LogConfigTest, DurabilityAndRetentionKeys) {
  auto c = LogConfig::FromProperties({{"varve.durability", "group_commit"},
                                      {"flush.ms", "50"},
                                      {"varve.flush.bytes", "4096"},
                                      {"retention.ms", "-1"},
                                      {"retention.bytes", "1000000"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->durability, DurabilityMode::kGroupCommit);
  EXPECT_EQ(c->flush_interval_ms, 50);
  EXPECT_EQ(c->flush_interval_bytes, 4096);
  EXPECT_EQ(c->retention_ms, -1);
  EXPECT_EQ(c->retention_bytes, 1000000);
  auto bad = LogConfig::FromProperties({{"varve.durability", "fsync"}});
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("page_cache, group_commit, interval"), std::string::npos)
      << bad.status();
  EXPECT_FALSE(LogConfig::FromProperties({{"retention.ms", "-2"}}).ok());
  EXPECT_FALSE(LogConfig::FromProperties({{"flush.ms", "0"}}).ok());
}

TEST(DurabilityNamesTest, RoundTrip) {
  for (DurabilityMode m :
       {DurabilityMode::kPageCache, DurabilityMode::kGroupCommit, DurabilityMode::kInterval}) {
    EXPECT_EQ(*ParseDurabilityMode(DurabilityModeName(m)), m);
  }
  for (IoBackendKind k : {IoBackendKind::kAuto, IoBackendKind::kIoUring, IoBackendKind::kPwritev}) {
    EXPECT_EQ(*ParseIoBackendKind(IoBackendKindName(k)), k);
  }
  for (RecoveryMode r :
       {RecoveryMode::kTruncateTornTail, RecoveryMode::kTruncateAtFirstCorruption}) {
    EXPECT_EQ(*ParseRecoveryMode(RecoveryModeName(r)), r);
  }
  EXPECT_FALSE(ParseIoBackendKind("aio").ok());
}

}  // namespace
}  // namespace varve
