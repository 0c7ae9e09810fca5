#include "log/log_manager.h"

#include <string>

#include "base/temp_dir.h"
#include "gtest/gtest.h"

namespace varve {
namespace {

TEST(TopicNameTest, LegalNames) {
  for (const char* name : {"a", "orders", "Orders.v2", "__consumer_offsets", "a-b_c.d", "..."}) {
    EXPECT_TRUE(ValidateTopicName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateTopicName(std::string(249, 'x')).ok());
}

TEST(TopicNameTest, PathLikeAndIllegalNamesAreRejectedWithAReason) {
  struct Case {
    std::string name;
    std::string reason;
  } cases[] = {
      {"", "empty"},
      {".", "not allowed"},
      {"..", "not allowed"},
      {"../x", "'/' at index 2"},
      {"a/b", "'/' at index 1"},
      {"a b", "' ' at index 1"},
      {std::string("a\0b", 3), "at index 1"},
      {"caf\xc3\xa9", "at index 3"},
      {std::string(250, 'x'), "250 characters"},
  };
  for (const Case& c : cases) {
    absl::Status s = ValidateTopicName(c.name);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(c.reason), std::string::npos) << s;
  }
}

TEST(TopicNameTest, ParsesPartitionDirectories) {
  auto tp = ParseTopicPartitionDir("my-topic-12");
  ASSERT_TRUE(tp.ok());
  EXPECT_EQ(tp->topic, "my-topic");
  EXPECT_EQ(tp->partition, 12);
  EXPECT_EQ(tp->DirName(), "my-topic-12");
  EXPECT_FALSE(ParseTopicPartitionDir("nodash").ok());
  EXPECT_FALSE(ParseTopicPartitionDir("topic-").ok());
  EXPECT_FALSE(ParseTopicPartitionDir("-3").ok());
  EXPECT_FALSE(ParseTopicPartitionDir("topic-x1").ok());
  EXPECT_FALSE(ParseTopicPartitionDir("topic-99999999999").ok());
}

TEST(LogManagerTest, CreatesLogsInKafkasLayoutAndReopensThem) {
  TempDir dir;
  {
    auto manager = LogManager::Open(dir.path(), LogOptions());
    ASSERT_TRUE(manager.ok()) << manager.status();
    for (int p = 0; p < 3; ++p) {
      auto log = (*manager)->GetOrCreate({"orders", p});
      ASSERT_TRUE(log.ok()) << log.status();
      RecordToAppend r[] = {{.value = "x"}};
      ASSERT_TRUE((*log)->Append(r).ok());
    }
    auto same = (*manager)->GetOrCreate({"orders", 1});
    ASSERT_TRUE(same.ok());
    EXPECT_EQ((*same)->end_offset(), 1);
    EXPECT_TRUE(PosixFileSystem()->Exists(dir.Sub("orders-2/00000000000000000000.log")).value());
    ASSERT_TRUE((*manager)->Close().ok());
  }
  // Stray entries are left alone.
  ASSERT_TRUE(PosixFileSystem()->CreateDir(dir.Sub("not a log")).ok());
  ASSERT_TRUE(PosixFileSystem()->Open(dir.Sub("meta.properties"), OpenMode::kCreate).ok());
  auto manager = LogManager::Open(dir.path(), LogOptions());
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ((*manager)->List(),
            (std::vector<TopicPartition>{{"orders", 0}, {"orders", 1}, {"orders", 2}}));
  EXPECT_EQ((*manager)->skipped_entries().size(), 2u);
  auto log = (*manager)->Get({"orders", 2});
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->end_offset(), 1);
}

TEST(LogManagerTest, OpensFoundLogsWithTheResolvedPerTopicConfig) {
  TempDir dir;
  {
    auto manager = LogManager::Open(dir.path(), LogOptions());
    ASSERT_TRUE(manager.ok()) << manager.status();
    ASSERT_TRUE((*manager)->GetOrCreate({"small", 0}).ok());
    ASSERT_TRUE((*manager)->GetOrCreate({"big", 0}).ok());
  }
  auto resolver = [](const TopicPartition& tp) -> absl::StatusOr<LogConfig> {
    LogConfig config;
    if (tp.topic == "small") config.segment_bytes = 4096;
    return config;
  };
  auto manager = LogManager::Open(dir.path(), LogOptions(), resolver);
  ASSERT_TRUE(manager.ok()) << manager.status();
  EXPECT_EQ((*(*manager)->Get({"small", 0}))->config().segment_bytes, 4096);
  EXPECT_EQ((*(*manager)->Get({"big", 0}))->config().segment_bytes, LogConfig().segment_bytes);
}

TEST(LogManagerTest, AResolverErrorFailsTheOpenNamingTheLog) {
  TempDir dir;
  {
    auto manager = LogManager::Open(dir.path(), LogOptions());
    ASSERT_TRUE(manager.ok()) << manager.status();
    ASSERT_TRUE((*manager)->GetOrCreate({"t", 0}).ok());
  }
  auto manager = LogManager::Open(dir.path(), LogOptions(), [](const TopicPartition&) {
    return absl::StatusOr<LogConfig>(absl::InvalidArgumentError("bad retention.ms"));
  });
  ASSERT_FALSE(manager.ok());
  EXPECT_EQ(manager.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(manager.status().message().find("t-0"), absl::string_view::npos);
  EXPECT_NE(manager.status().message().find("bad retention.ms"), absl::string_view::npos);
}

TEST(LogManagerTest, RejectsBadNamesBeforeTouchingTheDisk) {
  TempDir dir;
  auto manager = LogManager::Open(dir.Sub("data"), LogOptions());
  ASSERT_TRUE(manager.ok());
  for (const std::string& bad :
       {std::string("../x"), std::string("a/b"), std::string(""), std::string(300, 'y')}) {
    auto log = (*manager)->GetOrCreate({bad, 0});
    EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ((*manager)->GetOrCreate({"ok", -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(PosixFileSystem()->Exists(dir.Sub("x-0")).value());
  EXPECT_TRUE(PosixFileSystem()->ListDir(dir.Sub("data"))->empty());
}

TEST(LogManagerTest, GetOfAMissingLogIsNotFound) {
  TempDir dir;
  auto manager = LogManager::Open(dir.path(), LogOptions());
  ASSERT_TRUE(manager.ok());
  EXPECT_EQ((*manager)->Get({"nope", 0}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*manager)->Delete({"nope", 0}).code(), absl::StatusCode::kNotFound);
}

TEST(LogManagerTest, DeleteRemovesTheDirectory) {
  TempDir dir;
  auto manager = LogManager::Open(dir.path(), LogOptions());
  ASSERT_TRUE(manager.ok());
  auto log = (*manager)->GetOrCreate({"gone", 0});
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*manager)->Delete({"gone", 0}).ok());
  EXPECT_FALSE(PosixFileSystem()->Exists(dir.Sub("gone-0")).value());
  EXPECT_TRUE((*manager)->List().empty());
  // A holder of the deleted log gets a clear error, not a crash.
  RecordToAppend r[] = {{.value = "x"}};
  EXPECT_EQ((*log)->Append(r).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace varve
