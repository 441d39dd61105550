// Fuzz target: Stream's buffered reads over a socketpair, the input written in pieces the
// fuzzer chooses. Every read is checked against a model of the byte sequence: read_until,
// read_line, read_exactly, read and read_some return exactly the next bytes they promise,
// IncompleteReadError carries exactly what was left, LimitOverrunError consumes nothing and
// only happens when the limit holds no separator.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <spindle/spindle.hpp>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const char* what, const std::string& got, const std::string& want) {
  std::fprintf(stderr, "%s: got %zu bytes [%s], want %zu bytes [%s]\n", what, got.size(),
               got.c_str(), want.size(), want.c_str());
  std::abort();
}

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "%s\n", what);
    std::abort();
  }
}

enum class Op : std::uint8_t { Until, Line, Exactly, Read, Some, kMaxValue = Some };

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  spindle::io::StreamOptions options;
  options.limit = in.ConsumeIntegralInRange<std::size_t>(1, 96);
  std::vector<std::size_t> pieces(in.ConsumeIntegralInRange<std::size_t>(1, 8));
  for (auto& p : pieces) p = in.ConsumeIntegralInRange<std::size_t>(0, 64);
  struct Step {
    Op op;
    std::size_t n;
    std::string sep;
  };
  std::vector<Step> steps(in.ConsumeIntegralInRange<std::size_t>(1, 24));
  for (auto& s : steps) {
    s.op = in.ConsumeEnum<Op>();
    s.n = in.ConsumeIntegralInRange<std::size_t>(0, 80);
    s.sep = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<std::size_t>(1, 3));
    if (s.sep.empty()) s.sep = "\n";
  }
  const std::string payload = in.ConsumeRemainingBytesAsString();

  spindle::run([&] {
    int fds[2];
    expect(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
    spindle::io::Stream writer(spindle::io::Socket::adopt(fds[0]));
    spindle::io::Stream reader(spindle::io::Socket::adopt(fds[1]), options);
    auto feed = spindle::spawn([&] {
      std::size_t at = 0;
      for (std::size_t i = 0; at < payload.size(); ++i) {
        const std::size_t n = std::max<std::size_t>(1, pieces[i % pieces.size()]);
        writer.write(std::string_view(payload).substr(at, n));
        writer.drain();
        at += std::min(n, payload.size() - at);
        spindle::yield_now();
      }
      writer.write_eof();
    });
    std::size_t pos = 0;
    const auto rest = [&] { return payload.substr(pos); };
    for (const Step& s : steps) {
      switch (s.op) {
        case Op::Until:
        case Op::Line: {
          const std::string sep = s.op == Op::Line ? "\n" : s.sep;
          const std::size_t found = payload.find(sep, pos);
          try {
            const std::string got = s.op == Op::Line ? reader.read_line() : reader.read_until(sep);
            if (s.op == Op::Line && found == std::string::npos) {
              if (got != rest()) fail("read_line at the end", got, rest());
            } else {
              expect(found != std::string::npos, "read_until returned without a separator");
              const std::string want = payload.substr(pos, found + sep.size() - pos);
              if (got != want) fail("read_until", got, want);
            }
            pos += got.size();
          } catch (const spindle::IncompleteReadError& e) {
            expect(s.op == Op::Until && found == std::string::npos, "IncompleteReadError with a separator to come");
            if (e.partial() != rest()) fail("IncompleteReadError's partial", e.partial(), rest());
            pos = payload.size();
          } catch (const spindle::LimitOverrunError&) {
            // Nothing consumed; the limit's worth of bytes holds no whole separator.
            expect(found == std::string::npos || found + sep.size() - pos > options.limit,
                   "LimitOverrunError though the separator is within the limit");
          }
          break;
        }
        case Op::Exactly:
          try {
            const std::string got = reader.read_exactly(s.n);
            if (got != payload.substr(pos, s.n)) fail("read_exactly", got, payload.substr(pos, s.n));
            expect(pos + s.n <= payload.size(), "read_exactly past the end");
            pos += s.n;
          } catch (const spindle::IncompleteReadError& e) {
            expect(pos + s.n > payload.size(), "IncompleteReadError with enough bytes to come");
            if (e.partial() != rest()) fail("read_exactly's partial", e.partial(), rest());
            pos = payload.size();
          }
          break;
        case Op::Read:
        case Op::Some: {
          const std::size_t max = std::max<std::size_t>(1, s.n);
          std::string got;
          if (s.op == Op::Read) {
            got = reader.read(max);
          } else {
            got.resize(max);
            got.resize(reader.read_some(std::span<char>(got)));
          }
          expect(got.size() <= max, "read returned more than asked");
          expect(!got.empty() || pos == payload.size(), "an empty read before the end");
          if (got != payload.substr(pos, got.size())) fail("read", got, payload.substr(pos, got.size()));
          pos += got.size();
          break;
        }
      }
    }
    // Whatever is left arrives intact.
    std::string tail;
    for (std::string part = reader.read(); !part.empty(); part = reader.read()) tail += part;
    if (tail != rest()) fail("the rest", tail, rest());
    expect(reader.at_eof(), "at_eof after the end");
    feed.join();
  });
  return 0;
}
