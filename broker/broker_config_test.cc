#include "broker/broker_config.h"

#include <limits>

#include "gtest/gtest.h"

namespace varve::broker {
namespace {

absl::StatusOr<BrokerConfig> FromText(absl::string_view text) {
  auto props = ParseProperties(text, "server.properties");
  if (!props.ok()) return props.status();
  return BrokerConfig::FromProperties(*props);
}

TEST(BrokerConfigTest, DefaultsAreASingleLocalNode) {
  auto c = BrokerConfig::FromProperties({});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listener.host, "127.0.0.1");
  EXPECT_EQ(c->listener.port, 9092);
  EXPECT_EQ(c->advertised.port, 9092);
  EXPECT_FALSE(c->advertised_explicit);
  EXPECT_EQ(c->data_dir, "./varve-data");
  EXPECT_EQ(c->num_partitions, 1);
  EXPECT_TRUE(c->auto_create_topics);
  EXPECT_EQ(c->socket_request_max_bytes, 100 << 20);
  EXPECT_EQ(c->log_defaults.retention_ms, 7LL * 24 * 3600 * 1000);
  EXPECT_EQ(c->log_defaults.segment_bytes, 1LL << 30);
  EXPECT_EQ(c->log_defaults.durability, DurabilityMode::kPageCache);
  EXPECT_EQ(c->producer_id_expiration_ms, 86'400'000);
  EXPECT_EQ(c->producer_id_expiration_check_interval_ms, 600'000);
  EXPECT_EQ(c->offsets_topic_segment_bytes, 100 << 20);
  EXPECT_EQ(c->connections_max_idle_ms, 600'000);
  EXPECT_EQ(c->max_connections, std::numeric_limits<int32_t>::max());
  EXPECT_EQ(c->max_connections_per_ip, std::numeric_limits<int32_t>::max());
}

TEST(BrokerConfigTest, ConnectionLimitKeys) {
  auto c = FromText("connections.max.idle.ms=-1\nmax.connections=500\nmax.connections.per.ip=50\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->connections_max_idle_ms, -1);
  EXPECT_EQ(c->max_connections, 500);
  EXPECT_EQ(c->max_connections_per_ip, 50);
  auto zero = FromText("connections.max.idle.ms=0\n");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("server.properties:1: connections.max.idle.ms=\"0\""),
            absl::string_view::npos)
      << zero.status();
  EXPECT_NE(zero.status().message().find("use -1"), absl::string_view::npos) << zero.status();
  auto below = FromText("# caps\nconnections.max.idle.ms=-2\n");
  ASSERT_FALSE(below.ok());
  EXPECT_NE(below.status().message().find("server.properties:2: connections.max.idle.ms=\"-2\""),
            absl::string_view::npos)
      << below.status();
  auto negative = FromText("max.connections=-1\n");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("max.connections=\"-1\": out of range"),
            absl::string_view::npos)
      << negative.status();
  auto words = FromText("max.connections.per.ip=lots\n");
  ASSERT_FALSE(words.ok());
  EXPECT_NE(words.status().message().find("max.connections.per.ip=\"lots\": not an integer"),
            absl::string_view::npos)
      << words.status();
  EXPECT_FALSE(FromText("max.connections=2147483648\n").ok());  // Kafka's is an int
  EXPECT_TRUE(FromText("connections.max.idle.ms=9223372036854775807\n").ok());
  // Overrides apply after the file and are named in errors too.
  auto props = ParseProperties("max.connections=10\n", "server.properties");
  ASSERT_TRUE(props.ok());
  props->push_back(*ParseOverride("max.connections=20"));
  props->push_back(*ParseOverride("connections.max.idle.ms=1000"));
  auto overridden = BrokerConfig::FromProperties(*props);
  ASSERT_TRUE(overridden.ok()) << overridden.status();
  EXPECT_EQ(overridden->max_connections, 20);
  EXPECT_EQ(overridden->connections_max_idle_ms, 1000);
  props->push_back(*ParseOverride("max.connections.per.ip=-5"));
  auto bad_override = BrokerConfig::FromProperties(*props);
  ASSERT_FALSE(bad_override.ok());
  EXPECT_NE(bad_override.status().message().find("--override max.connections.per.ip"),
            absl::string_view::npos)
      << bad_override.status();
}

TEST(BrokerConfigTest, ProducerExpiryAndOffsetsTopicKeys) {
  auto c = FromText(
      "producer.id.expiration.ms=3600000\n"
      "producer.id.expiration.check.interval.ms=1000\n"
      "offsets.topic.segment.bytes=1048576\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->producer_id_expiration_ms, 3'600'000);
  EXPECT_EQ(c->producer_id_expiration_check_interval_ms, 1000);
  EXPECT_EQ(c->offsets_topic_segment_bytes, 1 << 20);
  EXPECT_TRUE(c->warnings.empty());
  EXPECT_FALSE(FromText("producer.id.expiration.ms=0\n").ok());
  EXPECT_FALSE(FromText("producer.id.expiration.check.interval.ms=-1\n").ok());
  EXPECT_FALSE(FromText("offsets.topic.segment.bytes=100\n").ok());
}

TEST(BrokerConfigTest, KafkaKeysAreApplied) {
  auto c = FromText(
      "listeners=PLAINTEXT://127.0.0.1:19092\n"
      "advertised.listeners=PLAINTEXT://localhost:29092\n"
      "log.dirs=/var/lib/varve\n"
      "broker.id=3\n"
      "num.partitions=6\n"
      "auto.create.topics.enable=false\n"
      "log.segment.bytes=1048576\n"
      "log.retention.hours=1\n"
      "log.retention.bytes=1000000\n"
      "message.max.bytes=2000000\n"
      "socket.request.max.bytes=5000000\n"
      "varve.durability=group_commit\n"
      "offsets.topic.num.partitions=3\n"
      "metrics.port=0\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listener.port, 19092);
  EXPECT_EQ(c->advertised.host, "localhost");
  EXPECT_EQ(c->advertised.port, 29092);
  EXPECT_EQ(c->data_dir, "/var/lib/varve");
  EXPECT_EQ(c->node_id, 3);
  EXPECT_EQ(c->num_partitions, 6);
  EXPECT_FALSE(c->auto_create_topics);
  EXPECT_EQ(c->log_defaults.segment_bytes, 1 << 20);
  EXPECT_EQ(c->log_defaults.retention_ms, 3'600'000);
  EXPECT_EQ(c->log_defaults.retention_bytes, 1'000'000);
  EXPECT_EQ(c->log_defaults.max_message_bytes, 2'000'000);
  EXPECT_EQ(c->socket_request_max_bytes, 5'000'000);
  EXPECT_EQ(c->log_defaults.durability, DurabilityMode::kGroupCommit);
  EXPECT_EQ(c->metrics_port, 0);
  EXPECT_EQ(c->offsets_topic_num_partitions, 3);
  EXPECT_TRUE(c->warnings.empty());
}

TEST(BrokerConfigTest, FinestRetentionUnitWins) {
  auto c = FromText("log.retention.hours=5\nlog.retention.minutes=3\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->log_defaults.retention_ms, 180'000);
  c = FromText("log.retention.minutes=3\nlog.retention.ms=42\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->log_defaults.retention_ms, 42);
  c = FromText("log.retention.hours=-1\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->log_defaults.retention_ms, -1);
}

TEST(BrokerConfigTest, BadValuesNameTheSourceLineKeyAndValue) {
  auto c = FromText("num.partitions=1\nnum.partitions=zero\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("server.properties:2: num.partitions=\"zero\""),
            absl::string_view::npos)
      << c.status();
  EXPECT_FALSE(FromText("num.partitions=0\n").ok());
  EXPECT_FALSE(FromText("listeners=SSL://h:1\n").ok());
  EXPECT_FALSE(FromText("listeners=h:99999\n").ok());
  EXPECT_FALSE(FromText("log.dirs=/a,/b\n").ok());
  EXPECT_FALSE(FromText("auto.create.topics.enable=yes\n").ok());
  auto bad_log = FromText("log.segment.bytes=1\n");
  ASSERT_FALSE(bad_log.ok());
  EXPECT_NE(bad_log.status().message().find("server.properties:1"), absl::string_view::npos)
      << bad_log.status();
  EXPECT_FALSE(FromText("varve.durability=sometimes\n").ok());
}

TEST(BrokerConfigTest, WildcardListenerNeedsAnAdvertisedAddress) {
  EXPECT_FALSE(FromText("listeners=PLAINTEXT://0.0.0.0:9092\n").ok());
  auto c = FromText(
      "listeners=PLAINTEXT://0.0.0.0:9092\nadvertised.listeners=PLAINTEXT://10.0.0.1:9092\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listener.host, "0.0.0.0");
  EXPECT_EQ(c->advertised.host, "10.0.0.1");
}

TEST(BrokerConfigTest, UnknownKeysAreWarnedAboutNotDropped) {
  auto c = FromText("zookeeper.connect=localhost:2181\n");
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("zookeeper.connect"), std::string::npos);
}

TEST(BrokerConfigTest, OverridesWinOverTheFile) {
  auto props = ParseProperties("num.partitions=3\n", "f");
  ASSERT_TRUE(props.ok());
  props->push_back(*ParseOverride("num.partitions=5"));
  auto c = BrokerConfig::FromProperties(*props);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->num_partitions, 5);
}

}  // namespace
}  // namespace varve::broker
