#pragma once

// The I/O seam: every byte varve reads or writes on disk goes through `File` and `FileSystem`.
// `PosixFileSystem()` is the real implementation; tests substitute fault-injecting ones to
// produce torn writes, short writes, EIO and ENOSPC on demand.
//
// Example:
//   FileSystem* fs = PosixFileSystem();
//   ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs->Open("/data/x.log", OpenMode::kCreate));
//   RETURN_IF_ERROR(f->Write(0, "hello"));
//   RETURN_IF_ERROR(f->Sync());
//
// Errors: operating-system errors become canonical codes (ErrnoToStatus): ENOSPC/EDQUOT →
// ResourceExhausted, ENOENT → NotFound, EEXIST → AlreadyExists, EACCES/EPERM → PermissionDenied,
// anything else (EIO included) → Internal. Every message names the path and the operation.
//
// Concurrency: a File may be used from several threads at once (positional I/O only, there is
// no shared cursor). Mappings stay valid until the MappedRegion is destroyed, even after the
// File is closed or the path is removed.

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace varve {

// A memory mapping of the first `size()` bytes of a file. Unmapped on destruction.
class MappedRegion {
 public:
  MappedRegion(char* data, size_t size) : data_(data), size_(size) {}
  ~MappedRegion();
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;

  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  char* data_;
  size_t size_;
};

enum class OpenMode {
  kReadOnly,   // must exist
  kReadWrite,  // must exist
  kCreate,     // read-write, created if missing
};

class File {
 public:
  virtual ~File() = default;

  virtual const std::string& path() const = 0;

  // Reads up to dst.size() bytes at `position`. Returns the number read, which is smaller than
  // requested only at end of file.
  virtual absl::StatusOr<size_t> Read(int64_t position, absl::Span<char> dst) = 0;

  // Writes every byte of `iov` at `position`. On error a prefix of the bytes may have reached
  // the file (a torn write); the caller decides whether to truncate it away.
  virtual absl::Status WriteV(int64_t position, absl::Span<const iovec> iov) = 0;

  // fdatasync(2): data and the metadata needed to read it back are durable.
  virtual absl::Status Sync() = 0;

  virtual absl::StatusOr<int64_t> Size() = 0;

  // Sets the file length (zero-filling when growing, sparsely).
  virtual absl::Status Truncate(int64_t size) = 0;

  // Maps the first `length` bytes; `writable` maps them shared read-write.
  virtual absl::StatusOr<std::unique_ptr<MappedRegion>> Map(size_t length, bool writable) = 0;

  // The kernel descriptor, for sendfile(2) and io_uring; -1 when the file is not backed by one.
  virtual int fd() const = 0;

  // Convenience wrapper over WriteV for one buffer.
  absl::Status Write(int64_t position, absl::string_view data);

  // Reads exactly dst.size() bytes or fails with DataLoss ("short read") naming the position.
  absl::Status ReadExact(int64_t position, absl::Span<char> dst);
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  // Atomically replaces `to` with `from` (rename(2)).
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual absl::Status Remove(const std::string& path) = 0;
  // Creates a directory; succeeds if it already exists.
  virtual absl::Status CreateDir(const std::string& path) = 0;
  // Removes an empty directory.
  virtual absl::Status RemoveDir(const std::string& path) = 0;
  // Makes renames and creations inside `path` durable (fsync of the directory).
  virtual absl::Status SyncDir(const std::string& path) = 0;
  // Names of the entries in `path`, without "." and "..", in no particular order.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual absl::StatusOr<bool> Exists(const std::string& path) = 0;
  virtual absl::StatusOr<bool> IsDirectory(const std::string& path) = 0;
};

// The process-wide POSIX implementation. Never null, never destroyed.
FileSystem* PosixFileSystem();

// Maps an errno value to a canonical status whose message is "<what> <path>: <strerror>".
absl::Status ErrnoToStatus(int err, absl::string_view what, absl::string_view path);

// Joins two path components with exactly one '/'.
std::string JoinPath(absl::string_view dir, absl::string_view name);

}  // namespace varve
