#pragma once

// Test helpers for the generated messages, built on their VisitFields() reflection: fill every
// field with a non-default value, clear the fields a version does not have, print a message, and
// encode/decode through strings. For tests and fuzzers only.
//
// Example:
//   FetchResponse response;
//   FillForTest(response, /*seed=*/1);
//   FetchResponse expected = response;
//   ClearAbsentFields(expected, /*version=*/4);
//   std::string bytes = EncodeToString(response, 4);
//   absl::StatusOr<FetchResponse> decoded = DecodeFromString<FetchResponse>(bytes, 4);
//   EXPECT_EQ(*decoded, expected);

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "broker/protocol/field_codec.h"
#include "broker/protocol/wire.h"

namespace varve::protocol {

namespace testing_internal {

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
concept Reflected = requires(T& t) {
  T::VisitFields(t, [](const FieldInfo&, auto&, auto&&) {});
};

// A value of type T that differs from `def`, derived from `seed`.
template <typename T>
void FillValue(T& value, const T& def, int seed);

template <typename T>
void FillStruct(T& s, int seed) {
  T::VisitFields(s,
                 [&](const FieldInfo&, auto& field, auto&& def) { FillValue(field, def, seed); });
}

template <typename T>
void FillValue(T& value, const T& def, int seed) {
  if constexpr (std::is_same_v<T, bool>) {
    value = !def;
  } else if constexpr (std::is_integral_v<T>) {
    value = static_cast<T>(0x0102030405060708LL * (seed + 1) + seed);
    if (value == def) ++value;
  } else if constexpr (std::is_floating_point_v<T>) {
    value = def + 1.5 + seed;
  } else if constexpr (std::is_same_v<T, Uuid>) {
    for (size_t i = 0; i < value.bytes.size(); ++i) value.bytes[i] = uint8_t(i + seed + 1);
  } else if constexpr (std::is_same_v<T, std::string>) {
    value = "s" + std::to_string(seed);
    if (value == def) value += "x";
  } else if constexpr (std::is_same_v<T, Records>) {
    value = Records();
    value.AddBytes("records-" + std::to_string(seed));
  } else if constexpr (IsOptional<T>::value) {
    typename T::value_type inner{};
    FillValue(inner, def.has_value() ? *def : typename T::value_type{}, seed);
    value = std::move(inner);
  } else if constexpr (IsVector<T>::value) {
    value.clear();
    for (int i = 0; i < 2; ++i) {
      typename T::value_type element{};
      FillValue(element, typename T::value_type{}, seed + i + 1);
      value.push_back(std::move(element));
    }
  } else {
    static_assert(Reflected<T>);
    FillStruct(value, seed);
  }
}

// Moving a disengaged std::optional<std::string> into another trips GCC 12's
// -Wmaybe-uninitialized (a false positive) at -O1: assign optionals member by member.
template <typename T>
void AssignDefault(T& field, const T& def) {
  if constexpr (IsOptional<T>::value) {
    if (def.has_value()) {
      field.emplace(*def);
    } else {
      field.reset();
    }
  } else {
    field = def;
  }
}

template <typename T>
void ClearValue(T& value, int16_t version);

template <typename T>
void ClearValue(T& value, int16_t version) {
  if constexpr (IsOptional<T>::value) {
    if (value.has_value()) ClearValue(*value, version);
  } else if constexpr (IsVector<T>::value) {
    for (auto& element : value) ClearValue(element, version);
  } else if constexpr (Reflected<T>) {
    T::VisitFields(value, [&](const FieldInfo& info, auto& field, auto&& def) {
      if (info.present(version)) {
        ClearValue(field, version);
      } else {
        AssignDefault(field, def);
      }
    });
  }
}

template <typename T>
void NullValue(T& value, int16_t version) {
  if constexpr (IsOptional<T>::value) {
    if (value.has_value()) NullValue(*value, version);
  } else if constexpr (IsVector<T>::value) {
    for (auto& element : value) NullValue(element, version);
  } else if constexpr (Reflected<T>) {
    T::VisitFields(value, [&](const FieldInfo& info, auto& field, auto&&) {
      using Field = std::remove_reference_t<decltype(field)>;
      if (!info.nullable(version)) {
        NullValue(field, version);
      } else if constexpr (IsOptional<Field>::value) {
        field = std::nullopt;
      } else if constexpr (std::is_same_v<Field, Records>) {
        field = Records::Null();
      }
    });
  }
}

template <typename T>
void Print(std::ostream& os, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    os << (value ? "true" : "false");
  } else if constexpr (std::is_same_v<T, int8_t>) {
    os << static_cast<int>(value);
  } else if constexpr (std::is_arithmetic_v<T>) {
    os << value;
  } else if constexpr (std::is_same_v<T, Uuid>) {
    os << absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(value.bytes.data()), value.bytes.size()));
  } else if constexpr (std::is_same_v<T, std::string>) {
    os << '"' << absl::CHexEscape(value) << '"';
  } else if constexpr (std::is_same_v<T, Records>) {
    if (value.is_null()) {
      os << "Records(null)";
    } else {
      os << "Records(" << value.size() << " bytes in " << value.parts().size() << " parts)";
    }
  } else if constexpr (IsOptional<T>::value) {
    if (value.has_value()) {
      Print(os, *value);
    } else {
      os << "null";
    }
  } else if constexpr (IsVector<T>::value) {
    os << "[";
    for (size_t i = 0; i < value.size(); ++i) {
      if (i > 0) os << ", ";
      Print(os, value[i]);
    }
    os << "]";
  } else {
    os << "{";
    bool first = true;
    T::VisitFields(value, [&](const FieldInfo& info, const auto& field, auto&&) {
      os << (first ? "" : ", ") << info.name << ": ";
      first = false;
      Print(os, field);
    });
    os << "}";
  }
}

}  // namespace testing_internal

// Sets every field, recursively, to a value that differs from its default (arrays get two
// elements, nullable fields a value). Different seeds give different values.
template <typename T>
void FillForTest(T& message, int seed) {
  testing_internal::FillStruct(message, seed);
}

// Resets, recursively, the fields absent at `version` to their defaults: what decoding the
// encoding of `message` at `version` yields.
template <typename T>
void ClearAbsentFields(T& message, int16_t version) {
  testing_internal::ClearValue(message, version);
}

// Sets, recursively, every field that may be null at `version` to null.
template <typename T>
void NullWherePossible(T& message, int16_t version) {
  testing_internal::NullValue(message, version);
}

template <typename T>
std::string DebugString(const T& message) {
  std::ostringstream os;
  testing_internal::Print(os, message);
  return os.str();
}

// gtest prints messages (and their nested structs) with this.
template <typename T>
requires testing_internal::Reflected<T>
void PrintTo(const T& message, std::ostream* os) { testing_internal::Print(*os, message); }

template <typename T>
std::string EncodeToString(const T& message, int16_t version) {
  OutputBuffer out;
  Writer writer(&out);
  message.Encode(writer, version);
  absl::StatusOr<std::string> flat = out.Flatten();
  return flat.ok() ? *flat : std::string();
}

// Bytes from hex digits; whitespace is ignored ("00 01 ff"). Odd or invalid input aborts.
inline std::string HexToBytes(absl::string_view hex) {
  std::string digits;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == '\t') continue;
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) std::abort();
    digits.push_back(c);
  }
  if (digits.size() % 2 != 0) std::abort();
  return absl::HexStringToBytes(digits);
}

inline std::string ToHex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

// Decodes `bytes` (which the result's Records view) and requires that it all be consumed.
template <typename T>
absl::StatusOr<T> DecodeFromString(std::string& bytes, int16_t version) {
  Reader reader(absl::MakeSpan(bytes));
  T message;
  absl::Status status = message.Decode(reader, version);
  if (!status.ok()) return status;
  if (reader.remaining() != 0) {
    return absl::InvalidArgumentError("decoding left " + std::to_string(reader.remaining()) +
                                      " bytes unread");
  }
  return message;
}

}  // namespace varve::protocol
