// http::metrics(): the runtime's and the server's counters for Prometheus.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/http/server.hpp>

#include <functional>
#include <string>

namespace spindle::http {

/// The text metrics() serves: spindle::stats() of every loop of the running group (labelled
/// loop="N"), each loop's http::serve counters (connections open and accepted, requests,
/// responses by status class), and the process's resident memory, open fds and CPU time, in
/// the Prometheus text exposition format 0.0.4. Visits the other loops with call_on, so call
/// it from a task. Throws std::logic_error outside a task; CancelledError.
SPINDLE_API std::string metrics_text();

/// A handler serving metrics_text() as text/plain; version=0.0.4 (what Prometheus scrapes),
/// for a Router or serve():
/// `app.get("/metrics", http::metrics())`. Throws nothing itself; the handler throws what
/// metrics_text() throws. prometheus_client: make_asgi_app()
SPINDLE_API std::function<Response(Request&)> metrics();

}  // namespace spindle::http
