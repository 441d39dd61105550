// The kernel's coarse monotonic clock (its tick, 1-4 ms, read in a few ns): for the times
// spindle-http keeps per request or per connection (idle timeouts, heartbeats), where a
// tick's precision is plenty and a clock read per request should cost nothing. Private.
#pragma once

#include <spindle/loop.hpp>

#include <time.h>

#include <string_view>

namespace spindle::http::detail {

inline Clock::time_point coarse_now() noexcept {
  timespec t;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return Clock::time_point(std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec));
}

/// The coarse clock's resolution: a wait measured on it may be short by up to this.
inline Clock::duration coarse_tick() noexcept {
  static const Clock::duration tick = [] {
    timespec r{0, 4'000'000};
    ::clock_getres(CLOCK_MONOTONIC_COARSE, &r);
    return Clock::duration(std::chrono::seconds(r.tv_sec) + std::chrono::nanoseconds(r.tv_nsec));
  }();
  return tick;
}

}  // namespace spindle::http::detail

namespace spindle::http::detail {

/// Now as an HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT"), formatted once a second per thread:
/// what every response's Date field says (RFC 9110 6.6.1).
inline std::string_view http_date_now() noexcept {
  struct Cache {
    time_t second = -1;
    char text[32] = {};
    std::size_t size = 0;
  };
  thread_local Cache cache;
  timespec t;
  ::clock_gettime(CLOCK_REALTIME_COARSE, &t);
  if (t.tv_sec != cache.second) {
    tm parts{};
    ::gmtime_r(&t.tv_sec, &parts);
    cache.size = ::strftime(cache.text, sizeof cache.text, "%a, %d %b %Y %H:%M:%S GMT", &parts);
    cache.second = t.tv_sec;
  }
  return {cache.text, cache.size};
}

}  // namespace spindle::http::detail
