#include "tools/varve_dump.h"

#include <vector>

#include "tools/dump_context.h"
#include "tools/dump_inputs.h"
#include "tools/dump_options.h"
#include "tools/dump_output.h"
#include "tools/groups_command.h"
#include "tools/log_commands.h"

namespace varve::dump {
namespace {

// The segment a file given on its own belongs to, with the sibling files that exist.
SegmentFiles SegmentOf(FileSystem* fs, const std::string& path) {
  SegmentFiles seg;
  seg.base_offset = SegmentBaseFromName(BaseName(path));
  auto sibling = [&](absl::string_view extension) {
    std::string p = SiblingPath(path, extension);
    absl::StatusOr<bool> exists = fs->Exists(p);
    return exists.ok() && *exists ? p : std::string();
  };
  seg.log = sibling(".log");
  seg.index = sibling(".index");
  seg.time_index = sibling(".timeindex");
  return seg;
}

void HandleFile(DumpContext* ctx, FileKind kind, const std::string& path) {
  const DumpMode mode = ctx->options.mode;
  if (kind == FileKind::kLog) {
    SegmentFiles seg = SegmentOf(ctx->fs, path);
    seg.log = path;
    const LogDirectory log{path, {seg}, {}};
    if (mode == DumpMode::kVerify) return VerifyLog(ctx, log);
    if (mode == DumpMode::kDigest) return DigestLog(ctx, log);
    return DumpLog(ctx, log);
  }
  if (mode == DumpMode::kDigest) {
    ctx->printer->Note(path, "ignored: --digest reads .log files only");
    return;
  }
  if (kind == FileKind::kCheckpoint) return HandleCheckpoint(ctx, path, std::nullopt);
  // An index file alone: checked against its segment's .log, but not with the other index.
  SegmentFiles seg = SegmentOf(ctx->fs, path);
  (kind == FileKind::kOffsetIndex ? seg.time_index : seg.index).clear();
  (kind == FileKind::kOffsetIndex ? seg.index : seg.time_index) = path;
  HandleIndexFile(ctx, seg);
}

}  // namespace

int RunVarveDump(absl::Span<const std::string> args, std::ostream& out, std::ostream& err,
                 FileSystem* fs) {
  absl::StatusOr<DumpOptions> options = ParseDumpArgs(args);
  if (!options.ok()) {
    err << "varve-dump: " << options.status().message() << "\n";
    return kExitUsage;
  }
  return RunVarveDump(*options, out, err, fs);
}

int RunVarveDump(const DumpOptions& options, std::ostream& out, std::ostream& err, FileSystem* fs) {
  if (options.help) {
    out << kDumpUsage;
    return kExitClean;
  }
  if (options.mode == DumpMode::kGroups) return RunGroups(options, out, err, fs);
  std::vector<InputNote> notes;
  absl::StatusOr<std::vector<DumpInput>> inputs = ResolveInputs(fs, options.paths, &notes);
  if (!inputs.ok()) {
    err << "varve-dump: " << inputs.status().message() << "\n";
    return kExitUsage;
  }
  DumpPrinter printer(&out, options.json, options.max_field_bytes());
  DumpContext ctx{options, fs, &printer, &err};
  for (const InputNote& note : notes) printer.Note(note.path, note.message);
  for (const DumpInput& input : *inputs) {
    if (!input.directory) {
      HandleFile(&ctx, input.kind, input.file);
    } else if (options.mode == DumpMode::kVerify) {
      VerifyLog(&ctx, *input.directory);
    } else if (options.mode == DumpMode::kDigest) {
      DigestLog(&ctx, *input.directory);
    } else {
      DumpLog(&ctx, *input.directory);
    }
  }
  if (options.mode == DumpMode::kVerify) {
    ctx.totals.problems = printer.problems();
    printer.Summary(ctx.totals);
  }
  out.flush();
  if (ctx.unreadable) return kExitUsage;
  return printer.problems() > 0 ? kExitCorrupt : kExitClean;
}

}  // namespace varve::dump
