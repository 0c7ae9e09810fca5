#include "base/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace varve {

MappedRegion::~MappedRegion() {
  if (data_ != nullptr && size_ > 0) munmap(data_, size_);
}

absl::Status File::Write(int64_t position, absl::string_view data) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  return WriteV(position, absl::MakeConstSpan(&iov, 1));
}

absl::Status File::ReadExact(int64_t position, absl::Span<char> dst) {
  absl::StatusOr<size_t> n = Read(position, dst);
  if (!n.ok()) return n.status();
  if (*n != dst.size()) {
    return absl::DataLossError(absl::StrCat("short read of ", path(), " at byte ", position,
                                            ": wanted ", dst.size(), " bytes, got ", *n));
  }
  return absl::OkStatus();
}

absl::Status ErrnoToStatus(int err, absl::string_view what, absl::string_view path) {
  std::string message = absl::StrCat(what, " ", path, ": ", strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENOTDIR:
    case EISDIR:
    case ENAMETOOLONG:
    case EINVAL:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return absl::StrCat(dir, name);
  return absl::StrCat(dir, "/", name);
}

namespace {

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { close(fd_); }

  const std::string& path() const override { return path_; }
  int fd() const override { return fd_; }

  absl::StatusOr<size_t> Read(int64_t position, absl::Span<char> dst) override {
    size_t done = 0;
    while (done < dst.size()) {
      ssize_t n = pread(fd_, dst.data() + done, dst.size() - done, position + done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoToStatus(errno, absl::StrCat("read at byte ", position + done, " of"), path_);
      }
      if (n == 0) break;
      done += n;
    }
    return done;
  }

  absl::Status WriteV(int64_t position, absl::Span<const iovec> iov_in) override {
    // pwritev may write less than asked (signals, quotas); keep going from where it stopped.
    std::vector<iovec> iov(iov_in.begin(), iov_in.end());
    size_t first = 0;
    while (first < iov.size()) {
      int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
      ssize_t n = pwritev(fd_, iov.data() + first, count, position);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoToStatus(errno, absl::StrCat("write at byte ", position, " of"), path_);
      }
      position += n;
      size_t left = n;
      while (first < iov.size() && left >= iov[first].iov_len) {
        left -= iov[first].iov_len;
        ++first;
      }
      if (left > 0) {
        iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
        iov[first].iov_len -= left;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (fdatasync(fd_) != 0) return ErrnoToStatus(errno, "fdatasync", path_);
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Size() override {
    struct stat st;
    if (fstat(fd_, &st) != 0) return ErrnoToStatus(errno, "fstat", path_);
    return static_cast<int64_t>(st.st_size);
  }

  absl::Status Truncate(int64_t size) override {
    while (ftruncate(fd_, size) != 0) {
      if (errno != EINTR) return ErrnoToStatus(errno, absl::StrCat("truncate to ", size), path_);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(size_t length, bool writable) override {
    if (length == 0) return std::make_unique<MappedRegion>(nullptr, 0);
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void* p = mmap(nullptr, length, prot, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED)
      return ErrnoToStatus(errno, absl::StrCat("mmap ", length, " bytes"), path_);
    return std::make_unique<MappedRegion>(static_cast<char*>(p), length);
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixFs final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kReadOnly:
        flags |= O_RDONLY;
        break;
      case OpenMode::kReadWrite:
        flags |= O_RDWR;
        break;
      case OpenMode::kCreate:
        flags |= O_RDWR | O_CREAT;
        break;
    }
    int fd = open(path.c_str(), flags, 0644);
    if (fd < 0) return ErrnoToStatus(errno, "open", path);
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoToStatus(errno, absl::StrCat("rename to ", to, " from"), from);
    }
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return ErrnoToStatus(errno, "remove", path);
    return absl::OkStatus();
  }

  absl::Status CreateDir(const std::string& path) override {
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoToStatus(errno, "create directory", path);
    }
    return absl::OkStatus();
  }

  absl::Status RemoveDir(const std::string& path) override {
    if (rmdir(path.c_str()) != 0) return ErrnoToStatus(errno, "remove directory", path);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& path) override {
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, "open directory", path);
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0) return ErrnoToStatus(err, "fsync directory", path);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return ErrnoToStatus(errno, "list directory", path);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = readdir(d)) {
      absl::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    int err = errno;
    closedir(d);
    if (err != 0) return ErrnoToStatus(err, "list directory", path);
    return names;
  }

  absl::StatusOr<bool> Exists(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT) return false;
    return ErrnoToStatus(errno, "stat", path);
  }

  absl::StatusOr<bool> IsDirectory(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return ErrnoToStatus(errno, "stat", path);
    return S_ISDIR(st.st_mode);
  }
};

}  // namespace

FileSystem* PosixFileSystem() {
  static FileSystem* const fs = new PosixFs();
  return fs;
}

}  // namespace varve
