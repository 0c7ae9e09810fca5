#pragma once

// The building blocks the generated messages (broker/protocol/generated/) are written with:
// arrays, nested structs, tagged-field sections, error paths and version checks. Each field of a
// generated message is one call to these or to a Reader/Writer primitive (wire.h). Also
// FieldInfo, the per-field metadata each message's VisitFields() passes to its visitor.
//
// Error paths: a failing element or nested struct gets its path prefixed on the way out, so the
// caller of a message's Decode sees the whole path:
//   "ProduceRequest.topic_data[0].partition_data[1].records: length 99999 exceeds the 12 bytes
//    left at byte 40"
// The prefixes are only built on failure.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "broker/protocol/wire.h"

namespace varve::protocol {

// Metadata of one field of a generated struct, as VisitFields() reports it.
struct FieldInfo {
  const char* name;     // the C++ member name
  int16_t min_version;  // the field exists in versions [min_version, max_version]
  int16_t max_version;
  int16_t nullable_min_version;  // null is allowed in [nullable_min_version,
  int16_t nullable_max_version;  //   nullable_max_version]: empty (min > max) if never
  int32_t tag;  // the tag in the versions where it is a tagged field; -1 if never tagged

  bool present(int16_t version) const { return version >= min_version && version <= max_version; }
  bool nullable(int16_t version) const {
    return version >= nullable_min_version && version <= nullable_max_version;
  }
};

// `status` with `prefix` put before its message; OK stays OK.
absl::Status PrefixError(const absl::Status& status, absl::string_view prefix);

// InvalidArgument "<message>: version V is outside the valid range L-H" unless it is inside.
absl::Status CheckVersion(const char* message, int16_t version, int16_t lowest, int16_t highest);

// A generated struct (a message or one of its nested structs).
template <typename T>
concept CodecStruct = requires(T& t, const T& c, Reader& r, Writer& w, int16_t v) {
  { t.Decode(r, v) } -> std::same_as<absl::Status>;
  c.Encode(w, v);
};

// ---- array elements ----

inline absl::Status ReadElement(Reader& r, int8_t* e, bool, int16_t) { return r.ReadInt8(e); }
inline absl::Status ReadElement(Reader& r, int16_t* e, bool, int16_t) { return r.ReadInt16(e); }
inline absl::Status ReadElement(Reader& r, int32_t* e, bool, int16_t) { return r.ReadInt32(e); }
inline absl::Status ReadElement(Reader& r, int64_t* e, bool, int16_t) { return r.ReadInt64(e); }
inline absl::Status ReadElement(Reader& r, uint16_t* e, bool, int16_t) { return r.ReadUInt16(e); }
inline absl::Status ReadElement(Reader& r, uint32_t* e, bool, int16_t) { return r.ReadUInt32(e); }
inline absl::Status ReadElement(Reader& r, double* e, bool, int16_t) { return r.ReadFloat64(e); }
inline absl::Status ReadElement(Reader& r, bool* e, bool, int16_t) { return r.ReadBool(e); }
inline absl::Status ReadElement(Reader& r, Uuid* e, bool, int16_t) { return r.ReadUuid(e); }
inline absl::Status ReadElement(Reader& r, std::string* e, bool compact, int16_t) {
  return r.ReadString(e, compact);
}
template <CodecStruct T>
absl::Status ReadElement(Reader& r, T* e, bool, int16_t version) {
  return e->Decode(r, version);
}

inline void WriteElement(Writer& w, int8_t e, bool, int16_t) { w.WriteInt8(e); }
inline void WriteElement(Writer& w, int16_t e, bool, int16_t) { w.WriteInt16(e); }
inline void WriteElement(Writer& w, int32_t e, bool, int16_t) { w.WriteInt32(e); }
inline void WriteElement(Writer& w, int64_t e, bool, int16_t) { w.WriteInt64(e); }
inline void WriteElement(Writer& w, uint16_t e, bool, int16_t) { w.WriteUInt16(e); }
inline void WriteElement(Writer& w, uint32_t e, bool, int16_t) { w.WriteUInt32(e); }
inline void WriteElement(Writer& w, double e, bool, int16_t) { w.WriteFloat64(e); }
inline void WriteElement(Writer& w, bool e, bool, int16_t) { w.WriteBool(e); }
inline void WriteElement(Writer& w, const Uuid& e, bool, int16_t) { w.WriteUuid(e); }
inline void WriteElement(Writer& w, const std::string& e, bool compact, int16_t) {
  w.WriteString(e, compact);
}
template <CodecStruct T>
void WriteElement(Writer& w, const T& e, bool, int16_t version) {
  e.Encode(w, version);
}

// The fewest bytes an element takes on the wire; bounds array counts by the bytes left.
template <typename T>
constexpr size_t MinElementSize(bool compact) {
  if constexpr (std::is_arithmetic_v<T>) {
    return sizeof(T);
  } else if constexpr (std::is_same_v<T, Uuid>) {
    return 16;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return compact ? 1 : 2;
  } else {
    return 1;  // a struct; gen/schema.py checks that none can encode as zero bytes
  }
}

template <typename T>
absl::Status ReadElements(Reader& r, int32_t count, std::vector<T>* out, bool compact,
                          int16_t version, const char* field) {
  out->clear();
  // The count is bounded by the bytes left, but a struct can be far larger in memory than on the
  // wire: reserve only for fixed-size elements and let struct arrays grow as they decode.
  if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, Uuid>) out->reserve(count);
  for (int32_t i = 0; i < count; ++i) {
    absl::Status status = ReadElement(r, &out->emplace_back(), compact, version);
    if (!status.ok()) {
      return PrefixError(status, absl::StrCat(field, "[", i, CodecStruct<T> ? "]." : "]: "));
    }
  }
  return absl::OkStatus();
}

// ---- arrays and nested structs ----

template <typename T>
absl::Status ReadArray(Reader& r, std::vector<T>* out, bool compact, int16_t version,
                       const char* field) {
  int32_t count;
  absl::Status status =
      r.ReadArrayCount(&count, compact, /*nullable=*/false, MinElementSize<T>(compact), field);
  if (!status.ok()) return status;
  return ReadElements(r, count, out, compact, version, field);
}

template <typename T>
absl::Status ReadNullableArray(Reader& r, std::optional<std::vector<T>>* out, bool compact,
                               bool nullable, int16_t version, const char* field) {
  int32_t count;
  absl::Status status =
      r.ReadArrayCount(&count, compact, nullable, MinElementSize<T>(compact), field);
  if (!status.ok()) return status;
  if (count < 0) {
    out->reset();
    return absl::OkStatus();
  }
  return ReadElements(r, count, &out->emplace(), compact, version, field);
}

template <CodecStruct T>
absl::Status ReadStruct(Reader& r, T* out, int16_t version, const char* field) {
  absl::Status status = out->Decode(r, version);
  if (!status.ok()) return PrefixError(status, absl::StrCat(field, "."));
  return status;
}

template <typename T>
void WriteArray(Writer& w, const std::vector<T>& v, bool compact, int16_t version) {
  w.WriteArrayCount(static_cast<int32_t>(v.size()), compact);
  for (const T& e : v) WriteElement(w, e, compact, version);
}

// A null array where the version does not allow null is written as empty (see Writer).
template <typename T>
void WriteNullableArray(Writer& w, const std::optional<std::vector<T>>& v, bool compact,
                        bool nullable, int16_t version) {
  if (!v.has_value()) {
    w.WriteArrayCount(nullable ? -1 : 0, compact);
    return;
  }
  WriteArray(w, *v, compact, version);
}

// ---- tagged fields (flexible versions) ----

// Reads a tagged-field section: an unsigned varint count, then per field an unsigned varint tag
// (strictly ascending), an unsigned varint size and the value. `read_known(tag, value)` decodes
// the value of a tag it knows at this version from `value`, a reader over exactly the value's
// bytes, which it must consume entirely; for an unknown tag it returns OK without reading, and the
// value is skipped.
absl::Status ReadTaggedFields(
    Reader& r, absl::FunctionRef<absl::Status(uint32_t tag, Reader& value)> read_known);

// Reads a tagged-field section of a struct without tagged fields: skips every field.
absl::Status SkipTaggedFields(Reader& r);

// Writes one tagged field: tag, size, then the value `write_value` encodes (no file regions).
void WriteTaggedField(Writer& w, uint32_t tag, absl::FunctionRef<void(Writer& value)> write_value);

}  // namespace varve::protocol
