// The connection an http::serve() handler is running for, so that accept_websocket() can
// take it over from inside the handler. Private to spindle-http.
#pragma once

#include <cstdint>

#include <spindle/context_var.hpp>
#include <spindle/loop.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/task.hpp>

#include <optional>

namespace spindle::http::detail {

struct Connection {
  Connection(io::Stream* s, AnyTask t) : stream(s), task(std::move(t)) {}
  io::Stream* stream;
  AnyTask task;           // the connection's task
  bool busy = false;      // between a request's first byte and its response
  bool upgraded = false;  // a WebSocket now: the server writes no response
  bool waiting = false;   // parked for the next request since idle_since (coarse clock)
  Clock::time_point idle_since;
  std::optional<TimerHandle> idle_timer;  // checks, now and then, how long it has waited
};

/// The connection of the handler running in this task (set by the server for each
/// connection task; null elsewhere).
ContextVar<Connection*>& current_connection();

/// What http::serve did on this thread's loop, for http::metrics(): plain counters, as
/// each loop has its own (read on the loop's thread through call_on).
struct ServerCounters {
  std::uint64_t connections_total = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t requests_total = 0;
  std::uint64_t responses[6] = {};  // by class: [1] 1xx ... [5] 5xx, [0] anything else
  void count_response(unsigned code) noexcept { ++responses[code >= 100 && code < 600 ? code / 100 : 0]; }
};
ServerCounters& server_counters() noexcept;

}  // namespace spindle::http::detail
