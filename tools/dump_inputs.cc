#include "tools/dump_inputs.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace varve::dump {
namespace {

constexpr size_t kStemDigits = 20;

bool IsSegmentFile(absl::string_view name) {
  const FileKind kind = ClassifyFileName(name);
  return (kind == FileKind::kLog || kind == FileKind::kOffsetIndex ||
          kind == FileKind::kTimeIndex) &&
         SegmentBaseFromName(name).has_value();
}

absl::StatusOr<std::vector<std::string>> SortedListing(FileSystem* fs, const std::string& dir) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  std::sort(names.begin(), names.end());
  return names;
}

// Groups the segment files of `dir` by base offset; collects checkpoint files.
LogDirectory ReadLogDirectory(const std::string& dir, const std::vector<std::string>& names,
                              std::vector<InputNote>* notes) {
  LogDirectory log{dir, {}, {}};
  std::map<int64_t, SegmentFiles> segments;
  for (const std::string& name : names) {
    const FileKind kind = ClassifyFileName(name);
    const std::string path = JoinPath(dir, name);
    if (kind == FileKind::kCheckpoint) {
      log.checkpoints.push_back(path);
      continue;
    }
    if (kind == FileKind::kOther) continue;  // .snapshot, .txnindex, .deleted, ...
    const std::optional<int64_t> base = SegmentBaseFromName(name);
    if (!base) {
      notes->push_back({path, "ignored: not named <20-digit offset>.<extension>"});
      continue;
    }
    SegmentFiles& files = segments[*base];
    files.base_offset = base;
    (kind == FileKind::kLog           ? files.log
     : kind == FileKind::kOffsetIndex ? files.index
                                      : files.time_index) = path;
  }
  for (auto& [base, files] : segments) log.segments.push_back(std::move(files));
  return log;
}

absl::Status ResolveDirectory(FileSystem* fs, const std::string& dir,
                              std::vector<DumpInput>* inputs, std::vector<InputNote>* notes) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, SortedListing(fs, dir));
  if (std::any_of(names.begin(), names.end(), IsSegmentFile)) {
    inputs->push_back(DumpInput{ReadLogDirectory(dir, names, notes)});
    return absl::OkStatus();
  }
  // A data directory: a log directory per subdirectory with segment files.
  std::vector<DumpInput> logs;
  for (const std::string& name : names) {
    const std::string sub = JoinPath(dir, name);
    absl::StatusOr<bool> is_dir = fs->IsDirectory(sub);
    if (!is_dir.ok() || !*is_dir) continue;
    absl::StatusOr<std::vector<std::string>> sub_names = SortedListing(fs, sub);
    if (!sub_names.ok()) return sub_names.status();
    if (std::any_of(sub_names->begin(), sub_names->end(), IsSegmentFile)) {
      logs.push_back(DumpInput{ReadLogDirectory(sub, *sub_names, notes)});
    } else {
      notes->push_back({sub, "skipped: no segment files"});
    }
  }
  if (logs.empty()) {
    // Not a data directory: a log directory holding only checkpoints, or nothing to read (most
    // likely the wrong path, which must not pass for a clean log).
    LogDirectory log = ReadLogDirectory(dir, names, notes);
    if (log.checkpoints.empty()) {
      return absl::NotFoundError(
          absl::StrCat(dir, ": no segment or checkpoint files in it or in its subdirectories"));
    }
    notes->push_back({dir, "no segment files"});
    inputs->push_back(DumpInput{std::move(log)});
    return absl::OkStatus();
  }
  for (const std::string& name : names) {
    if (ClassifyFileName(name) == FileKind::kCheckpoint) {
      inputs->push_back(DumpInput{std::nullopt, FileKind::kCheckpoint, JoinPath(dir, name)});
    }
  }
  for (DumpInput& log : logs) inputs->push_back(std::move(log));
  return absl::OkStatus();
}

}  // namespace

absl::string_view BaseName(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

std::string SiblingPath(absl::string_view path, absl::string_view extension) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  const bool has_ext =
      dot != absl::string_view::npos && (slash == absl::string_view::npos || dot > slash);
  return absl::StrCat(has_ext ? path.substr(0, dot) : path, extension);
}

FileKind ClassifyFileName(absl::string_view name) {
  if (absl::EndsWith(name, ".log")) return FileKind::kLog;
  if (absl::EndsWith(name, ".index")) return FileKind::kOffsetIndex;
  if (absl::EndsWith(name, ".timeindex")) return FileKind::kTimeIndex;
  if (absl::EndsWith(name, "checkpoint") || name == ".varve-clean-shutdown") {
    return FileKind::kCheckpoint;
  }
  return FileKind::kOther;
}

std::optional<int64_t> SegmentBaseFromName(absl::string_view name) {
  const size_t dot = name.find('.');
  if (dot != kStemDigits) return std::nullopt;
  const absl::string_view stem = name.substr(0, kStemDigits);
  if (!std::all_of(stem.begin(), stem.end(), absl::ascii_isdigit)) return std::nullopt;
  int64_t base;
  if (!absl::SimpleAtoi(stem, &base)) return std::nullopt;  // above INT64_MAX
  return base;
}

absl::StatusOr<std::vector<DumpInput>> ResolveInputs(FileSystem* fs,
                                                     absl::Span<const std::string> paths,
                                                     std::vector<InputNote>* notes) {
  std::vector<DumpInput> inputs;
  for (const std::string& path : paths) {
    ASSIGN_OR_RETURN(bool exists, fs->Exists(path));
    if (!exists) return absl::NotFoundError(absl::StrCat(path, ": no such file or directory"));
    ASSIGN_OR_RETURN(bool is_dir, fs->IsDirectory(path));
    if (is_dir) {
      RETURN_IF_ERROR(ResolveDirectory(fs, path, &inputs, notes));
      continue;
    }
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": neither a regular file nor a directory"));
    }
    const FileKind kind = ClassifyFileName(BaseName(path));
    if (kind == FileKind::kOther) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": not a .log, .index, .timeindex or checkpoint file, nor a directory"));
    }
    inputs.push_back(DumpInput{std::nullopt, kind, path});
  }
  return inputs;
}

}  // namespace varve::dump
