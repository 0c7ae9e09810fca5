#include "base/fault_injection_fs.h"

#include <errno.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace varve {

// What is known about one file this object opened. Shared by every FaultyFile of the path, and
// by the path's entry in files_ while it is tracked.
struct FaultInjectionFs::FileState {
  // Serializes the writes, truncates and syncs of the file, so that the bytes saved for rollback
  // and the space accounting describe what is really on disk. Taken before FaultInjectionFs::mu_.
  std::mutex mu;
  // Guarded by mu.
  int64_t synced_size = 0;
  // Bytes inside [0, synced_size) as they were before a write or truncate changed them, oldest
  // first; replayed newest first they restore the synced contents.
  struct Undo {
    int64_t position;
    std::string bytes;
  };
  std::vector<Undo> undo;
  bool written_since_sync = false;

  // Guarded by FaultInjectionFs::mu_. Only holders of `mu` change `size`.
  std::string path;  // the current name (renames move it)
  int64_t size = 0;
  bool tracked = true;  // false once removed: it no longer takes space
};

struct FaultInjectionFs::ArmedRule {
  FaultRule rule;
  int64_t seen = 0;  // matching operations so far
};

struct FaultInjectionFs::Verdict {
  std::optional<FaultKind> kind;  // nullopt: carry the operation out
  size_t torn_bytes = SIZE_MAX;
  bool inactive = false;  // failed because of SetFilesystemActive(false)
};

// A creation or rename not yet made durable by SyncDir.
struct FaultInjectionFs::DirEntryOp {
  bool is_rename = false;
  std::string path;  // the created file, or the rename's source
  std::string to;    // the rename's target
  // What the target held before the rename replaced it; nullopt if it did not exist.
  std::optional<std::string> replaced;
  std::vector<std::string> unsynced_dirs;  // durable once this is empty
};

namespace {

std::string DirName(absl::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// The bytes [offset, offset + length) of the concatenation of `iov`.
std::vector<iovec> SliceIov(absl::Span<const iovec> iov, size_t offset, size_t length) {
  std::vector<iovec> out;
  for (const iovec& v : iov) {
    if (length == 0) break;
    if (offset >= v.iov_len) {
      offset -= v.iov_len;
      continue;
    }
    size_t n = std::min(v.iov_len - offset, length);
    out.push_back({static_cast<char*>(v.iov_base) + offset, n});
    offset = 0;
    length -= n;
  }
  return out;
}

absl::Status Injected(int err, absl::string_view label, absl::string_view what,
                      absl::string_view path) {
  return ErrnoToStatus(err, absl::StrCat("injected ", label, ": ", what), path);
}

// The bytes of `path`; nullopt if it does not exist or is a directory.
absl::StatusOr<std::optional<std::string>> ContentsIfFile(FileSystem* fs, const std::string& path) {
  ASSIGN_OR_RETURN(bool exists, fs->Exists(path));
  if (!exists) return std::nullopt;
  ASSIGN_OR_RETURN(bool is_directory, fs->IsDirectory(path));
  if (is_directory) return std::nullopt;
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs->Open(path, OpenMode::kReadOnly));
  ASSIGN_OR_RETURN(int64_t size, file->Size());
  std::string bytes(size, '\0');
  RETURN_IF_ERROR(file->ReadExact(0, absl::MakeSpan(bytes)));
  return std::optional<std::string>(std::move(bytes));
}

absl::Status WriteWholeFile(FileSystem* fs, const std::string& path, absl::string_view bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs->Open(path, OpenMode::kCreate));
  RETURN_IF_ERROR(file->Truncate(0));
  RETURN_IF_ERROR(file->Write(0, bytes));
  return file->Sync();
}

}  // namespace

// The file every Open returns: asks the FaultInjectionFs before each operation.
class FaultInjectionFs::FaultyFile final : public File {
 public:
  FaultyFile(FaultInjectionFs* fs, std::unique_ptr<File> base, std::shared_ptr<FileState> state)
      : fs_(fs), base_(std::move(base)), state_(std::move(state)) {}

  const std::string& path() const override { return base_->path(); }
  int fd() const override { return -1; }  // keeps io_uring and sendfile from bypassing us
  absl::StatusOr<int64_t> Size() override { return base_->Size(); }

  absl::StatusOr<size_t> Read(int64_t position, absl::Span<char> dst) override {
    std::string path;
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      path = state_->path;
      ++fs_->StatsLocked(path).reads;
      Verdict v = fs_->Decide(FaultOp::kRead, path);
      if (v.kind) return Fail(v, absl::StrCat("read at byte ", position, " of"), path);
    }
    absl::StatusOr<size_t> n = base_->Read(position, dst);
    if (n.ok()) {
      std::lock_guard<std::mutex> l(fs_->mu_);
      fs_->StatsLocked(path).read_bytes += *n;
    }
    return n;
  }

  absl::Status WriteV(int64_t position, absl::Span<const iovec> iov) override {
    size_t total = 0;
    for (const iovec& v : iov) total += v.iov_len;
    std::lock_guard<std::mutex> file_lock(state_->mu);
    std::string path;
    Verdict v;
    size_t landing = total;
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      path = state_->path;
      ++fs_->StatsLocked(path).writes;
      v = fs_->Decide(FaultOp::kWrite, path, {}, /*mutates=*/true);
      if (v.kind == FaultKind::kEio || v.kind == FaultKind::kEnospc) {
        return Fail(v, absl::StrCat("write at byte ", position, " of"), path);
      }
      if (v.kind == FaultKind::kTornWrite) landing = std::min(Cut(v, total), total);
      absl::Status space =
          fs_->GrowLocked(*state_, landing == 0 ? 0 : position + landing,
                          absl::StrCat("write of ", landing, " bytes at byte ", position, " of"));
      if (!space.ok()) return space;
      if (landing > 0) {
        fs_->SetSizeLocked(*state_, std::max<int64_t>(state_->size, position + landing));
      }
    }
    if (absl::Status s = SaveUndo(position, position + landing); !s.ok()) {
      ReconcileSize();
      return s;
    }
    if (landing > 0) state_->written_since_sync = true;

    absl::Status s;
    if (v.kind == FaultKind::kShortWrite && total >= 2) {
      size_t cut = std::clamp<size_t>(Cut(v, total), 1, total - 1);
      s = base_->WriteV(position, SliceIov(iov, 0, cut));
      if (s.ok()) s = base_->WriteV(position + cut, SliceIov(iov, cut, total - cut));
    } else if (landing == total) {
      s = base_->WriteV(position, iov);
    } else {
      s = base_->WriteV(position, SliceIov(iov, 0, landing));
    }
    if (!s.ok()) {
      ReconcileSize();
      return s;
    }
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      fs_->StatsLocked(path).write_bytes += landing;
    }
    if (v.kind == FaultKind::kTornWrite) {
      return Injected(EIO, absl::StrCat("torn write (", landing, " of ", total, " bytes landed)"),
                      absl::StrCat("write at byte ", position, " of"), path);
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    std::lock_guard<std::mutex> file_lock(state_->mu);
    std::string path;
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      path = state_->path;
      ++fs_->StatsLocked(path).syncs;
      Verdict v = fs_->Decide(FaultOp::kSync, path, {}, /*mutates=*/true);
      if (v.kind) return Fail(v, "fdatasync", path);
    }
    RETURN_IF_ERROR(base_->Sync());
    std::lock_guard<std::mutex> l(fs_->mu_);
    state_->synced_size = state_->size;
    state_->undo.clear();
    state_->written_since_sync = false;
    return absl::OkStatus();
  }

  absl::Status Truncate(int64_t size) override {
    std::lock_guard<std::mutex> file_lock(state_->mu);
    int64_t old_size;
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      const std::string& path = state_->path;
      Verdict v = fs_->Decide(FaultOp::kTruncate, path, {}, /*mutates=*/true);
      if (v.kind) return Fail(v, absl::StrCat("truncate to ", size), path);
      old_size = state_->size;
      absl::Status space = fs_->GrowLocked(*state_, size, absl::StrCat("truncate to ", size));
      if (!space.ok()) return space;
      fs_->SetSizeLocked(*state_, size);
    }
    if (absl::Status s = SaveUndo(size, old_size); !s.ok()) {
      ReconcileSize();
      return s;
    }
    state_->written_since_sync = true;
    if (absl::Status s = base_->Truncate(size); !s.ok()) {
      ReconcileSize();
      return s;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<MappedRegion>> Map(size_t length, bool writable) override {
    {
      std::lock_guard<std::mutex> l(fs_->mu_);
      const std::string& path = state_->path;
      ++fs_->StatsLocked(path).maps;
      Verdict v = fs_->Decide(FaultOp::kMap, path);
      if (v.kind) return Fail(v, absl::StrCat("mmap ", length, " bytes"), path);
    }
    return base_->Map(length, writable);
  }

 private:
  static size_t Cut(const Verdict& v, size_t total) {
    return v.torn_bytes == SIZE_MAX ? total / 2 : v.torn_bytes;
  }

  // Saves the synced bytes in [begin, end) before they change. Requires state_->mu.
  absl::Status SaveUndo(int64_t begin, int64_t end) {
    end = std::min(end, state_->synced_size);
    if (begin >= end) return absl::OkStatus();
    std::string bytes(end - begin, '\0');
    absl::StatusOr<size_t> n = base_->Read(begin, absl::MakeSpan(bytes));
    if (!n.ok()) return n.status();
    // A short read means an earlier truncate cut the rest; its own undo entry holds those bytes.
    if (*n == 0) return absl::OkStatus();
    bytes.resize(*n);
    state_->undo.push_back({begin, std::move(bytes)});
    return absl::OkStatus();
  }

  // After a failed underlying operation nobody knows how much landed: ask the file.
  // Requires state_->mu.
  void ReconcileSize() {
    absl::StatusOr<int64_t> size = base_->Size();
    std::lock_guard<std::mutex> l(fs_->mu_);
    if (size.ok()) fs_->SetSizeLocked(*state_, *size);
  }

  FaultInjectionFs* const fs_;
  const std::unique_ptr<File> base_;
  const std::shared_ptr<FileState> state_;
};

FaultInjectionFs::FaultInjectionFs(FileSystem* base) : base_(base) {}
FaultInjectionFs::~FaultInjectionFs() = default;

void FaultInjectionFs::AddRule(const FaultRule& rule) {
  assert(rule.op == FaultOp::kWrite ||
         (rule.kind != FaultKind::kTornWrite && rule.kind != FaultKind::kShortWrite));
  assert(rule.skip >= 0 && rule.times >= -1);
  std::lock_guard<std::mutex> l(mu_);
  rules_.push_back({rule});
}

void FaultInjectionFs::ClearRules() {
  std::lock_guard<std::mutex> l(mu_);
  rules_.clear();
}

int64_t FaultInjectionFs::InjectedFaults() const {
  std::lock_guard<std::mutex> l(mu_);
  return injected_;
}

void FaultInjectionFs::SetSpaceLimit(std::optional<int64_t> bytes) {
  std::lock_guard<std::mutex> l(mu_);
  space_limit_ = bytes;
}

int64_t FaultInjectionFs::SpaceUsed() const {
  std::lock_guard<std::mutex> l(mu_);
  return space_used_;
}

IoStats FaultInjectionFs::StatsFor(absl::string_view path_suffix) const {
  std::lock_guard<std::mutex> l(mu_);
  IoStats sum;
  for (const auto& [path, s] : stats_) {
    if (!absl::EndsWith(path, path_suffix)) continue;
    sum.reads += s.reads;
    sum.read_bytes += s.read_bytes;
    sum.writes += s.writes;
    sum.write_bytes += s.write_bytes;
    sum.syncs += s.syncs;
    sum.maps += s.maps;
  }
  return sum;
}

void FaultInjectionFs::ResetStats() {
  std::lock_guard<std::mutex> l(mu_);
  stats_.clear();
}

void FaultInjectionFs::SetFilesystemActive(bool active) {
  std::lock_guard<std::mutex> l(mu_);
  active_ = active;
}

FaultInjectionFs::Verdict FaultInjectionFs::Decide(FaultOp op, absl::string_view path,
                                                   absl::string_view other_path, bool mutates) {
  Verdict verdict;
  if (mutates && !active_) {
    // A dead disk: the rules do not see the operation, so their counts stay meaningful.
    verdict.kind = FaultKind::kEio;
    verdict.inactive = true;
    ++injected_;
    return verdict;
  }
  for (ArmedRule& armed : rules_) {
    const FaultRule& r = armed.rule;
    if (r.op != op) continue;
    if (!absl::StrContains(path, r.path_contains) &&
        (other_path.empty() || !absl::StrContains(other_path, r.path_contains))) {
      continue;
    }
    ++armed.seen;
    bool fires = armed.seen > r.skip && (r.times < 0 || armed.seen <= int64_t{r.skip} + r.times);
    if (fires && !verdict.kind) {
      verdict.kind = r.kind;
      verdict.torn_bytes = r.torn_bytes;
    }
  }
  if (verdict.kind) ++injected_;
  return verdict;
}

absl::Status FaultInjectionFs::Check(FaultOp op, const std::string& path, absl::string_view what,
                                     bool mutates, absl::string_view other_path) {
  std::lock_guard<std::mutex> l(mu_);
  Verdict v = Decide(op, path, other_path, mutates);
  return v.kind ? Fail(v, what, path) : absl::OkStatus();
}

absl::Status FaultInjectionFs::Fail(const Verdict& v, absl::string_view what,
                                    absl::string_view path) {
  if (v.inactive) return Injected(EIO, "EIO (filesystem inactive)", what, path);
  if (v.kind == FaultKind::kEnospc) return Injected(ENOSPC, "ENOSPC", what, path);
  return Injected(EIO, "EIO", what, path);
}

absl::Status FaultInjectionFs::GrowLocked(const FileState& state, int64_t new_end,
                                          absl::string_view what) {
  int64_t growth = new_end - state.size;
  if (!state.tracked || !space_limit_ || growth <= 0 || space_used_ + growth <= *space_limit_) {
    return absl::OkStatus();
  }
  ++injected_;
  return Injected(
      ENOSPC,
      absl::StrCat("ENOSPC (space limit ", *space_limit_, " bytes, ", space_used_, " used)"), what,
      state.path);
}

void FaultInjectionFs::SetSizeLocked(FileState& state, int64_t size) {
  if (state.tracked) space_used_ += size - state.size;
  state.size = size;
}

std::shared_ptr<FaultInjectionFs::FileState> FaultInjectionFs::TrackLocked(const std::string& path,
                                                                           int64_t size,
                                                                           bool synced) {
  UntrackLocked(path);
  auto state = std::make_shared<FileState>();
  state->path = path;
  state->size = size;
  state->synced_size = synced ? size : 0;
  space_used_ += size;
  files_[path] = state;
  return state;
}

void FaultInjectionFs::UntrackLocked(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) return;
  space_used_ -= it->second->size;
  it->second->tracked = false;
  files_.erase(it);
}

void FaultInjectionFs::MoveLocked(const std::string& from, const std::string& to) {
  if (from == to) return;
  UntrackLocked(to);
  auto it = files_.find(from);
  if (it == files_.end()) return;
  std::shared_ptr<FileState> state = std::move(it->second);
  files_.erase(it);
  state->path = to;
  files_[to] = std::move(state);
}

void FaultInjectionFs::DirSyncedLocked(const std::string& dir) {
  for (DirEntryOp& op : dir_ops_) {
    std::erase(op.unsynced_dirs, dir);
  }
  std::erase_if(dir_ops_, [](const DirEntryOp& op) { return op.unsynced_dirs.empty(); });
}

absl::StatusOr<std::unique_ptr<File>> FaultInjectionFs::Open(const std::string& path,
                                                             OpenMode mode) {
  bool existed = true;
  if (mode == OpenMode::kCreate) {
    ASSIGN_OR_RETURN(existed, base_->Exists(path));
  }
  RETURN_IF_ERROR(Check(FaultOp::kOpen, path, "open", /*mutates=*/!existed));
  std::shared_ptr<FileState> state;
  if (existed) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(path);
    if (it != files_.end()) state = it->second;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_->Open(path, mode));
  if (state != nullptr) {
    // Already tracked: keep its sync state, but believe the disk about the size in case the
    // test changed the file behind our back.
    std::lock_guard<std::mutex> file_lock(state->mu);
    ASSIGN_OR_RETURN(int64_t size, file->Size());
    std::lock_guard<std::mutex> l(mu_);
    SetSizeLocked(*state, size);
  } else {
    ASSIGN_OR_RETURN(int64_t size, file->Size());
    std::lock_guard<std::mutex> l(mu_);
    state = TrackLocked(path, size, /*synced=*/existed);
    if (!existed) dir_ops_.push_back({.path = path, .unsynced_dirs = {DirName(path)}});
  }
  return std::unique_ptr<File>(new FaultyFile(this, std::move(file), std::move(state)));
}

absl::Status FaultInjectionFs::Rename(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(
      Check(FaultOp::kRename, from, absl::StrCat("rename to ", to, " from"), /*mutates=*/true, to));
  // Keep what the rename replaces, so that a crash before SyncDir can bring it back.
  ASSIGN_OR_RETURN(std::optional<std::string> replaced, ContentsIfFile(base_, to));
  RETURN_IF_ERROR(base_->Rename(from, to));
  std::lock_guard<std::mutex> l(mu_);
  MoveLocked(from, to);
  std::vector<std::string> dirs = {DirName(from)};
  if (DirName(to) != dirs[0]) dirs.push_back(DirName(to));
  dir_ops_.push_back({.is_rename = true,
                      .path = from,
                      .to = to,
                      .replaced = std::move(replaced),
                      .unsynced_dirs = std::move(dirs)});
  return absl::OkStatus();
}

absl::Status FaultInjectionFs::Remove(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kRemove, path, "remove", /*mutates=*/true));
  RETURN_IF_ERROR(base_->Remove(path));
  std::lock_guard<std::mutex> l(mu_);
  UntrackLocked(path);
  return absl::OkStatus();
}

absl::Status FaultInjectionFs::CreateDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kCreateDir, path, "create directory", /*mutates=*/true));
  return base_->CreateDir(path);
}

absl::Status FaultInjectionFs::RemoveDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kRemove, path, "remove directory", /*mutates=*/true));
  return base_->RemoveDir(path);
}

absl::Status FaultInjectionFs::SyncDir(const std::string& path) {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++StatsLocked(path).syncs;
  }
  RETURN_IF_ERROR(Check(FaultOp::kSyncDir, path, "fsync directory", /*mutates=*/true));
  RETURN_IF_ERROR(base_->SyncDir(path));
  std::lock_guard<std::mutex> l(mu_);
  DirSyncedLocked(StripTrailingSlashes(path));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FaultInjectionFs::ListDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kListDir, path, "list directory", /*mutates=*/false));
  return base_->ListDir(path);
}

absl::StatusOr<bool> FaultInjectionFs::Exists(const std::string& path) {
  return base_->Exists(path);
}

absl::StatusOr<bool> FaultInjectionFs::IsDirectory(const std::string& path) {
  return base_->IsDirectory(path);
}

absl::Status FaultInjectionFs::DropUnsyncedData() {
  std::vector<std::shared_ptr<FileState>> states;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [path, state] : files_) states.push_back(state);
  }
  for (const std::shared_ptr<FileState>& state : states) {
    std::lock_guard<std::mutex> file_lock(state->mu);
    if (!state->written_since_sync) continue;
    std::string path;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!state->tracked) continue;  // removed meanwhile
      path = state->path;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_->Open(path, OpenMode::kReadWrite));
    for (auto undo = state->undo.rbegin(); undo != state->undo.rend(); ++undo) {
      RETURN_IF_ERROR(file->Write(undo->position, undo->bytes));
    }
    RETURN_IF_ERROR(file->Truncate(state->synced_size));
    RETURN_IF_ERROR(file->Sync());
    state->undo.clear();
    state->written_since_sync = false;
    std::lock_guard<std::mutex> l(mu_);
    SetSizeLocked(*state, state->synced_size);
  }
  return absl::OkStatus();
}

absl::Status FaultInjectionFs::DropUnsyncedDirectoryEntries() {
  std::vector<DirEntryOp> ops;
  {
    std::lock_guard<std::mutex> l(mu_);
    ops.swap(dir_ops_);
  }
  for (auto op = ops.rbegin(); op != ops.rend(); ++op) {
    if (!op->is_rename) {
      absl::Status s = base_->Remove(op->path);
      if (!s.ok() && !absl::IsNotFound(s)) return s;  // NotFound: removed since, durably
      std::lock_guard<std::mutex> l(mu_);
      UntrackLocked(op->path);
      continue;
    }
    ASSIGN_OR_RETURN(bool exists, base_->Exists(op->to));
    if (exists) {  // else removed since, durably
      RETURN_IF_ERROR(base_->Rename(op->to, op->path));
      std::lock_guard<std::mutex> l(mu_);
      MoveLocked(op->to, op->path);
    }
    if (op->replaced) {
      RETURN_IF_ERROR(WriteWholeFile(base_, op->to, *op->replaced));
      std::lock_guard<std::mutex> l(mu_);
      TrackLocked(op->to, op->replaced->size(), /*synced=*/true);
    }
  }
  return absl::OkStatus();
}

}  // namespace varve
