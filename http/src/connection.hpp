// The connection an http::serve() handler is running for, so that accept_websocket() can
// take it over from inside the handler. Private to spindle-http.
#pragma once

#include <spindle/context_var.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/task.hpp>

namespace spindle::http::detail {

struct Connection {
  io::Stream* stream;
  AnyTask task;           // the connection's task
  bool busy = false;      // between a request's first byte and its response
  bool upgraded = false;  // a WebSocket now: the server writes no response
};

/// The connection of the handler running in this task (set by the server for each
/// connection task; null elsewhere).
ContextVar<Connection*>& current_connection();

}  // namespace spindle::http::detail
