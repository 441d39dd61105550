// Middleware that comes with spindle-http: access_log(), cors(), gzip(). Add with
// Router::use().
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/http/router.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::http {

/// Logs one line per request once its response is ready, uvicorn's way plus size and time:
/// `127.0.0.1:51234 - "GET /todos?limit=2 HTTP/1.1" 200 57 0.31ms`; a request that failed
/// with an exception is logged as 500 and the exception passes on. The line goes to `sink`
/// (default: stdout, a whole line per write).
SPINDLE_API Middleware access_log(std::function<void(std::string_view line)> sink = {});

/// Cross-origin resource sharing (the Fetch standard's CORS protocol).
struct CorsOptions {
  /// Origins allowed ("https://app.example"); "*" allows any.
  std::vector<std::string> allow_origins{"*"};
  /// Methods a preflight allows.
  std::vector<std::string> allow_methods{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
  /// Request headers a preflight allows; "*" allows whatever it asks for.
  std::vector<std::string> allow_headers{};
  /// Send Access-Control-Allow-Credentials (the origin is then echoed, never "*").
  bool allow_credentials = false;
  /// Response headers the page may read (Access-Control-Expose-Headers).
  std::vector<std::string> expose_headers{};
  /// How long a preflight answer may be cached.
  std::chrono::seconds max_age{600};
};

/// Answers CORS preflight requests (OPTIONS with Origin and Access-Control-Request-Method)
/// itself: 200 with the Access-Control-Allow-* fields, or 400 naming what is not allowed; adds
/// Access-Control-Allow-Origin (and Vary: Origin) to the responses of allowed origins. Requests
/// without Origin pass untouched. Starlette: CORSMiddleware
SPINDLE_API Middleware cors(CorsOptions options = {});

/// Compresses response bodies of at least `min_size` bytes with gzip (zlib) when the request's
/// Accept-Encoding allows it (q-values honoured), adding Content-Encoding and Vary; leaves
/// alone responses already encoded, partial (206), streamed, or of types that are compressed
/// already (images, audio, video, archives, fonts). A strong ETag becomes weak. Starlette:
/// GZipMiddleware
SPINDLE_API Middleware gzip(std::size_t min_size = 500);

}  // namespace spindle::http
