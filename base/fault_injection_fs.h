#pragma once

// A FileSystem for tests that wraps another one (usually PosixFileSystem()) and, on demand,
// makes its operations fail the way disks fail: EIO, ENOSPC, torn writes, short writes, a full
// disk, and a power cut that loses whatever was not fsync'ed. It also counts the I/O that goes
// through it, so a test can prove that an operation read no bytes of some file.
//
// Example:
//   FaultInjectionFs fs(PosixFileSystem());
//   // The third write to any .log file tears after 10 bytes; the later ones succeed.
//   fs.AddRule({.op = FaultOp::kWrite, .path_contains = ".log", .kind = FaultKind::kTornWrite,
//               .skip = 2, .torn_bytes = 10});
//   fs.SetSpaceLimit(fs.SpaceUsed() + 4096);  // then the disk fills up
//   ... run the engine on &fs, expect ResourceExhausted ...
//   fs.SetSpaceLimit(std::nullopt);            // space returns; appends must succeed again
//
//   // Power loss: stop the disk, let the engine shut down (its writes and syncs now fail),
//   // rewind everything that was not made durable, and reopen.
//   fs.SetFilesystemActive(false);
//   engine.reset();
//   ASSERT_TRUE(fs.DropUnsyncedData().ok());
//   ASSERT_TRUE(fs.DropUnsyncedDirectoryEntries().ok());
//   fs.SetFilesystemActive(true);
//   fs.ResetStats();
//   ... reopen on &fs; fs.StatsFor(".log").read_bytes tells what recovery read ...
//
// Faults. A FaultRule names an operation, a path substring and a kind. Every rule sees every
// operation it matches and counts it on its own: it lets the first `skip` through, fails the next
// `times`, then lets all later ones through again. When several rules fire on one operation the
// one added first decides the kind. An injected failure does nothing to the disk unless its kind
// says otherwise (torn writes), and its message reads "injected <kind>: <operation> <path>: ..."
// with the canonical code of ErrnoToStatus (EIO → Internal, ENOSPC → ResourceExhausted).
//
// What is modeled, and what is not:
//  - Writes, truncates and syncs of files opened through this object. Writes through a writable
//    Map() are invisible to it (no faults, no counters, no space accounting, no rollback).
//  - fd() of its files is -1, so callers that would bypass the seam (io_uring, sendfile) take
//    their File-call fallback and every byte goes through here.
//  - Space: the sum of the sizes of the files this object has opened, created or grown. Files it
//    never opened, directories and metadata take no space; Truncate growth counts although a
//    real sparse file would not use blocks for it.
//  - Durability of file data: per file, the bytes as of its last successful Sync(). A file that
//    existed before this object first opened it counts as synced as it was then; a file it
//    created starts empty. DropUnsyncedData() restores that state exactly, overwrites and
//    truncations inside the synced length included (old bytes are saved before they change).
//    It drops *all* unsynced data; a crash that keeps part of it is a torn write followed by a
//    crash.
//  - Durability of directory entries: a file created by Open(kCreate), and a Rename, last only
//    once SyncDir() has run on the directory (both directories for a rename across two)
//    afterwards. DropUnsyncedDirectoryEntries() undoes the others, newest first: created files
//    are removed, renamed files are moved back, and a file that a rename replaced gets back the
//    contents it had (a copy is kept in memory until the directory is synced). Not modeled:
//    Remove and RemoveDir are durable at once (a crash never brings a removed file back), and
//    CreateDir is durable at once.
//  - A directory rename does not carry the bookkeeping of the files inside it to their new
//    names (stats, space and rollback keep the old paths); varve renames only files.
//  - Paths are compared as strings, as the caller spelled them: "d/x" and "d//x" are two files.
//
// Thread safety: every method may be called from any thread, concurrently with the files'
// operations on other threads (tests arm rules while the engine runs). Writes, truncates and
// syncs of one file are serialized with each other (a kernel may overlap them); reads are not.
// DropUnsyncedData() and DropUnsyncedDirectoryEntries() are meant to run while nothing else uses
// the files (a mapping of a file they shrink would fault). This object must outlive every File
// it opened.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/file.h"

namespace varve {

// The operations a rule can target. kRemove covers Remove and RemoveDir; kOpen covers every
// OpenMode. Size, Exists and IsDirectory never fail by injection.
enum class FaultOp {
  kOpen,
  kRead,
  kWrite,
  kSync,
  kTruncate,
  kMap,
  kRename,
  kRemove,
  kSyncDir,
  kCreateDir,
  kListDir,
};

enum class FaultKind {
  // A failing disk or controller: the operation fails with EIO (→ Internal) and does nothing.
  // A failing Sync leaves the data unsynced (in the page cache, for this simulation).
  kEio,
  // A full disk or quota: the operation fails with ENOSPC (→ ResourceExhausted) and does
  // nothing; for a write, no byte lands.
  kEnospc,
  // Writes only. A write interrupted part way (EIO after the first blocks reached the disk): the
  // first `torn_bytes` bytes land, then the write fails with EIO.
  kTornWrite,
  // Writes only. The kernel accepting a write in pieces: the write is carried out as two
  // underlying writes, the first of `torn_bytes` bytes, and succeeds with every byte in place.
  // Proves callers do not depend on one write being one system call, and lets a concurrent
  // reader observe the half-written state.
  kShortWrite,
};

struct FaultRule {
  FaultOp op;
  // The rule applies to paths containing this; empty matches every path. A rename matches when
  // either name does.
  std::string path_contains;
  FaultKind kind = FaultKind::kEio;
  // Let this many matching operations succeed first,
  int skip = 0;
  // then fail this many (-1: forever).
  int times = 1;
  // For kTornWrite and kShortWrite: where the write is cut. SIZE_MAX cuts it in half.
  size_t torn_bytes = SIZE_MAX;
};

// I/O counted through the object, per path. Calls are counted whether they succeed or fail;
// bytes are the bytes that actually moved (a torn write counts its prefix).
struct IoStats {
  int64_t reads = 0;        // File::Read calls
  int64_t read_bytes = 0;   // bytes they returned
  int64_t writes = 0;       // File::WriteV / Write calls
  int64_t write_bytes = 0;  // bytes that reached the file
  int64_t syncs = 0;        // File::Sync calls on files, SyncDir calls on directories
  int64_t maps = 0;         // File::Map calls (reads through a mapping are not counted)
};

class FaultInjectionFs final : public FileSystem {
 public:
  // `base` must outlive this object.
  explicit FaultInjectionFs(FileSystem* base);
  ~FaultInjectionFs() override;
  FaultInjectionFs(const FaultInjectionFs&) = delete;
  FaultInjectionFs& operator=(const FaultInjectionFs&) = delete;

  // Arms a rule. Asserts that kTornWrite and kShortWrite rules target kWrite.
  void AddRule(const FaultRule& rule);
  // Disarms every rule.
  void ClearRules();
  // How many operations have failed, or been split, by a rule or by the space limit.
  int64_t InjectedFaults() const;

  // Caps the bytes the files of this object may hold (see "Space" above); nullopt lifts the cap.
  // A write or Truncate that would exceed it fails with ENOSPC and changes nothing: no prefix
  // lands (Linux may write a prefix and fail the next call; callers must handle both, and a torn
  // write rule produces the other case). Overwrites and shrinking always succeed.
  void SetSpaceLimit(std::optional<int64_t> bytes);
  // The bytes the files of this object hold now.
  int64_t SpaceUsed() const;

  // The sum of the counters of every path ending with `path_suffix` ("" sums everything). A
  // renamed file counts under its new name from the rename on.
  IoStats StatsFor(absl::string_view path_suffix) const;
  void ResetStats();

  // While inactive (a simulated power cut), every operation that would change the disk fails
  // with an injected EIO and changes nothing: WriteV, Truncate, Sync, Open(kCreate) of a missing
  // file, Rename, Remove, RemoveDir, CreateDir and SyncDir. Reads, Map and listing still work.
  void SetFilesystemActive(bool active);

  // Rewinds every file written or truncated since its last successful Sync() to its contents at
  // that Sync, and fsyncs it.
  absl::Status DropUnsyncedData();
  // Undoes the creations and renames not yet made durable by SyncDir() (see above).
  absl::Status DropUnsyncedDirectoryEntries();

  // FileSystem.
  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status Remove(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::Status RemoveDir(const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::StatusOr<bool> Exists(const std::string& path) override;
  absl::StatusOr<bool> IsDirectory(const std::string& path) override;

 private:
  class FaultyFile;
  struct FileState;
  struct DirEntryOp;
  struct Verdict;

  // What the rules and the active flag say about one operation. Counts the operation against
  // every matching rule. Requires mu_.
  Verdict Decide(FaultOp op, absl::string_view path, absl::string_view other_path = {},
                 bool mutates = false);
  // Decide, then the status to return: OK to go ahead, else the injected failure.
  absl::Status Check(FaultOp op, const std::string& path, absl::string_view what, bool mutates,
                     absl::string_view other_path = {});
  // The status of an operation the verdict fails.
  static absl::Status Fail(const Verdict& v, absl::string_view what, absl::string_view path);
  // ENOSPC if growing `state` to `new_end` bytes would pass the space limit. Requires mu_.
  absl::Status GrowLocked(const FileState& state, int64_t new_end, absl::string_view what);
  // Records that the file now holds `size` bytes. Requires mu_ and state.mu.
  void SetSizeLocked(FileState& state, int64_t size);
  // Starts tracking `path` (size `size`), replacing any stale state. Requires mu_.
  std::shared_ptr<FileState> TrackLocked(const std::string& path, int64_t size, bool synced);
  // Stops tracking `path` and frees its space. Requires mu_.
  void UntrackLocked(const std::string& path);
  // Moves the state of `from` (if tracked) to `to`, untracking what `to` was. Requires mu_.
  void MoveLocked(const std::string& from, const std::string& to);
  // Marks `dir` synced: directory operations inside it become durable. Requires mu_.
  void DirSyncedLocked(const std::string& dir);
  IoStats& StatsLocked(const std::string& path) { return stats_[path]; }

  FileSystem* const base_;

  mutable std::mutex mu_;
  struct ArmedRule;
  std::vector<ArmedRule> rules_;                             // guarded by mu_
  int64_t injected_ = 0;                                     // guarded by mu_
  std::optional<int64_t> space_limit_;                       // guarded by mu_
  int64_t space_used_ = 0;                                   // guarded by mu_
  bool active_ = true;                                       // guarded by mu_
  std::map<std::string, IoStats> stats_;                     // guarded by mu_
  std::map<std::string, std::shared_ptr<FileState>> files_;  // guarded by mu_
  std::vector<DirEntryOp> dir_ops_;                          // guarded by mu_, oldest first
};

}  // namespace varve
