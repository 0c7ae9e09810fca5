#include "log/checkpoint.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"

namespace varve {

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteCheckpoint(FileSystem* fs, const std::string& path,
                             const std::vector<std::string>& entries) {
  std::string text = absl::StrCat(kCheckpointVersion, "\n", entries.size(), "\n");
  for (const std::string& e : entries) absl::StrAppend(&text, e, "\n");
  const std::string tmp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs->Open(tmp, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->Write(0, text));
    RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(fs->Rename(tmp, path));
  return fs->SyncDir(DirName(path));
}

absl::StatusOr<std::vector<std::string>> ReadCheckpoint(FileSystem* fs, const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs->Open(path, OpenMode::kReadOnly));
  ASSIGN_OR_RETURN(int64_t size, f->Size());
  if (size > (1 << 20)) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path, " is ", size, " bytes; a checkpoint is at most 1 MiB"));
  }
  std::string text(size, '\0');
  RETURN_IF_ERROR(f->ReadExact(0, absl::MakeSpan(text)));
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  auto bad = [&](size_t line, absl::string_view why) {
    return absl::DataLossError(absl::StrCat("checkpoint ", path, " line ", line, ": ", why));
  };
  // A well-formed file ends with a newline, leaving one empty string after the split.
  if (lines.empty() || !lines.back().empty()) return bad(lines.size(), "no final newline");
  lines.pop_back();
  int version;
  if (lines.empty() || !absl::SimpleAtoi(lines[0], &version)) return bad(1, "no version");
  if (version != kCheckpointVersion) {
    return bad(1, absl::StrCat("unsupported version ", lines[0]));
  }
  int64_t count;
  if (lines.size() < 2 || !absl::SimpleAtoi(lines[1], &count) || count < 0) {
    return bad(2, "no entry count");
  }
  if (count != static_cast<int64_t>(lines.size()) - 2) {
    return bad(2, absl::StrCat("says ", count, " entries but the file has ", lines.size() - 2));
  }
  return std::vector<std::string>(lines.begin() + 2, lines.end());
}

absl::StatusOr<std::optional<int64_t>> OffsetCheckpoint::Read() const {
  absl::StatusOr<std::vector<std::string>> entries = ReadCheckpoint(fs_, path_);
  if (absl::IsNotFound(entries.status())) return std::nullopt;
  if (!entries.ok()) return entries.status();
  int64_t offset;
  if (entries->size() != 1 || !absl::SimpleAtoi((*entries)[0], &offset) || offset < 0) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", path_, " should hold one non-negative offset"));
  }
  return offset;
}

absl::Status OffsetCheckpoint::Write(int64_t offset) {
  std::lock_guard lock(mu_);
  ++generation_;
  RETURN_IF_ERROR(WriteCheckpoint(fs_, path_, {absl::StrCat(offset)}));
  last_written_ = offset;
  return absl::OkStatus();
}

absl::Status OffsetCheckpoint::Advance(int64_t offset, uint64_t generation) {
  std::lock_guard lock(mu_);
  if (generation != generation_ || offset <= last_written_) return absl::OkStatus();
  RETURN_IF_ERROR(WriteCheckpoint(fs_, path_, {absl::StrCat(offset)}));
  last_written_ = offset;
  return absl::OkStatus();
}

absl::Status OffsetCheckpoint::Advance(int64_t offset) {
  std::lock_guard lock(mu_);
  if (offset <= last_written_) return absl::OkStatus();
  RETURN_IF_ERROR(WriteCheckpoint(fs_, path_, {absl::StrCat(offset)}));
  last_written_ = offset;
  return absl::OkStatus();
}

}  // namespace varve
