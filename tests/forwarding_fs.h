#pragma once

// ForwardingFs: a FileSystem that passes every call to another one, except that each file's
// Sync() and each SyncDir() first ask a hook. Tests use it to hold an fdatasync in flight at a
// chosen moment, or to skip the disk's syncs where durability is simulated above it (a
// FaultInjectionFs on top keeps its own record of what was synced, and a process crash loses
// nothing the page cache holds).
//
// Example:
//   ForwardingFs no_sync(PosixFileSystem(), [](const std::string&) { return false; });
//   FaultInjectionFs fs(&no_sync);  // crash simulation without waiting for the disk
//
// Files report fd() -1, so io_uring and sendfile take their File-call fallbacks and every sync
// reaches the hook. Thread-safe if the hook is; `base` must outlive this object and its files.

#include <sys/uio.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/file.h"

namespace varve {

class ForwardingFs final : public FileSystem {
 public:
  // Runs before each File::Sync (with the file's path) and SyncDir (with the directory): true
  // goes on to the real sync, false skips it and reports success. May block.
  using SyncHook = std::function<bool(const std::string& path)>;

  ForwardingFs(FileSystem* base, SyncHook hook) : base_(base), hook_(std::move(hook)) {}

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    absl::StatusOr<std::unique_ptr<File>> file = base_->Open(path, mode);
    if (!file.ok()) return file.status();
    return std::unique_ptr<File>(new ForwardingFile(this, std::move(*file)));
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  absl::Status Remove(const std::string& path) override { return base_->Remove(path); }
  absl::Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  absl::Status RemoveDir(const std::string& path) override { return base_->RemoveDir(path); }
  absl::Status SyncDir(const std::string& path) override {
    return hook_(path) ? base_->SyncDir(path) : absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  absl::StatusOr<bool> Exists(const std::string& path) override { return base_->Exists(path); }
  absl::StatusOr<bool> IsDirectory(const std::string& path) override {
    return base_->IsDirectory(path);
  }

 private:
  class ForwardingFile final : public File {
   public:
    ForwardingFile(ForwardingFs* fs, std::unique_ptr<File> base)
        : fs_(fs), base_(std::move(base)) {}
    const std::string& path() const override { return base_->path(); }
    absl::StatusOr<size_t> Read(int64_t position, absl::Span<char> dst) override {
      return base_->Read(position, dst);
    }
    absl::Status WriteV(int64_t position, absl::Span<const iovec> iov) override {
      return base_->WriteV(position, iov);
    }
    absl::Status Sync() override {
      return fs_->hook_(base_->path()) ? base_->Sync() : absl::OkStatus();
    }
    absl::StatusOr<int64_t> Size() override { return base_->Size(); }
    absl::Status Truncate(int64_t size) override { return base_->Truncate(size); }
    absl::StatusOr<std::unique_ptr<MappedRegion>> Map(size_t length, bool writable) override {
      return base_->Map(length, writable);
    }
    int fd() const override { return -1; }

   private:
    ForwardingFs* const fs_;
    const std::unique_ptr<File> base_;
  };

  FileSystem* const base_;
  const SyncHook hook_;
};

}  // namespace varve
