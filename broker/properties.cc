#include "broker/properties.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace varve::broker {
namespace {

bool EndsWithOddBackslashes(absl::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Unescapes a key or value.
absl::StatusOr<std::string> Unescape(absl::string_view s, const std::string& source) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    if (++i == s.size()) break;  // a lone trailing backslash (continuation already joined)
    switch (s[i]) {
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'u': {
        if (i + 4 >= s.size()) {
          return absl::InvalidArgumentError(
              absl::StrCat(source, ": malformed \\uXXXX escape in \"", s, "\""));
        }
        uint32_t cp = 0;
        for (int k = 1; k <= 4; ++k) {
          const char c = s[i + k];
          cp <<= 4;
          if (c >= '0' && c <= '9') {
            cp |= c - '0';
          } else if (c >= 'a' && c <= 'f') {
            cp |= c - 'a' + 10;
          } else if (c >= 'A' && c <= 'F') {
            cp |= c - 'A' + 10;
          } else {
            return absl::InvalidArgumentError(
                absl::StrCat(source, ": malformed \\uXXXX escape in \"", s, "\""));
          }
        }
        AppendUtf8(cp, &out);
        i += 4;
        break;
      }
      default:
        out.push_back(s[i]);
    }
  }
  return out;
}

// Splits a logical line into key and value at the first unescaped '=', ':' or whitespace.
absl::StatusOr<Property> SplitLine(absl::string_view line, std::string source) {
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c == '\\') {
      i += 2;
      continue;
    }
    if (c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f') break;
    ++i;
  }
  absl::string_view raw_key = line.substr(0, std::min(i, line.size()));
  absl::string_view rest = i < line.size() ? line.substr(i) : absl::string_view();
  // Skip whitespace, at most one separator, then whitespace again.
  size_t j = 0;
  while (j < rest.size() && (rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\f')) ++j;
  if (j < rest.size() && (rest[j] == '=' || rest[j] == ':')) ++j;
  while (j < rest.size() && (rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\f')) ++j;
  Property p;
  p.source = std::move(source);
  if (raw_key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(p.source, ": empty key in \"", line, "\""));
  }
  auto key = Unescape(raw_key, p.source);
  if (!key.ok()) return key.status();
  auto value = Unescape(rest.substr(j), p.source);
  if (!value.ok()) return value.status();
  p.key = std::move(*key);
  p.value = std::string(absl::StripTrailingAsciiWhitespace(*value));
  return p;
}

}  // namespace

absl::StatusOr<std::vector<Property>> ParseProperties(absl::string_view text,
                                                      absl::string_view source_name) {
  std::vector<Property> out;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (size_t n = 0; n < lines.size(); ++n) {
    const size_t first_line = n + 1;
    absl::string_view line = absl::StripAsciiWhitespace(lines[n]);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    std::string logical(line);
    while (EndsWithOddBackslashes(logical) && n + 1 < lines.size()) {
      logical.pop_back();
      logical.append(std::string(
          absl::StripLeadingAsciiWhitespace(absl::StripTrailingAsciiWhitespace(lines[++n]))));
    }
    auto p = SplitLine(logical, absl::StrCat(source_name, ":", first_line));
    if (!p.ok()) return p.status();
    out.push_back(std::move(*p));
  }
  return out;
}

absl::StatusOr<Property> ParseOverride(absl::string_view arg) {
  const size_t eq = arg.find('=');
  if (eq == absl::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--override expects key=value, got \"", arg, "\""));
  }
  Property p;
  p.key = std::string(absl::StripAsciiWhitespace(arg.substr(0, eq)));
  p.value = std::string(absl::StripAsciiWhitespace(arg.substr(eq + 1)));
  p.source = absl::StrCat("--override ", p.key);
  return p;
}

}  // namespace varve::broker
