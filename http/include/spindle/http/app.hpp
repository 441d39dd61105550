// http::run_app(): serve a Router on every core until SIGINT or SIGTERM.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/http/router.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

namespace spindle::http {

/// How run_app() serves.
struct AppOptions {
  /// Passed to serve() on every loop (reuse_port is set when there are several).
  ServeOptions serve{};
  /// Called on loop 0 once every loop listens, with the address; default: one line on
  /// stderr, "spindle: serving http://127.0.0.1:8000 on 2 loops".
  std::function<void(const io::Address& address, unsigned loops)> on_listening{};
  /// After SIGINT/SIGTERM, how long requests in flight (and streams) may take to finish before
  /// they are cancelled.
  Clock::duration shutdown_timeout = std::chrono::seconds(10);
};

/// Serves `app` on host:port from `threads` loops (run_threads; 0: one per CPU), each with a
/// server of its own on the shared port (SO_REUSEPORT), until SIGINT or SIGTERM: then every
/// server stops accepting, requests in flight finish (within options.shutdown_timeout), the
/// shutdown hooks run on every loop, and run_app returns. The startup hooks run on every loop
/// (in a task of that loop) before it serves: per-loop resources (a pg::Pool) belong there,
/// indexed by spindle::current_loop_index(). Call it from main, outside any loop; SIGINT and
/// SIGTERM are blocked meanwhile and restored after. Throws std::system_error (bind, listen),
/// what a startup hook throws, std::logic_error inside a loop.
/// asyncio users: uvicorn.run(app, host=, port=, workers=), aiohttp's web.run_app
SPINDLE_API void run_app(Router app, std::string_view host, std::uint16_t port,
                         unsigned threads = 1, AppOptions options = {});

}  // namespace spindle::http
