#include "log/checkpoint.h"

#include "base/fault_injection_fs.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"

namespace varve {
namespace {

void WriteRaw(const std::string& path, absl::string_view text) {
  auto f = PosixFileSystem()->Open(path, OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Truncate(0).ok());
  ASSERT_TRUE((*f)->Write(0, text).ok());
}

TEST(CheckpointTest, RoundTripInKafkasFraming) {
  TempDir dir;
  const std::string path = dir.Sub("cp");
  ASSERT_TRUE(WriteCheckpoint(PosixFileSystem(), path, {"a 1", "b 2"}).ok());
  auto f = PosixFileSystem()->Open(path, OpenMode::kReadOnly);
  std::string text(*(*f)->Size(), '\0');
  ASSERT_TRUE((*f)->ReadExact(0, absl::MakeSpan(text)).ok());
  EXPECT_EQ(text, "0\n2\na 1\nb 2\n");
  auto entries = ReadCheckpoint(PosixFileSystem(), path);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, (std::vector<std::string>{"a 1", "b 2"}));
  EXPECT_FALSE(*PosixFileSystem()->Exists(path + ".tmp"));
}

TEST(CheckpointTest, MissingIsNotFound) {
  TempDir dir;
  EXPECT_EQ(ReadCheckpoint(PosixFileSystem(), dir.Sub("none")).status().code(),
            absl::StatusCode::kNotFound);
  OffsetCheckpoint cp(PosixFileSystem(), dir.Sub("none"));
  auto v = cp.Read();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
}

TEST(CheckpointTest, MalformedFilesAreDataLossNamingFileAndLine) {
  TempDir dir;
  const std::string path = dir.Sub("cp");
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "line"},
      {"0\n1\n5", "no final newline"},
      {"1\n1\n5\n", "line 1: unsupported version"},
      {"x\n", "line 1"},
      {"0\n", "line 2"},
      {"0\n3\n5\n", "says 3 entries but the file has 1"},
  };
  for (const Case& c : cases) {
    WriteRaw(path, c.text);
    auto entries = ReadCheckpoint(PosixFileSystem(), path);
    EXPECT_EQ(entries.status().code(), absl::StatusCode::kDataLoss) << c.text;
    EXPECT_NE(entries.status().message().find(path), std::string::npos);
    EXPECT_NE(entries.status().message().find(c.says), std::string::npos) << entries.status();
  }
  WriteRaw(path, "0\n1\n-4\n");
  EXPECT_EQ(OffsetCheckpoint(PosixFileSystem(), path).Read().status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(CheckpointTest, OffsetCheckpointAdvancesOnlyForward) {
  TempDir dir;
  OffsetCheckpoint cp(PosixFileSystem(), dir.Sub("rp"));
  ASSERT_TRUE(cp.Advance(10).ok());
  ASSERT_TRUE(cp.Advance(5).ok());
  EXPECT_EQ(*cp.Read().value(), 10);
  ASSERT_TRUE(cp.Write(3).ok());  // truncation moves it back explicitly
  EXPECT_EQ(*cp.Read().value(), 3);
}

TEST(CheckpointTest, ACrashMidWriteLeavesTheOldVersion) {
  TempDir dir;
  FaultInjectionFs fs(PosixFileSystem());
  const std::string path = dir.Sub("cp");
  ASSERT_TRUE(WriteCheckpoint(&fs, path, {"old"}).ok());
  // The new version's rename never becomes durable: the directory sync fails.
  fs.AddRule({.op = FaultOp::kSyncDir, .kind = FaultKind::kEio});
  EXPECT_FALSE(WriteCheckpoint(&fs, path, {"new"}).ok());
  fs.SetFilesystemActive(false);
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  ASSERT_TRUE(fs.DropUnsyncedDirectoryEntries().ok());
  fs.SetFilesystemActive(true);
  auto entries = ReadCheckpoint(&fs, path);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(*entries, std::vector<std::string>{"old"});
}

}  // namespace
}  // namespace varve
