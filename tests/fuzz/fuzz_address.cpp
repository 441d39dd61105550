// Fuzz target: socket address parsing. Address::parse, ip() and unix_path() either accept the
// text or throw std::invalid_argument; what they accept prints to a form that parses back to
// the same address.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <spindle/io/address.hpp>
#include <stdexcept>
#include <string>

namespace {

void round_trips(const spindle::io::Address& a, const char* how) {
  const std::string text = a.to_string();
  const spindle::io::Address again = spindle::io::Address::parse(text);
  if (!(again == a)) {
    std::fprintf(stderr, "%s: %s does not parse back to itself\n", how, text.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const auto port = in.ConsumeIntegral<std::uint16_t>();
  const std::string text = in.ConsumeRemainingBytesAsString();
  try {
    round_trips(spindle::io::Address::parse(text), "parse");
  } catch (const std::invalid_argument&) {
  }
  try {
    round_trips(spindle::io::Address::ip(text, port), "ip");
  } catch (const std::invalid_argument&) {
  }
  try {
    round_trips(spindle::io::Address::unix_path(text), "unix_path");
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
