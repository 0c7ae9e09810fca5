#include "tools/dump_output.h"

#include <optional>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace varve::dump {
namespace {

// The length of the valid UTF-8 sequence at the start of `s` (1-4), or 0 if there is none.
// Rejects overlong forms, surrogates and code points above U+10FFFF. *code_point is set on
// success.
size_t Utf8Sequence(absl::string_view s, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = byte(0);
  if (c < 0x80) {
    *code_point = c;
    return 1;
  }
  size_t n;
  uint32_t cp, min;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return n;
}

// At most `max` bytes of `bytes`, not ending inside a UTF-8 sequence that continues past the
// cut (so text stays text).
absl::string_view Cut(absl::string_view bytes, size_t max) {
  if (bytes.size() <= max) return bytes;
  size_t cut = max;
  for (int back = 0; back < 3 && cut > 0 && (static_cast<unsigned char>(bytes[cut]) & 0xC0) == 0x80;
       ++back) {
    --cut;
  }
  if ((static_cast<unsigned char>(bytes[cut]) & 0xC0) == 0x80) cut = max;  // not UTF-8 anyway
  return bytes.substr(0, cut);
}

// Text rendering of key, value or header value bytes: null, or quoted and escaped, with "..."
// after the closing quote when cut to `max` bytes.
std::string BytesText(std::optional<absl::string_view> bytes, size_t max) {
  if (!bytes) return "null";
  const absl::string_view shown = Cut(*bytes, max);
  return absl::StrCat(QuoteBytes(shown), shown.size() < bytes->size() ? "..." : "");
}

// JSON members for the same: "name":<string or null>, then "name_base64":true when the bytes
// are not UTF-8 (the string is their base64), "name_truncated":true when cut.
std::string BytesJsonMembers(absl::string_view name, std::optional<absl::string_view> bytes,
                             size_t max) {
  if (!bytes) return absl::StrCat(JsonQuote(name), ":null");
  const absl::string_view shown = Cut(*bytes, max);
  const bool utf8 = IsValidUtf8(shown);
  std::string out =
      absl::StrCat(JsonQuote(name), ":",
                   utf8 ? JsonQuote(shown) : absl::StrCat("\"", absl::Base64Escape(shown), "\""));
  if (!utf8) absl::StrAppend(&out, ",", JsonQuote(absl::StrCat(name, "_base64")), ":true");
  if (shown.size() < bytes->size()) {
    absl::StrAppend(&out, ",", JsonQuote(absl::StrCat(name, "_truncated")), ":true");
  }
  return out;
}

// One output line: text "key: value" pairs separated by spaces, or one JSON object.
class Line {
 public:
  Line(bool json, absl::string_view type) : json_(json) {
    if (json_) text_ = absl::StrCat("{\"type\":", JsonQuote(type));
  }

  // Text only: printed before the fields.
  Line& TextPrefix(absl::string_view prefix) {
    if (!json_) Append(prefix);
    return *this;
  }
  // A field; either rendering may be absent (the field is then left out of that format).
  Line& Raw(absl::string_view snake_name, std::optional<absl::string_view> text_value,
            std::optional<absl::string_view> json_value) {
    if (json_ && json_value) absl::StrAppend(&text_, ",", JsonQuote(snake_name), ":", *json_value);
    if (!json_ && text_value) Append(absl::StrCat(SnakeToCamel(snake_name), ": ", *text_value));
    return *this;
  }
  Line& Int(absl::string_view name, int64_t v) {
    const std::string s = absl::StrCat(v);
    return Raw(name, s, s);
  }
  Line& Bool(absl::string_view name, bool v) {
    return Raw(name, v ? "true" : "false", v ? "true" : "false");
  }
  Line& Str(absl::string_view name, absl::string_view v) { return Raw(name, v, JsonQuote(v)); }
  Line& JsonStr(absl::string_view name, absl::string_view v) {
    return Raw(name, std::nullopt, JsonQuote(v));
  }

  // Key, value or header value bytes (std::nullopt = null), cut to `max` bytes.
  Line& Bytes(absl::string_view name, std::optional<absl::string_view> bytes, size_t max) {
    if (json_) {
      absl::StrAppend(&text_, ",", BytesJsonMembers(name, bytes, max));
    } else {
      Append(absl::StrCat(SnakeToCamel(name), ": ", BytesText(bytes, max)));
    }
    return *this;
  }

  // The line; the object is spent afterwards.
  std::string Finish() {
    if (json_) text_ += "}";
    return std::move(text_);
  }

 private:
  void Append(absl::string_view s) {
    if (!text_.empty()) text_ += ' ';
    absl::StrAppend(&text_, s);
  }

  const bool json_;
  std::string text_;
};

}  // namespace

bool IsValidUtf8(absl::string_view bytes) {
  uint32_t cp;
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = Utf8Sequence(bytes.substr(i), &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string QuoteBytes(absl::string_view bytes) {
  std::string out = "\"";
  uint32_t cp;
  for (size_t i = 0; i < bytes.size();) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    const size_t n = Utf8Sequence(bytes.substr(i), &cp);
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", absl::string_view(&bytes[i], 1));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (n == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      absl::StrAppendFormat(&out, "\\x%02x", c);  // invalid UTF-8 or a control character
      i += 1;
      continue;
    } else {
      out.append(bytes.data() + i, n);
      i += n;
      continue;
    }
    i += 1;
  }
  out += "\"";
  return out;
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  uint32_t cp;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = Utf8Sequence(text.substr(i), &cp);
    if (n == 0) {
      out += "\\ufffd";
      i += 1;
      continue;
    }
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (cp < 0x20) {
      absl::StrAppendFormat(&out, "\\u%04x", cp);
    } else {
      out.append(text.data() + i, n);
    }
    i += n;
  }
  out += "\"";
  return out;
}

std::string SnakeToCamel(absl::string_view snake) {
  std::string out;
  bool upper = false;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out;
}

DumpPrinter::DumpPrinter(std::ostream* out, bool json, size_t max_field_bytes)
    : out_(out), json_(json), max_field_bytes_(max_field_bytes) {}

void DumpPrinter::Emit(const std::string& line) { *out_ << line << '\n'; }

void DumpPrinter::FileHeader(absl::string_view path, absl::string_view kind) {
  if (!json_) {
    Emit(absl::StrCat("Dumping ", path));
    return;
  }
  Emit(Line(json_, "file").Str("file", path).Str("kind", kind).Finish());
}

void DumpPrinter::Batch(absl::string_view file, int64_t position, const BatchHeader& h,
                        bool crc_valid) {
  Line line(json_, "batch");
  line.JsonStr("file", file)
      .Int("base_offset", h.base_offset)
      .Int("last_offset", h.last_offset())
      .Int("count", h.records_count)
      .Int("position", position)
      .Int("size", h.size_bytes())
      .Int("first_timestamp", h.base_timestamp)
      .Int("max_timestamp", h.max_timestamp)
      .Str("timestamp_type",
           h.timestamp_type() == TimestampType::kLogAppendTime ? "LogAppendTime" : "CreateTime")
      .Str("compression", CompressionName(h.compression()))
      .Int("producer_id", h.producer_id)
      .Int("producer_epoch", h.producer_epoch)
      .Int("base_sequence", h.base_sequence)
      .Int("partition_leader_epoch", h.partition_leader_epoch)
      .Bool("is_transactional", h.is_transactional())
      .Bool("is_control", h.is_control());
  if (h.has_delete_horizon()) line.Int("delete_horizon_ms", h.base_timestamp);
  line.Int("crc", h.crc).Bool("is_valid", crc_valid);
  Emit(line.Finish());
}

void DumpPrinter::Record(absl::string_view file, const RecordView& r) {
  Line line(json_, "record");
  line.TextPrefix("|")
      .JsonStr("file", file)
      .Int("offset", r.offset)
      .Int("timestamp", r.timestamp)
      .Int("key_size", r.key ? static_cast<int64_t>(r.key->size()) : -1)
      .Int("value_size", r.value ? static_cast<int64_t>(r.value->size()) : -1)
      .Bytes("key", r.key, max_field_bytes_)
      .Bytes("value", r.value, max_field_bytes_);
  std::string text = "[";
  std::string json = "[";
  for (const HeaderRef& h : r.Headers()) {
    if (text.size() > 1) text += ", ";
    if (json.size() > 1) json += ",";
    absl::StrAppend(&text, QuoteBytes(h.key), "=", BytesText(h.value, max_field_bytes_));
    absl::StrAppend(&json, "{\"key\":", JsonQuote(h.key), ",",
                    BytesJsonMembers("value", h.value, max_field_bytes_), "}");
  }
  line.Raw("headers", absl::StrCat(text, "]"), absl::StrCat(json, "]"));
  Emit(line.Finish());
}

void DumpPrinter::OffsetIndexEntry(absl::string_view file, int64_t offset, int64_t position) {
  Emit(Line(json_, "index_entry")
           .JsonStr("file", file)
           .Int("offset", offset)
           .Int("position", position)
           .Finish());
}

void DumpPrinter::TimeIndexEntry(absl::string_view file, int64_t timestamp, int64_t offset) {
  Emit(Line(json_, "time_index_entry")
           .JsonStr("file", file)
           .Int("timestamp", timestamp)
           .Int("offset", offset)
           .Finish());
}

void DumpPrinter::CheckpointEntry(absl::string_view file, absl::string_view entry) {
  Emit(Line(json_, "checkpoint_entry").JsonStr("file", file).Str("entry", entry).Finish());
}

void DumpPrinter::Report(const Problem& p) {
  ++problems_;
  Emit(Line(json_, "problem")
           .TextPrefix(absl::StrCat("problem: ", p.rule))
           .JsonStr("rule", p.rule)
           .Str("file", p.file)
           .Int("position", p.position)
           .Str("detail", p.detail)
           .Finish());
}

void DumpPrinter::Note(absl::string_view file, absl::string_view message) {
  Emit(Line(json_, "note").TextPrefix("note:").Str("file", file).Str("message", message).Finish());
}

void DumpPrinter::Digest(const DigestResult& d) {
  const std::string hex = absl::StrFormat("%016x", d.xxh3);
  Emit(Line(json_, "digest")
           .TextPrefix(absl::StrCat("digest: ", hex))
           .JsonStr("digest", hex)
           .Str("algorithm", "xxh3_64")
           .Int("batches", d.batches)
           .Int("bytes", d.bytes)
           .Int("first_offset", d.first_offset)
           .Int("last_offset", d.last_offset)
           .Str("log", d.log)
           .Finish());
}

void DumpPrinter::Summary(const VerifyTotals& t) {
  const char* result = t.problems == 0 ? "clean" : "corrupt";
  Emit(Line(json_, "summary")
           .TextPrefix(absl::StrCat("summary: ", result))
           .JsonStr("result", result)
           .Int("logs", t.logs)
           .Int("segments", t.segments)
           .Int("batches", t.batches)
           .Int("records", t.records)
           .Int("index_entries", t.index_entries)
           .Int("problems", t.problems)
           .Finish());
}

}  // namespace varve::dump
