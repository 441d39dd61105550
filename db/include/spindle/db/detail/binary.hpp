// PostgreSQL's binary format, read: what the typed queries decode when every column they read
// has a binary form that gives exactly the value its text would (integers, float4/float8,
// bool, bytea, text-like types, uuid, timestamptz/timestamp, date, json/jsonb, and arrays of
// these). Binary<T>::accepts(oid) says whether a column of that type may come in binary for
// a T; decode() reads the cell, throwing BadCell as the text decoders do. All values are big
// endian (PostgreSQL's *send functions).
#pragma once

#include <spindle/db/detail/text.hpp>

#include <bit>
#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace spindle::db::detail {

// The built-in types' OIDs (pg_type.dat).
namespace oid {
inline constexpr unsigned kBool = 16, kBytea = 17, kName = 19, kInt8 = 20, kInt2 = 21,
                          kInt4 = 23, kText = 25, kOid = 26, kJson = 114, kFloat4 = 700,
                          kFloat8 = 701, kBpchar = 1042, kVarchar = 1043, kDate = 1082,
                          kTimestamp = 1114, kTimestamptz = 1184, kUuid = 2950, kJsonb = 3802;
}  // namespace oid

/// The element type of the array type `array` (0 if it is not one of the built-in arrays).
constexpr unsigned array_element(unsigned array) noexcept {
  constexpr unsigned kArrays[][2] = {
      {1000, oid::kBool},      {1001, oid::kBytea}, {1003, oid::kName},       {1005, oid::kInt2},
      {1007, oid::kInt4},      {1009, oid::kText},  {1014, oid::kBpchar},     {1015, oid::kVarchar},
      {1016, oid::kInt8},      {1021, oid::kFloat4}, {1022, oid::kFloat8},    {1028, oid::kOid},
      {1115, oid::kTimestamp}, {1182, oid::kDate},  {1185, oid::kTimestamptz}, {199, oid::kJson},
      {2951, oid::kUuid},      {3807, oid::kJsonb}};
  for (const auto& a : kArrays) {
    if (a[0] == array) return a[1];
  }
  return 0;
}

/// Reads big-endian integers off the front of a cell, refusing to read past its end.
class Wire {
 public:
  explicit Wire(std::string_view s) noexcept : s_(s) {}
  template <class I>
  I take() {
    if (s_.size() < sizeof(I)) bad("a binary value shorter than its type");
    std::make_unsigned_t<I> v = 0;
    for (std::size_t i = 0; i < sizeof(I); ++i) {
      v = static_cast<std::make_unsigned_t<I>>((v << 8) | static_cast<unsigned char>(s_[i]));
    }
    s_.remove_prefix(sizeof(I));
    return static_cast<I>(v);
  }
  std::string_view bytes(std::size_t n) {
    if (s_.size() < n) bad("a binary value shorter than its length");
    const std::string_view out = s_.substr(0, n);
    s_.remove_prefix(n);
    return out;
  }
  bool done() const noexcept { return s_.empty(); }
  std::size_t left() const noexcept { return s_.size(); }

 private:
  std::string_view s_;
};

/// A whole cell as one big-endian integer of exactly its size.
template <class I>
I whole(std::string_view s) {
  if (s.size() != sizeof(I)) bad("a binary value of " + std::to_string(s.size()) + " bytes, not " + std::to_string(sizeof(I)));
  Wire w(s);
  return w.take<I>();
}

/// An integer column's value (int2, int4, int8, oid), widened.
inline std::int64_t integer_of(std::string_view s, unsigned type) {
  switch (type) {
    case oid::kInt2: return whole<std::int16_t>(s);
    case oid::kInt4: return whole<std::int32_t>(s);
    case oid::kOid: return whole<std::uint32_t>(s);
    default: return whole<std::int64_t>(s);
  }
}

inline bool is_integer(unsigned type) noexcept {
  return type == oid::kInt2 || type == oid::kInt4 || type == oid::kInt8 || type == oid::kOid;
}

/// Text-like types whose binary form is their text.
inline bool is_text(unsigned type) noexcept {
  return type == oid::kText || type == oid::kVarchar || type == oid::kBpchar ||
         type == oid::kName || type == oid::kJson;
}

template <class T>
struct Binary {  // no binary form: such columns come as text
  static bool accepts(unsigned) noexcept { return false; }
  static T decode(std::string_view, unsigned) { bad("no binary form"); }
};

template <class T>
  requires std::integral<T> && (!std::same_as<T, bool>) && (!std::same_as<T, char>)
struct Binary<T> {
  static bool accepts(unsigned type) noexcept { return is_integer(type); }
  static T decode(std::string_view s, unsigned type) {
    const std::int64_t v = integer_of(s, type);
    if (!std::in_range<T>(v)) bad(quoted(std::to_string(v)) + " is out of its range");
    return static_cast<T>(v);
  }
};

template <std::floating_point T>
struct Binary<T> {  // float from float4, double from float8 (float4 widened would differ)
  static bool accepts(unsigned type) noexcept {
    return type == (sizeof(T) == sizeof(float) ? oid::kFloat4 : oid::kFloat8);
  }
  static T decode(std::string_view s, unsigned type) {
    if (type == oid::kFloat4) return std::bit_cast<float>(whole<std::uint32_t>(s));
    return static_cast<T>(std::bit_cast<double>(whole<std::uint64_t>(s)));
  }
};

template <>
struct Binary<bool> {
  static bool accepts(unsigned type) noexcept { return type == oid::kBool; }
  static bool decode(std::string_view s, unsigned) { return whole<std::uint8_t>(s) != 0; }
};

template <>
struct Binary<std::string> {  // text-like types as they are; integers, bool, uuid as printed
  static bool accepts(unsigned type) noexcept {
    return is_text(type) || type == oid::kJsonb || is_integer(type) || type == oid::kBool ||
           type == oid::kUuid;
  }
  static std::string decode(std::string_view s, unsigned type) {
    if (is_integer(type)) return std::to_string(integer_of(s, type));
    if (type == oid::kBool) return whole<std::uint8_t>(s) ? "t" : "f";
    if (type == oid::kUuid) {
      if (s.size() != 16) bad("a uuid of " + std::to_string(s.size()) + " bytes");
      static constexpr char kHex[] = "0123456789abcdef";
      std::string out;
      for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        const auto b = static_cast<unsigned char>(s[i]);
        out += kHex[b >> 4];
        out += kHex[b & 15];
      }
      return out;
    }
    if (type == oid::kJsonb) {  // a version byte (1), then the text
      if (s.empty() || s[0] != 1) bad("jsonb in an unknown binary version");
      s.remove_prefix(1);
    }
    return std::string(s);
  }
};

template <>
struct Binary<Bytes> {
  static bool accepts(unsigned type) noexcept { return type == oid::kBytea; }
  static Bytes decode(std::string_view s, unsigned) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return Bytes(p, p + s.size());
  }
};

/// PostgreSQL's epoch, 2000-01-01, in days since 1970-01-01.
inline constexpr std::int64_t kPgEpochDays = 10957;

template <>
struct Binary<std::chrono::system_clock::time_point> {  // microseconds since 2000-01-01 UTC
  using time_point = std::chrono::system_clock::time_point;
  static bool accepts(unsigned type) noexcept {
    return type == oid::kTimestamptz || type == oid::kTimestamp;
  }
  static time_point decode(std::string_view s, unsigned) {
    using namespace std::chrono;
    const std::int64_t us = whole<std::int64_t>(s);
    if (us == std::numeric_limits<std::int64_t>::max()) return time_point::max();
    if (us == std::numeric_limits<std::int64_t>::min()) return time_point::min();
    constexpr std::int64_t kLimit = duration_cast<seconds>(time_point::duration::max()).count() - 1;
    const std::int64_t secs = us / 1'000'000 - (us % 1'000'000 < 0) + kPgEpochDays * 86400;
    if (secs > kLimit || secs < -kLimit) {
      bad("a timestamp outside the clock's range (years 1678 to 2261)");
    }
    return time_point(duration_cast<time_point::duration>(
        seconds(kPgEpochDays * 86400) + microseconds(us)));
  }
};

template <>
struct Binary<std::chrono::sys_days> {  // days since 2000-01-01
  static bool accepts(unsigned type) noexcept { return type == oid::kDate; }
  static std::chrono::sys_days decode(std::string_view s, unsigned) {
    const std::int32_t days = whole<std::int32_t>(s);
    if (days == std::numeric_limits<std::int32_t>::max()) return std::chrono::sys_days::max();
    if (days == std::numeric_limits<std::int32_t>::min()) return std::chrono::sys_days::min();
    return std::chrono::sys_days(std::chrono::days(kPgEpochDays + days));
  }
};

template <class T>
inline constexpr bool is_array = false;
template <class T>
inline constexpr bool is_array<std::vector<T>> = !std::same_as<T, std::byte>;

/// Whether elements of type `element` fill T, an array's element (or a nested level of it).
template <class T>
bool accepts_element(unsigned element) noexcept {
  if constexpr (is_optional<T>) {
    return accepts_element<typename T::value_type>(element);
  } else if constexpr (is_array<T>) {
    return accepts_element<typename T::value_type>(element);
  } else {
    return Binary<T>::accepts(element);
  }
}

/// Reads the elements of dimensions dims[d...] into out (T: a vector, nested once per
/// further dimension).
template <class T>
T read_elements(Wire& w, const std::vector<std::int32_t>& dims, std::size_t d, unsigned element) {
  T out;
  using E = typename T::value_type;
  out.reserve(static_cast<std::size_t>(dims[d]));
  for (std::int32_t k = 0; k < dims[d]; ++k) {
    if (d + 1 < dims.size()) {
      if constexpr (is_array<E>) {
        out.push_back(read_elements<E>(w, dims, d + 1, element));
      } else {
        bad("an array of " + std::to_string(dims.size()) + " dimensions read as one of fewer");
      }
      continue;
    }
    if constexpr (is_array<E>) {
      bad("an array of " + std::to_string(dims.size()) + " dimensions read as one of more");
    } else {
      const std::int32_t n = w.take<std::int32_t>();
      if constexpr (is_optional<E>) {
        if (n < 0) {
          out.emplace_back();
        } else {
          out.emplace_back(Binary<typename E::value_type>::decode(w.bytes(static_cast<std::size_t>(n)), element));
        }
      } else {
        if (n < 0) bad("an element of the array is NULL (use std::optional elements)");
        out.push_back(Binary<E>::decode(w.bytes(static_cast<std::size_t>(n)), element));
      }
    }
  }
  return out;
}

template <class T>
  requires is_array<std::vector<T>>
struct Binary<std::vector<T>> {  // ndim, flags, element type, (size, lower bound) per dim, elements
  static bool accepts(unsigned type) noexcept {
    const unsigned element = array_element(type);
    return element != 0 && accepts_element<T>(element);
  }
  static std::vector<T> decode(std::string_view s, unsigned) {
    Wire w(s);
    const std::int32_t ndim = w.take<std::int32_t>();
    w.take<std::int32_t>();  // has nulls
    const auto element = w.take<std::uint32_t>();
    if (ndim == 0) return {};  // '{}'
    if (ndim < 0 || ndim > 6) bad("an array of " + std::to_string(ndim) + " dimensions");
    std::vector<std::int32_t> dims;
    for (std::int32_t d = 0; d < ndim; ++d) {
      dims.push_back(w.take<std::int32_t>());
      w.take<std::int32_t>();  // lower bound
      if (dims.back() < 0) bad("an array dimension of negative size");
    }
    // Sizes come from the wire: before anything is allocated for them, the elements they
    // promise must fit in what is left (each takes at least its 4-byte length).
    std::size_t total = 1;
    for (const std::int32_t d : dims) {
      total *= static_cast<std::size_t>(d);
      if (total > w.left() / 4) bad("an array whose dimensions promise more elements than it holds");
    }
    if (total == 0) {  // a dimension of size 0: no elements
      if (!w.done()) bad("bytes after the array's elements");
      return {};
    }
    auto out = read_elements<std::vector<T>>(w, dims, 0, element);
    if (!w.done()) bad("bytes after the array's elements");
    return out;
  }
};

/// T from a binary cell of type `type` (nullopt for NULL): std::optional<U> takes NULL; any
/// other T rejects it.
template <class T>
T decode_binary(std::optional<std::string_view> bytes, unsigned type) {
  if constexpr (is_optional<T>) {
    if (!bytes) return std::nullopt;
    return Binary<typename T::value_type>::decode(*bytes, type);
  } else {
    if (!bytes) bad("it is NULL (read it as std::optional)");
    return Binary<T>::decode(*bytes, type);
  }
}

/// Whether a column of type `type` may come in binary for T.
template <class T>
bool binary_accepts(unsigned type) noexcept {
  if constexpr (is_optional<T>) {
    return Binary<typename T::value_type>::accepts(type);
  } else {
    return Binary<T>::accepts(type);
  }
}

}  // namespace spindle::db::detail
