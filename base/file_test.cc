#include "base/file.h"

#include <algorithm>
#include <string>

#include "base/temp_dir.h"
#include "gtest/gtest.h"

namespace varve {
namespace {

TEST(PosixFileTest, WriteReadSizeTruncate) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  auto f = fs->Open(dir.Sub("a"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Write(0, "hello world").ok());
  char buf[5];
  ASSERT_TRUE((*f)->ReadExact(6, absl::MakeSpan(buf)).ok());
  EXPECT_EQ(std::string(buf, 5), "world");
  EXPECT_EQ(*(*f)->Size(), 11);
  ASSERT_TRUE((*f)->Truncate(5).ok());
  EXPECT_EQ(*(*f)->Size(), 5);
  absl::Status short_read = (*f)->ReadExact(3, absl::MakeSpan(buf));
  EXPECT_EQ(short_read.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(short_read.message().find(dir.Sub("a")), std::string::npos);
  EXPECT_TRUE((*f)->Sync().ok());
}

TEST(PosixFileTest, WriteVGathersBuffers) {
  TempDir dir;
  auto f = PosixFileSystem()->Open(dir.Sub("v"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  std::string a = "abc", b = "defgh";
  iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  ASSERT_TRUE((*f)->WriteV(2, iov).ok());
  char buf[10];
  auto n = (*f)->Read(0, absl::MakeSpan(buf));
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, 10u);
  EXPECT_EQ(std::string(buf + 2, 8), "abcdefgh");
  EXPECT_EQ(buf[0], '\0');
}

TEST(PosixFileTest, MapSeesWrites) {
  TempDir dir;
  auto f = PosixFileSystem()->Open(dir.Sub("m"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Truncate(4096).ok());
  auto map = (*f)->Map(4096, /*writable=*/true);
  ASSERT_TRUE(map.ok()) << map.status();
  std::memcpy((*map)->data(), "xyz", 3);
  char buf[3];
  ASSERT_TRUE((*f)->ReadExact(0, absl::MakeSpan(buf)).ok());
  EXPECT_EQ(std::string(buf, 3), "xyz");
}

TEST(PosixFileSystemTest, ErrorsNameThePath) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  auto missing = fs->Open(dir.Sub("nope"), OpenMode::kReadOnly);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  EXPECT_EQ(ErrnoToStatus(ENOSPC, "write", "x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(EIO, "write", "x").code(), absl::StatusCode::kInternal);
}

TEST(PosixFileSystemTest, DirectoryOperations) {
  TempDir dir;
  FileSystem* fs = PosixFileSystem();
  ASSERT_TRUE(fs->CreateDir(dir.Sub("d")).ok());
  ASSERT_TRUE(fs->CreateDir(dir.Sub("d")).ok());  // idempotent
  EXPECT_TRUE(*fs->IsDirectory(dir.Sub("d")));
  ASSERT_TRUE(fs->Open(dir.Sub("d/f1"), OpenMode::kCreate).ok());
  ASSERT_TRUE(fs->Rename(dir.Sub("d/f1"), dir.Sub("d/f2")).ok());
  ASSERT_TRUE(fs->SyncDir(dir.Sub("d")).ok());
  auto names = fs->ListDir(dir.Sub("d"));
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"f2"});
  EXPECT_FALSE(*fs->Exists(dir.Sub("d/f1")));
  ASSERT_TRUE(fs->Remove(dir.Sub("d/f2")).ok());
  ASSERT_TRUE(fs->RemoveDir(dir.Sub("d")).ok());
  EXPECT_FALSE(*fs->Exists(dir.Sub("d")));
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
}

}  // namespace
}  // namespace varve
