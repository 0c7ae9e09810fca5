// Failure paths of the machinery OffsetIndex and TimeIndex share, driven through OffsetIndex with
// faults injected at the FileSystem seam.

#include "index/mapped_index_file.h"

#include <errno.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/file.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"
#include "index/index_test_util.h"
#include "index/offset_index.h"

namespace varve {
namespace {

using index_test::Be32;
using index_test::ReadFileBytes;

// Which File operations fail, and how often Truncate was called.
struct Faults {
  bool truncate = false;  // ENOSPC
  bool map = false;       // ENOMEM
  bool sync = false;      // EIO
  int truncates = 0;
};

class FaultyFile final : public File {
 public:
  FaultyFile(std::unique_ptr<File> file, Faults* faults)
      : file_(std::move(file)), faults_(faults) {}

  const std::string& path() const override { return file_->path(); }
  int fd() const override { return file_->fd(); }
  absl::StatusOr<size_t> Read(int64_t position, absl::Span<char> dst) override {
    return file_->Read(position, dst);
  }
  absl::Status WriteV(int64_t position, absl::Span<const iovec> iov) override {
    return file_->WriteV(position, iov);
  }
  absl::StatusOr<int64_t> Size() override { return file_->Size(); }
  absl::Status Sync() override {
    if (faults_->sync) return ErrnoToStatus(EIO, "fdatasync", path());
    return file_->Sync();
  }
  absl::Status Truncate(int64_t size) override {
    ++faults_->truncates;
    if (faults_->truncate) return ErrnoToStatus(ENOSPC, "truncate", path());
    return file_->Truncate(size);
  }
  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(size_t length, bool writable) override {
    if (faults_->map) return ErrnoToStatus(ENOMEM, "mmap", path());
    return file_->Map(length, writable);
  }

 private:
  std::unique_ptr<File> file_;
  Faults* faults_;
};

class FaultyFileSystem final : public FileSystem {
 public:
  explicit FaultyFileSystem(Faults* faults) : faults_(faults) {}

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    absl::StatusOr<std::unique_ptr<File>> file = posix_->Open(path, mode);
    if (!file.ok()) return file.status();
    return std::unique_ptr<File>(new FaultyFile(std::move(file).value(), faults_));
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    return posix_->Rename(from, to);
  }
  absl::Status Remove(const std::string& path) override { return posix_->Remove(path); }
  absl::Status CreateDir(const std::string& path) override { return posix_->CreateDir(path); }
  absl::Status RemoveDir(const std::string& path) override { return posix_->RemoveDir(path); }
  absl::Status SyncDir(const std::string& path) override { return posix_->SyncDir(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return posix_->ListDir(path);
  }
  absl::StatusOr<bool> Exists(const std::string& path) override { return posix_->Exists(path); }
  absl::StatusOr<bool> IsDirectory(const std::string& path) override {
    return posix_->IsDirectory(path);
  }

 private:
  FileSystem* const posix_ = PosixFileSystem();
  Faults* faults_;
};

class MappedIndexFileTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<OffsetIndex>> Open(bool writable, int64_t max_bytes = 8 * 16) {
    return OffsetIndex::Open(&fs_, path_, /*base_offset=*/0, max_bytes, writable);
  }

  // A writable index holding (1, 10) and (2, 20).
  std::unique_ptr<OffsetIndex> OpenWithTwoEntries() {
    auto index = Open(/*writable=*/true);
    EXPECT_TRUE(index.ok()) << index.status();
    if (!index.ok()) return nullptr;
    EXPECT_TRUE((*index)->Append(1, 10).ok());
    EXPECT_TRUE((*index)->Append(2, 20).ok());
    return std::move(index).value();
  }

  Faults faults_;
  FaultyFileSystem fs_{&faults_};
  TempDir dir_;
  const std::string path_ = dir_.Sub("00000000000000000000.index");
};

TEST_F(MappedIndexFileTest, OpenReportsPreallocationFailure) {
  faults_.truncate = true;
  auto index = Open(/*writable=*/true);
  EXPECT_EQ(index.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(index.status().message().find(path_), std::string::npos) << index.status();
}

TEST_F(MappedIndexFileTest, OpenReportsMapFailure) {
  faults_.map = true;
  EXPECT_FALSE(Open(/*writable=*/true).ok());
}

TEST_F(MappedIndexFileTest, FailedSealKeepsIndexAppendableAndRetryTrims) {
  std::unique_ptr<OffsetIndex> index = OpenWithTwoEntries();
  faults_.truncate = true;
  EXPECT_EQ(index->Seal().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(index->writable());
  EXPECT_EQ(index->entries(), 2);
  ASSERT_TRUE(index->Append(3, 30).ok());
  faults_.truncate = false;
  ASSERT_TRUE(index->Seal().ok());
  EXPECT_EQ(ReadFileBytes(path_).size(), 24u);
}

TEST_F(MappedIndexFileTest, CloseReleasesEverythingEvenWhenTrimFails) {
  std::unique_ptr<OffsetIndex> index = OpenWithTwoEntries();
  faults_.truncate = true;
  EXPECT_EQ(index->Close().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(index->entries(), 0);
  EXPECT_EQ(index->Append(3, 30).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(index->Close().ok());
  EXPECT_EQ(ReadFileBytes(path_).size(), 8u * 16);  // left preallocated, as after a crash
}

TEST_F(MappedIndexFileTest, FailedMakeWritableLeavesSealedIndexReadable) {
  std::unique_ptr<OffsetIndex> index = OpenWithTwoEntries();
  ASSERT_TRUE(index->Seal().ok());
  faults_.map = true;
  EXPECT_FALSE(index->MakeWritable(8 * 16).ok());
  EXPECT_FALSE(index->writable());
  EXPECT_EQ(index->Append(3, 30).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(index->Lookup(5), (OffsetPosition{2, 20}));
  faults_.map = false;
  ASSERT_TRUE(index->MakeWritable(8 * 16).ok());
  ASSERT_TRUE(index->Append(3, 30).ok());
  ASSERT_TRUE(index->Close().ok());
  EXPECT_EQ(ReadFileBytes(path_), Be32(1) + Be32(10) + Be32(2) + Be32(20) + Be32(3) + Be32(30));
}

// A shrinking MakeWritable that fails after the file shrank must not leave appends enabled over
// a mapping that now extends past the end of the file (that would be SIGBUS).
TEST_F(MappedIndexFileTest, FailedShrinkingMakeWritableDisablesAppends) {
  std::unique_ptr<OffsetIndex> index = OpenWithTwoEntries();
  faults_.map = true;
  EXPECT_FALSE(index->MakeWritable(8 * 4).ok());
  EXPECT_EQ(ReadFileBytes(path_).size(), 32u);
  EXPECT_EQ(index->Append(3, 30).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(index->entries(), 2);
}

TEST_F(MappedIndexFileTest, FlushReportsSyncFailure) {
  std::unique_ptr<OffsetIndex> index = OpenWithTwoEntries();
  ASSERT_TRUE(index->Flush().ok());
  faults_.sync = true;
  EXPECT_EQ(index->Flush().code(), absl::StatusCode::kInternal);
}

TEST_F(MappedIndexFileTest, ReadOnlyIndexNeverChangesTheFile) {
  ASSERT_TRUE(OpenWithTwoEntries()->Close().ok());
  const std::string before = ReadFileBytes(path_);
  faults_.truncates = 0;
  auto index = Open(/*writable=*/false);
  ASSERT_TRUE(index.ok()) << index.status();
  (*index)->TruncateTo(2);
  EXPECT_EQ((*index)->entries(), 1);
  ASSERT_TRUE((*index)->Seal().ok());
  ASSERT_TRUE((*index)->Flush().ok());
  ASSERT_TRUE((*index)->Close().ok());
  EXPECT_EQ(faults_.truncates, 0);
  EXPECT_EQ(ReadFileBytes(path_), before);
}

}  // namespace
}  // namespace varve
