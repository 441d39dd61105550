// Fuzz target: reading database cells. The text decoders (PostgreSQL's and SQLite's
// dialects) and PostgreSQL's binary decoders, for every C++ type a typed query reads, either
// return a value or throw BadCell (reported to users as ConversionError): nothing else, and no
// memory error. A value read from PostgreSQL text writes back (to_value) as text that reads
// back to the same value.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <spindle/db/detail/binary.hpp>
#include <spindle/db/detail/text.hpp>
#include <string>
#include <vector>

namespace db = spindle::db;
namespace dd = spindle::db::detail;
using Time = std::chrono::system_clock::time_point;

namespace {

template <class T>
void text_case(const std::optional<std::string_view>& cell, dd::Dialect d, bool round_trip) {
  try {
    const T v = dd::decode<T>(cell, d);
    if (!round_trip) return;
    db::Value written;
    try {
      written = db::to_value(v);
    } catch (const std::out_of_range&) {
      return;  // a value no parameter can carry (a uint64 past INT64_MAX): to_value says so
    }
    const std::optional<std::string> text = db::to_text(written);
    const T again = dd::decode<T>(text ? std::optional<std::string_view>(*text) : std::nullopt, d);
    if (!(again == v)) {
      std::fprintf(stderr, "%s: [%.*s] reads back as something else from [%s]\n",
                   dd::type_name<T>().c_str(), static_cast<int>(cell ? cell->size() : 4),
                   cell ? cell->data() : "NULL", text ? text->c_str() : "NULL");
      std::abort();
    }
  } catch (const dd::BadCell&) {
  }
}

template <class T>
void binary_case(const std::optional<std::string_view>& cell, unsigned type) {
  try {
    if (dd::binary_accepts<T>(type)) (void)dd::decode_binary<T>(cell, type);
  } catch (const dd::BadCell&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const std::uint8_t which = in.ConsumeIntegral<std::uint8_t>();
  static constexpr unsigned kTypes[] = {
      dd::oid::kBool, dd::oid::kBytea, dd::oid::kName, dd::oid::kInt8, dd::oid::kInt2,
      dd::oid::kInt4, dd::oid::kText, dd::oid::kOid, dd::oid::kJson, dd::oid::kFloat4,
      dd::oid::kFloat8, dd::oid::kBpchar, dd::oid::kVarchar, dd::oid::kDate,
      dd::oid::kTimestamp, dd::oid::kTimestamptz, dd::oid::kUuid, dd::oid::kJsonb,
      1000, 1001, 1005, 1007, 1009, 1016, 1021, 1022, 1182, 1185, 1115};
  const unsigned type = kTypes[in.ConsumeIntegralInRange<std::size_t>(0, std::size(kTypes) - 1)];
  const bool null = in.ConsumeProbability<float>() < 0.02f;
  const std::string bytes = in.ConsumeRemainingBytesAsString();
  const std::optional<std::string_view> cell =
      null ? std::nullopt : std::optional<std::string_view>(bytes);
  const dd::Dialect d = (which & 1) ? dd::Dialect::sqlite : dd::Dialect::postgres;
  const bool pg = d == dd::Dialect::postgres;
  if (which & 2) {
    binary_case<bool>(cell, type);
    binary_case<std::int16_t>(cell, type);
    binary_case<std::int32_t>(cell, type);
    binary_case<std::int64_t>(cell, type);
    binary_case<std::uint32_t>(cell, type);
    binary_case<float>(cell, type);
    binary_case<double>(cell, type);
    binary_case<std::string>(cell, type);
    binary_case<db::Bytes>(cell, type);
    binary_case<Time>(cell, type);
    binary_case<std::chrono::sys_days>(cell, type);
    binary_case<std::optional<std::int64_t>>(cell, type);
    binary_case<std::vector<std::int32_t>>(cell, type);
    binary_case<std::vector<std::optional<std::string>>>(cell, type);
    binary_case<std::vector<std::vector<std::int64_t>>>(cell, type);
    binary_case<std::vector<double>>(cell, type);
    binary_case<std::vector<Time>>(cell, type);
  } else {
    text_case<bool>(cell, d, pg);
    text_case<std::int16_t>(cell, d, pg);
    text_case<std::int32_t>(cell, d, pg);
    text_case<std::int64_t>(cell, d, pg);
    text_case<std::uint64_t>(cell, d, pg);
    text_case<float>(cell, d, false);  // (NaN is not equal to itself)
    text_case<double>(cell, d, false);
    text_case<std::string>(cell, d, pg);
    text_case<db::Bytes>(cell, d, pg);
    text_case<Time>(cell, d, pg);
    text_case<std::chrono::sys_days>(cell, d, pg);
    text_case<std::optional<std::int32_t>>(cell, d, pg);
    text_case<std::vector<std::int64_t>>(cell, d, pg);
    text_case<std::vector<std::optional<std::string>>>(cell, d, pg);
    text_case<std::vector<std::vector<std::int32_t>>>(cell, d, pg);
    text_case<std::vector<bool>>(cell, d, pg);
  }
  return 0;
}
