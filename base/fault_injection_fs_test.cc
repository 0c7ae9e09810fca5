#include "base/fault_injection_fs.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "base/file.h"
#include "base/temp_dir.h"
#include "gtest/gtest.h"

namespace varve {
namespace {

std::string ReadAll(const std::string& path) {
  auto file = PosixFileSystem()->Open(path, OpenMode::kReadOnly);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return "";
  std::string bytes(*(*file)->Size(), '\0');
  EXPECT_TRUE((*file)->ReadExact(0, absl::MakeSpan(bytes)).ok());
  return bytes;
}

void WriteAll(const std::string& path, absl::string_view bytes) {
  auto file = PosixFileSystem()->Open(path, OpenMode::kCreate);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE((*file)->Truncate(0).ok());
  ASSERT_TRUE((*file)->Write(0, bytes).ok());
}

bool Exists(const std::string& path) { return *PosixFileSystem()->Exists(path); }

// A pass-through FileSystem that records the size of every underlying write.
class RecordingFs final : public FileSystem {
 public:
  std::vector<size_t> write_sizes;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    auto file = PosixFileSystem()->Open(path, mode);
    if (!file.ok()) return file.status();
    return std::unique_ptr<File>(new RecordingFile(std::move(file).value(), &write_sizes));
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    return PosixFileSystem()->Rename(from, to);
  }
  absl::Status Remove(const std::string& path) override { return PosixFileSystem()->Remove(path); }
  absl::Status CreateDir(const std::string& path) override {
    return PosixFileSystem()->CreateDir(path);
  }
  absl::Status RemoveDir(const std::string& path) override {
    return PosixFileSystem()->RemoveDir(path);
  }
  absl::Status SyncDir(const std::string& path) override {
    return PosixFileSystem()->SyncDir(path);
  }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return PosixFileSystem()->ListDir(path);
  }
  absl::StatusOr<bool> Exists(const std::string& path) override {
    return PosixFileSystem()->Exists(path);
  }
  absl::StatusOr<bool> IsDirectory(const std::string& path) override {
    return PosixFileSystem()->IsDirectory(path);
  }

 private:
  class RecordingFile final : public File {
   public:
    RecordingFile(std::unique_ptr<File> file, std::vector<size_t>* sizes)
        : file_(std::move(file)), sizes_(sizes) {}
    const std::string& path() const override { return file_->path(); }
    int fd() const override { return file_->fd(); }
    absl::StatusOr<size_t> Read(int64_t position, absl::Span<char> dst) override {
      return file_->Read(position, dst);
    }
    absl::Status WriteV(int64_t position, absl::Span<const iovec> iov) override {
      size_t total = 0;
      for (const iovec& v : iov) total += v.iov_len;
      sizes_->push_back(total);
      return file_->WriteV(position, iov);
    }
    absl::Status Sync() override { return file_->Sync(); }
    absl::StatusOr<int64_t> Size() override { return file_->Size(); }
    absl::Status Truncate(int64_t size) override { return file_->Truncate(size); }
    absl::StatusOr<std::unique_ptr<MappedRegion>> Map(size_t length, bool writable) override {
      return file_->Map(length, writable);
    }

   private:
    std::unique_ptr<File> file_;
    std::vector<size_t>* sizes_;
  };
};

class FaultInjectionFsTest : public testing::Test {
 protected:
  std::unique_ptr<File> OpenFile(const std::string& name, OpenMode mode = OpenMode::kCreate) {
    auto file = fs_.Open(dir_.Sub(name), mode);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? std::move(file).value() : nullptr;
  }

  TempDir dir_;
  FaultInjectionFs fs_{PosixFileSystem()};
};

TEST_F(FaultInjectionFsTest, ForwardsEverythingWhenNoRuleIsArmed) {
  std::unique_ptr<File> f = OpenFile("a");
  EXPECT_EQ(f->path(), dir_.Sub("a"));
  EXPECT_EQ(f->fd(), -1);  // so io_uring and sendfile callers come through the seam
  ASSERT_TRUE(f->Write(0, "hello world").ok());
  char buf[5];
  ASSERT_TRUE(f->ReadExact(6, absl::MakeSpan(buf)).ok());
  EXPECT_EQ(std::string(buf, 5), "world");
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Truncate(5).ok());
  EXPECT_EQ(*f->Size(), 5);
  auto map = f->Map(5, /*writable=*/false);
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(std::string((*map)->data(), 5), "hello");

  ASSERT_TRUE(fs_.CreateDir(dir_.Sub("d")).ok());
  EXPECT_TRUE(*fs_.IsDirectory(dir_.Sub("d")));
  ASSERT_TRUE(fs_.Rename(dir_.Sub("a"), dir_.Sub("d/b")).ok());
  ASSERT_TRUE(fs_.SyncDir(dir_.Sub("d")).ok());
  EXPECT_EQ(*fs_.ListDir(dir_.Sub("d")), std::vector<std::string>{"b"});
  EXPECT_EQ(ReadAll(dir_.Sub("d/b")), "hello");
  ASSERT_TRUE(fs_.Remove(dir_.Sub("d/b")).ok());
  EXPECT_FALSE(*fs_.Exists(dir_.Sub("d/b")));
  ASSERT_TRUE(fs_.RemoveDir(dir_.Sub("d")).ok());
  EXPECT_FALSE(Exists(dir_.Sub("d")));
  EXPECT_EQ(fs_.InjectedFaults(), 0);
}

// One operation of every FaultOp, run against a directory holding file "f" ("synced") and
// directory "d"; `unchanged` checks that the failed operation did nothing.
struct OpCase {
  FaultOp op;
  std::string what;  // expected in the message
  std::function<absl::Status(FaultInjectionFs&, File&, const TempDir&)> run;
  std::function<void(const TempDir&)> unchanged;
};

std::vector<OpCase> EveryOp() {
  auto f_unchanged = [](const TempDir& dir) { EXPECT_EQ(ReadAll(dir.Sub("f")), "synced"); };
  auto nothing = [](const TempDir&) {};
  return {
      {FaultOp::kOpen, "open",
       [](FaultInjectionFs& fs, File&, const TempDir& dir) {
         return fs.Open(dir.Sub("new"), OpenMode::kCreate).status();
       },
       [](const TempDir& dir) { EXPECT_FALSE(Exists(dir.Sub("new"))); }},
      {FaultOp::kRead, "read at byte 2 of",
       [](FaultInjectionFs&, File& f, const TempDir&) {
         char buf[3];
         return f.Read(2, absl::MakeSpan(buf)).status();
       },
       nothing},
      {FaultOp::kWrite, "write at byte 0 of",
       [](FaultInjectionFs&, File& f, const TempDir&) { return f.Write(0, "XXXXXXXXXX"); },
       f_unchanged},
      {FaultOp::kSync, "fdatasync",
       [](FaultInjectionFs&, File& f, const TempDir&) { return f.Sync(); }, nothing},
      {FaultOp::kTruncate, "truncate to 1",
       [](FaultInjectionFs&, File& f, const TempDir&) { return f.Truncate(1); }, f_unchanged},
      {FaultOp::kMap, "mmap 6 bytes",
       [](FaultInjectionFs&, File& f, const TempDir&) { return f.Map(6, false).status(); },
       nothing},
      {FaultOp::kRename, "rename to",
       [](FaultInjectionFs& fs, File&, const TempDir& dir) {
         return fs.Rename(dir.Sub("f"), dir.Sub("g"));
       },
       [](const TempDir& dir) {
         EXPECT_EQ(ReadAll(dir.Sub("f")), "synced");
         EXPECT_FALSE(Exists(dir.Sub("g")));
       }},
      {FaultOp::kRemove, "remove",
       [](FaultInjectionFs& fs, File&, const TempDir& dir) { return fs.Remove(dir.Sub("f")); },
       f_unchanged},
      {FaultOp::kRemove, "remove directory",
       [](FaultInjectionFs& fs, File&, const TempDir& dir) { return fs.RemoveDir(dir.Sub("d")); },
       [](const TempDir& dir) { EXPECT_TRUE(Exists(dir.Sub("d"))); }},
      {FaultOp::kSyncDir, "fsync directory",
       [](FaultInjectionFs& fs, File&, const TempDir& dir) { return fs.SyncDir(dir.Sub("d")); },
       nothing},
      {FaultOp::kCreateDir, "create directory",
       [](FaultInjectionFs& fs, File&, const TempDir& dir) { return fs.CreateDir(dir.Sub("e")); },
       [](const TempDir& dir) { EXPECT_FALSE(Exists(dir.Sub("e"))); }},
      {FaultOp::kListDir, "list directory",
       [](FaultInjectionFs& fs, File&, const TempDir& dir) {
         return fs.ListDir(dir.Sub("d")).status();
       },
       nothing},
  };
}

class EveryOpTest : public testing::TestWithParam<FaultKind> {};

TEST_P(EveryOpTest, FailsWithTheKindsCodeNamesPathAndOperationAndChangesNothing) {
  const FaultKind kind = GetParam();
  const absl::StatusCode code =
      kind == FaultKind::kEio ? absl::StatusCode::kInternal : absl::StatusCode::kResourceExhausted;
  for (const OpCase& c : EveryOp()) {
    SCOPED_TRACE(c.what);
    TempDir dir;
    WriteAll(dir.Sub("f"), "synced");
    ASSERT_TRUE(PosixFileSystem()->CreateDir(dir.Sub("d")).ok());
    FaultInjectionFs fs(PosixFileSystem());
    auto f = fs.Open(dir.Sub("f"), OpenMode::kReadWrite);
    ASSERT_TRUE(f.ok());
    fs.AddRule({.op = c.op, .kind = kind});

    absl::Status s = c.run(fs, **f, dir);
    EXPECT_EQ(s.code(), code) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "injected")) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), c.what)) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), dir.path())) << s;
    c.unchanged(dir);
    EXPECT_EQ(fs.InjectedFaults(), 1);

    EXPECT_TRUE(c.run(fs, **f, dir).ok()) << "times = 1 fails only once";
  }
}

INSTANTIATE_TEST_SUITE_P(EioAndEnospc, EveryOpTest,
                         testing::Values(FaultKind::kEio, FaultKind::kEnospc),
                         [](const testing::TestParamInfo<FaultKind>& info) {
                           return info.param == FaultKind::kEio ? "Eio" : "Enospc";
                         });

TEST_F(FaultInjectionFsTest, FailingSyncDoesNotSync) {
  std::unique_ptr<File> f = OpenFile("log");
  ASSERT_TRUE(f->Write(0, "abc").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Write(3, "def").ok());
  fs_.AddRule({.op = FaultOp::kSync});
  EXPECT_EQ(f->Sync().code(), absl::StatusCode::kInternal);
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadAll(dir_.Sub("log")), "abc");

  ASSERT_TRUE(f->Write(3, "ghi").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadAll(dir_.Sub("log")), "abcghi");
}

TEST_F(FaultInjectionFsTest, TornWriteLeavesExactlyThePrefix) {
  std::unique_ptr<File> f = OpenFile("log");
  ASSERT_TRUE(f->Write(0, "0123").ok());
  fs_.AddRule({.op = FaultOp::kWrite, .kind = FaultKind::kTornWrite, .torn_bytes = 6});
  std::string a = "abcd", b = "efghij";
  iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  absl::Status s = f->WriteV(4, iov);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(s.message(), "injected torn write (6 of 10 bytes landed)")) << s;
  EXPECT_EQ(ReadAll(dir_.Sub("log")), "0123abcdef");
  EXPECT_EQ(fs_.StatsFor("log").write_bytes, 4 + 6);
  EXPECT_EQ(fs_.SpaceUsed(), 10);
}

TEST_F(FaultInjectionFsTest, TornWriteCutsInHalfByDefault) {
  std::unique_ptr<File> f = OpenFile("log");
  fs_.AddRule({.op = FaultOp::kWrite, .kind = FaultKind::kTornWrite});
  EXPECT_FALSE(f->Write(0, "0123456789").ok());
  EXPECT_EQ(ReadAll(dir_.Sub("log")), "01234");
}

TEST_F(FaultInjectionFsTest, ShortWriteCompletesInSeveralUnderlyingWrites) {
  RecordingFs recording;
  FaultInjectionFs fs(&recording);
  auto f = fs.Open(dir_.Sub("log"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Write(0, "..........").ok());
  fs.AddRule({.op = FaultOp::kWrite, .kind = FaultKind::kShortWrite, .times = 2, .torn_bytes = 3});
  std::string a = "ab", b = "cdefg";
  iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  ASSERT_TRUE((*f)->WriteV(2, iov).ok());
  EXPECT_EQ(ReadAll(dir_.Sub("log")), "..abcdefg.");
  EXPECT_EQ(recording.write_sizes, (std::vector<size_t>{10, 3, 4}));
  EXPECT_EQ(fs.StatsFor("log").writes, 2);
  EXPECT_EQ(fs.StatsFor("log").write_bytes, 17);

  fs.ClearRules();
  fs.AddRule({.op = FaultOp::kWrite, .kind = FaultKind::kShortWrite});  // half by default
  recording.write_sizes.clear();
  ASSERT_TRUE((*f)->Write(10, "0123456789").ok());
  EXPECT_EQ(ReadAll(dir_.Sub("log")), "..abcdefg.0123456789");
  EXPECT_EQ(recording.write_sizes, (std::vector<size_t>{5, 5}));
}

TEST_F(FaultInjectionFsTest, SkipLetsOperationsThroughThenTimesFail) {
  std::unique_ptr<File> f = OpenFile("log");
  fs_.AddRule({.op = FaultOp::kWrite, .skip = 2, .times = 2});
  std::vector<bool> ok;
  for (int i = 0; i < 5; ++i) ok.push_back(f->Write(i, "x").ok());
  EXPECT_EQ(ok, (std::vector<bool>{true, true, false, false, true}));
  EXPECT_EQ(fs_.InjectedFaults(), 2);
}

TEST_F(FaultInjectionFsTest, TimesMinusOneFailsUntilCleared) {
  std::unique_ptr<File> f = OpenFile("log");
  fs_.AddRule({.op = FaultOp::kSync, .times = -1});
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(f->Sync().ok());
  fs_.ClearRules();
  EXPECT_TRUE(f->Sync().ok());
}

TEST_F(FaultInjectionFsTest, PathContainsSelectsTheFiles) {
  std::unique_ptr<File> log = OpenFile("00000000000000000000.log");
  std::unique_ptr<File> index = OpenFile("00000000000000000000.index");
  fs_.AddRule({.op = FaultOp::kWrite, .path_contains = ".index", .times = -1});
  EXPECT_TRUE(log->Write(0, "x").ok());
  EXPECT_FALSE(index->Write(0, "x").ok());
  // A rename matches on either name.
  fs_.AddRule({.op = FaultOp::kRename, .path_contains = "checkpoint", .times = -1});
  EXPECT_FALSE(fs_.Rename(dir_.Sub("00000000000000000000.log"), dir_.Sub("checkpoint")).ok());
  EXPECT_FALSE(fs_.Rename(dir_.Sub("checkpoint.tmp"), dir_.Sub("x")).ok());
  EXPECT_TRUE(fs_.Rename(dir_.Sub("00000000000000000000.log"), dir_.Sub("y.log")).ok());
}

TEST_F(FaultInjectionFsTest, EveryRuleCountsOnItsOwnAndTheFirstAddedDecides) {
  std::unique_ptr<File> f = OpenFile("log");
  fs_.AddRule({.op = FaultOp::kWrite, .kind = FaultKind::kEnospc, .skip = 1, .times = -1});
  fs_.AddRule({.op = FaultOp::kWrite, .kind = FaultKind::kEio, .times = 2});
  EXPECT_EQ(f->Write(0, "x").code(), absl::StatusCode::kInternal);           // only EIO fires
  EXPECT_EQ(f->Write(0, "x").code(), absl::StatusCode::kResourceExhausted);  // both: first wins
  EXPECT_EQ(f->Write(0, "x").code(), absl::StatusCode::kResourceExhausted);  // EIO used up
}

TEST_F(FaultInjectionFsTest, SpaceLimitFailsGrowingWritesWithNothingLandedUntilLifted) {
  std::unique_ptr<File> f = OpenFile("log");
  ASSERT_TRUE(f->Write(0, std::string(100, 'a')).ok());
  EXPECT_EQ(fs_.SpaceUsed(), 100);
  fs_.SetSpaceLimit(110);

  absl::Status full = f->Write(100, std::string(20, 'b'));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StrContains(full.message(), "injected ENOSPC (space limit 110 bytes")) << full;
  EXPECT_TRUE(absl::StrContains(full.message(), dir_.Sub("log"))) << full;
  EXPECT_EQ(*f->Size(), 100) << "no prefix lands";

  ASSERT_TRUE(f->Write(100, std::string(10, 'c')).ok());  // exactly fills the disk
  EXPECT_EQ(fs_.SpaceUsed(), 110);
  EXPECT_TRUE(f->Write(0, "overwrite").ok()) << "overwrites need no space";
  EXPECT_EQ(f->Write(110, "d").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(fs_.InjectedFaults(), 2);

  fs_.SetSpaceLimit(std::nullopt);  // space returns
  ASSERT_TRUE(f->Write(110, "d").ok());
  EXPECT_EQ(*f->Size(), 111);
  EXPECT_EQ(fs_.SpaceUsed(), 111);
}

TEST_F(FaultInjectionFsTest, SpaceLimitCountsTruncateGrowthAndShrinkingAndRemovingFreeSpace) {
  std::unique_ptr<File> index = OpenFile("x.index");
  std::unique_ptr<File> log = OpenFile("x.log");
  fs_.SetSpaceLimit(1000);
  ASSERT_TRUE(index->Truncate(800).ok());
  EXPECT_EQ(index->Truncate(1001).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*index->Size(), 800);
  EXPECT_EQ(log->Write(0, std::string(300, 'x')).code(), absl::StatusCode::kResourceExhausted);

  ASSERT_TRUE(index->Truncate(600).ok());
  EXPECT_EQ(fs_.SpaceUsed(), 600);
  ASSERT_TRUE(log->Write(0, std::string(300, 'x')).ok());
  EXPECT_EQ(fs_.SpaceUsed(), 900);

  ASSERT_TRUE(fs_.Remove(dir_.Sub("x.index")).ok());
  EXPECT_EQ(fs_.SpaceUsed(), 300);
  ASSERT_TRUE(log->Write(300, std::string(700, 'y')).ok());
}

TEST_F(FaultInjectionFsTest, SpaceCountsOnlyFilesItOpenedAndFollowsRenames) {
  WriteAll(dir_.Sub("old"), std::string(50, 'o'));
  WriteAll(dir_.Sub("other"), std::string(70, 'z'));
  EXPECT_EQ(fs_.SpaceUsed(), 0);
  std::unique_ptr<File> old = OpenFile("old", OpenMode::kReadOnly);
  EXPECT_EQ(fs_.SpaceUsed(), 50);
  std::unique_ptr<File> tmp = OpenFile("tmp");
  ASSERT_TRUE(tmp->Write(0, "new").ok());
  EXPECT_EQ(fs_.SpaceUsed(), 53);
  ASSERT_TRUE(fs_.Rename(dir_.Sub("tmp"), dir_.Sub("old")).ok());  // replaces 50 bytes
  EXPECT_EQ(fs_.SpaceUsed(), 3);
  ASSERT_TRUE(tmp->Write(3, "er").ok());  // the open file follows its new name
  EXPECT_EQ(fs_.SpaceUsed(), 5);
  EXPECT_EQ(ReadAll(dir_.Sub("old")), "newer");
}

TEST_F(FaultInjectionFsTest, StatsCountCallsAndBytesByPathSuffix) {
  std::unique_ptr<File> log = OpenFile("0.log");
  std::unique_ptr<File> index = OpenFile("0.index");
  ASSERT_TRUE(log->Write(0, "0123456789").ok());
  ASSERT_TRUE(log->Write(10, "abc").ok());
  ASSERT_TRUE(log->Sync().ok());
  char buf[8];
  ASSERT_TRUE(log->Read(0, absl::MakeSpan(buf)).ok());
  EXPECT_EQ(*log->Read(10, absl::MakeSpan(buf)), 3u);  // end of file
  ASSERT_TRUE(index->Write(0, "ii").ok());
  ASSERT_TRUE(index->Map(2, false).ok());
  fs_.AddRule({.op = FaultOp::kRead, .path_contains = ".index"});
  EXPECT_FALSE(index->Read(0, absl::MakeSpan(buf)).ok());  // failed calls count, no bytes
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());

  IoStats s = fs_.StatsFor(".log");
  EXPECT_EQ(s.reads, 2);
  EXPECT_EQ(s.read_bytes, 11);
  EXPECT_EQ(s.writes, 2);
  EXPECT_EQ(s.write_bytes, 13);
  EXPECT_EQ(s.syncs, 1);
  EXPECT_EQ(s.maps, 0);
  IoStats i = fs_.StatsFor(".index");
  EXPECT_EQ(i.reads, 1);
  EXPECT_EQ(i.read_bytes, 0);
  EXPECT_EQ(i.write_bytes, 2);
  EXPECT_EQ(i.maps, 1);
  IoStats all = fs_.StatsFor("");
  EXPECT_EQ(all.reads, 3);
  EXPECT_EQ(all.write_bytes, 15);
  EXPECT_EQ(all.syncs, 2);  // the file's and the directory's

  fs_.ResetStats();
  EXPECT_EQ(fs_.StatsFor("").reads, 0);
  EXPECT_EQ(fs_.StatsFor("").write_bytes, 0);
  ASSERT_TRUE(fs_.Rename(dir_.Sub("0.log"), dir_.Sub("0.swap")).ok());
  ASSERT_TRUE(log->Read(0, absl::MakeSpan(buf)).ok());
  EXPECT_EQ(fs_.StatsFor(".swap").read_bytes, 8);
  EXPECT_EQ(fs_.StatsFor(".log").read_bytes, 0);
}

TEST_F(FaultInjectionFsTest, DropUnsyncedDataTruncatesToTheLastSync) {
  WriteAll(dir_.Sub("existing"), "durable");
  std::unique_ptr<File> existing = OpenFile("existing", OpenMode::kReadWrite);
  ASSERT_TRUE(existing->Write(7, " and not").ok());
  std::unique_ptr<File> synced = OpenFile("synced");
  ASSERT_TRUE(synced->Write(0, "hello").ok());
  ASSERT_TRUE(synced->Sync().ok());
  ASSERT_TRUE(synced->Write(5, " world").ok());
  std::unique_ptr<File> never = OpenFile("never");
  ASSERT_TRUE(never->Write(0, "lost").ok());
  never.reset();  // closing does not make it durable

  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadAll(dir_.Sub("existing")), "durable");
  EXPECT_EQ(ReadAll(dir_.Sub("synced")), "hello");
  EXPECT_EQ(ReadAll(dir_.Sub("never")), "");
  EXPECT_EQ(fs_.SpaceUsed(), 7 + 5);
}

TEST_F(FaultInjectionFsTest, DropUnsyncedDataRestoresOverwrittenAndTruncatedSyncedBytes) {
  std::unique_ptr<File> f = OpenFile("f");
  ASSERT_TRUE(f->Write(0, "0123456789").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Write(2, "ab").ok());
  ASSERT_TRUE(f->Truncate(4).ok());
  ASSERT_TRUE(f->Write(6, "xyz").ok());  // regrows over the cut bytes, zero-filling 4..5
  ASSERT_TRUE(f->Write(12, "tail").ok());
  EXPECT_EQ(ReadAll(dir_.Sub("f")), std::string("01ab\0\0xyz\0\0\0tail", 16));

  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadAll(dir_.Sub("f")), "0123456789");
  // The rewound state is the new synced state.
  ASSERT_TRUE(f->Write(10, "!").ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  EXPECT_EQ(ReadAll(dir_.Sub("f")), "0123456789");
}

TEST_F(FaultInjectionFsTest, DropUnsyncedDirectoryEntriesRemovesFilesCreatedSinceSyncDir) {
  ASSERT_TRUE(OpenFile("durable") != nullptr);
  ASSERT_TRUE(fs_.SyncDir(dir_.path() + "/").ok());
  ASSERT_TRUE(OpenFile("lost") != nullptr);
  ASSERT_TRUE(fs_.DropUnsyncedDirectoryEntries().ok());
  EXPECT_TRUE(Exists(dir_.Sub("durable")));
  EXPECT_FALSE(Exists(dir_.Sub("lost")));
}

TEST_F(FaultInjectionFsTest, DropUnsyncedDirectoryEntriesUndoesRenameAndRestoresReplacedFile) {
  // The checkpoint protocol: write tmp, fsync, rename over the old file, fsync the directory.
  WriteAll(dir_.Sub("checkpoint"), "old");
  auto write_checkpoint = [&](absl::string_view contents) {
    std::unique_ptr<File> tmp = OpenFile("checkpoint.tmp");
    ASSERT_TRUE(tmp->Write(0, contents).ok());
    ASSERT_TRUE(tmp->Sync().ok());
    ASSERT_TRUE(fs_.Rename(dir_.Sub("checkpoint.tmp"), dir_.Sub("checkpoint")).ok());
  };
  write_checkpoint("new");
  // Crash before fsync(dir): the rename and the creation of the tmp file are undone.
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  ASSERT_TRUE(fs_.DropUnsyncedDirectoryEntries().ok());
  EXPECT_EQ(ReadAll(dir_.Sub("checkpoint")), "old");
  EXPECT_FALSE(Exists(dir_.Sub("checkpoint.tmp")));

  write_checkpoint("newer");
  ASSERT_TRUE(fs_.SyncDir(dir_.path()).ok());
  ASSERT_TRUE(fs_.DropUnsyncedData().ok());
  ASSERT_TRUE(fs_.DropUnsyncedDirectoryEntries().ok());
  EXPECT_EQ(ReadAll(dir_.Sub("checkpoint")), "newer");
  EXPECT_FALSE(Exists(dir_.Sub("checkpoint.tmp")));
}

TEST_F(FaultInjectionFsTest, CrossDirectoryRenameNeedsBothDirectoriesSynced) {
  ASSERT_TRUE(fs_.CreateDir(dir_.Sub("a")).ok());
  ASSERT_TRUE(fs_.CreateDir(dir_.Sub("b")).ok());
  WriteAll(dir_.Sub("a/f"), "data");
  ASSERT_TRUE(fs_.Rename(dir_.Sub("a/f"), dir_.Sub("b/f")).ok());
  ASSERT_TRUE(fs_.SyncDir(dir_.Sub("b")).ok());
  ASSERT_TRUE(fs_.DropUnsyncedDirectoryEntries().ok());
  EXPECT_EQ(ReadAll(dir_.Sub("a/f")), "data");
  EXPECT_FALSE(Exists(dir_.Sub("b/f")));
}

TEST_F(FaultInjectionFsTest, InactiveFilesystemChangesNothingButStillReads) {
  WriteAll(dir_.Sub("f"), "before");
  std::unique_ptr<File> f = OpenFile("f", OpenMode::kReadWrite);
  fs_.AddRule({.op = FaultOp::kWrite, .skip = 1});
  fs_.SetFilesystemActive(false);

  absl::Status s = f->Write(0, "after!");
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(s.message(), "injected EIO (filesystem inactive)")) << s;
  EXPECT_FALSE(f->Sync().ok());
  EXPECT_FALSE(f->Truncate(0).ok());
  EXPECT_FALSE(fs_.Open(dir_.Sub("new"), OpenMode::kCreate).ok());
  EXPECT_FALSE(fs_.Rename(dir_.Sub("f"), dir_.Sub("g")).ok());
  EXPECT_FALSE(fs_.Remove(dir_.Sub("f")).ok());
  EXPECT_FALSE(fs_.CreateDir(dir_.Sub("d")).ok());
  EXPECT_FALSE(fs_.SyncDir(dir_.path()).ok());
  EXPECT_EQ(ReadAll(dir_.Sub("f")), "before");
  EXPECT_FALSE(Exists(dir_.Sub("new")));
  EXPECT_FALSE(Exists(dir_.Sub("d")));

  char buf[6];
  EXPECT_TRUE(f->ReadExact(0, absl::MakeSpan(buf)).ok());
  EXPECT_TRUE(fs_.Open(dir_.Sub("f"), OpenMode::kReadOnly).ok());
  EXPECT_TRUE(fs_.ListDir(dir_.path()).ok());

  fs_.SetFilesystemActive(true);
  EXPECT_TRUE(f->Write(0, "after!").ok()) << "the rule did not count writes while inactive";
  EXPECT_FALSE(f->Write(0, "after!").ok());
}

TEST_F(FaultInjectionFsTest, RulesArmedWhileOtherThreadsDoIoKeepSpaceAccountingExact) {
  constexpr int kThreads = 4;
  constexpr int kWrites = 300;
  std::vector<std::unique_ptr<File>> files;
  for (int t = 0; t < kThreads; ++t) files.push_back(OpenFile("f" + std::to_string(t) + ".log"));
  fs_.AddRule({.op = FaultOp::kWrite});  // kept until it fired, so some fault surely fires
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      File* f = files[t].get();
      for (int i = 0; i < kWrites; ++i) {
        int64_t end = *f->Size();
        (void)f->Write(end, "0123456789");
        char buf[4];
        (void)f->Read(0, absl::MakeSpan(buf));
        if (i % 50 == 0) (void)f->Sync();
      }
    });
  }
  std::thread armer([&] {
    const FaultKind kinds[] = {FaultKind::kEio, FaultKind::kEnospc, FaultKind::kTornWrite,
                               FaultKind::kShortWrite};
    for (int i = 0; !done.load(); ++i) {
      fs_.AddRule({.op = FaultOp::kWrite, .kind = kinds[i % 4], .skip = i % 3, .torn_bytes = 3});
      fs_.SetSpaceLimit(i % 2 == 0 ? std::optional<int64_t>(fs_.SpaceUsed() + 25) : std::nullopt);
      (void)fs_.StatsFor(".log");
      if (i % 10 == 9 && fs_.InjectedFaults() > 0) fs_.ClearRules();
      std::this_thread::yield();
    }
  });
  for (std::thread& w : writers) w.join();
  done = true;
  armer.join();

  int64_t on_disk = 0;
  for (const auto& f : files) on_disk += *f->Size();
  EXPECT_GT(fs_.InjectedFaults(), 0);
  EXPECT_EQ(fs_.SpaceUsed(), on_disk);
  EXPECT_EQ(fs_.StatsFor(".log").writes, kThreads * kWrites);
  EXPECT_EQ(fs_.StatsFor(".log").write_bytes, on_disk);
}

}  // namespace
}  // namespace varve
