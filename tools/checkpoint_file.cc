#include "tools/checkpoint_file.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"

namespace varve::dump {

absl::Status ReadCheckpointEntries(ReadOnlyFile* file, std::vector<std::string>* entries,
                                   std::vector<Problem>* problems) {
  entries->clear();
  auto malformed = [&](int64_t position, std::string detail) {
    problems->push_back({file->path(), position, "checkpoint_malformed", std::move(detail)});
  };
  if (file->size() > kMaxCheckpointBytes) {
    malformed(0,
              absl::StrCat(file->size(), " bytes; a checkpoint is at most ", kMaxCheckpointBytes));
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(absl::string_view text, file->Read(0, file->size()));
  if (text.empty()) {
    malformed(0, "empty file: no version line");
    return absl::OkStatus();
  }
  struct Line {
    int64_t position;
    absl::string_view text;
  };
  std::vector<Line> lines;
  for (size_t at = 0; at < text.size();) {
    const size_t newline = text.find('\n', at);
    const size_t end = newline == absl::string_view::npos ? text.size() : newline;
    lines.push_back({static_cast<int64_t>(at), text.substr(at, end - at)});
    at = end + 1;
  }
  if (text.back() != '\n') malformed(lines.back().position, "the last line has no newline");

  int version;
  if (!absl::SimpleAtoi(lines[0].text, &version) || version != 0) {
    malformed(0, absl::StrCat("version line \"", lines[0].text, "\", expected 0"));
  }
  if (lines.size() < 2) {
    malformed(static_cast<int64_t>(text.size()), "no entry count line");
    return absl::OkStatus();
  }
  int64_t count;
  const int64_t found = static_cast<int64_t>(lines.size()) - 2;
  if (!absl::SimpleAtoi(lines[1].text, &count) || count < 0) {
    malformed(lines[1].position, absl::StrCat("entry count line \"", lines[1].text, "\""));
  } else if (count != found) {
    malformed(lines[1].position, absl::StrCat("says ", count, " entries but the file has ", found));
  }
  for (size_t i = 2; i < lines.size(); ++i) entries->emplace_back(lines[i].text);
  return absl::OkStatus();
}

std::optional<int64_t> SingleOffset(const std::vector<std::string>& entries) {
  int64_t offset;
  if (entries.size() != 1 || !absl::SimpleAtoi(entries[0], &offset) || offset < 0) {
    return std::nullopt;
  }
  return offset;
}

}  // namespace varve::dump
