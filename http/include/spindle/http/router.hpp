// http::Router: a web application. Routes with path parameters, handlers of typed inputs
// and outputs, middleware, error mapping, static files, WebSockets and an OpenAPI document;
// a Router is what http::serve() (or run_app(), or a TestClient) runs.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/http/detail/endpoint.hpp>
#include <spindle/http/server.hpp>
#include <spindle/http/websocket.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace spindle::http {

/// How a route behaves beyond its handler, and what the OpenAPI document says of it.
struct RouteOptions {
  /// The status of what the handler returns (default 200, or 204 for a handler returning
  /// void); a returned Response keeps its own. FastAPI: status_code=
  std::optional<status> status_code{};
  /// OpenAPI: the operation's summary, description, tags and operationId (default: the
  /// method and the path, "get_users__id_").
  std::string summary{};
  std::string description{};
  std::vector<std::string> tags{};
  std::string operation_id{};
  /// False: the route is left out of the OpenAPI document.
  bool include_in_schema = true;
  /// The handler runs as soon as the request header is in; it reads the body as it arrives
  /// through req.body_stream() (req.body() stays empty). What it leaves unread is discarded.
  bool stream_body = false;
  /// This route's largest request body (default: ServeOptions::body_limit): larger gets 413.
  std::optional<std::uint64_t> body_limit{};
};

class Next;
/// Runs around the handlers: gets the request and `next` (the rest of the chain), may
/// change the request, call next(req) (or not: short-circuit) and change its response.
/// Middleware runs for every request of the router it was added to, in the order added
/// (the first added is the outermost), unmatched routes included. Shared by the loops of
/// run_app(): it must be safe to call from several threads if it keeps state.
/// asyncio users: Starlette's BaseHTTPMiddleware, aiohttp's @web.middleware
using Middleware = std::function<Response(Request&, Next&)>;

/// The rest of the middleware chain, ending with the route's handler.
class SPINDLE_API Next {
 public:
  /// Runs the rest of the chain for req and returns its response. An exception a router's
  /// error handlers map (HttpError, on_error types) comes back as its response, so every
  /// middleware sees a response; any other exception passes through.
  Response operator()(Request& req);

  using Terminal = Response (*)(const void* context, Request& req);
  using Mapper = std::optional<Response> (*)(const void* context, const std::exception_ptr& e,
                                             Request& req);
  Next(const Middleware* first, const Middleware* last, Terminal terminal, Mapper mapper,
       const void* context) noexcept
      : first_(first), last_(last), terminal_(terminal), mapper_(mapper), context_(context) {}

 private:
  const Middleware* first_;
  const Middleware* last_;
  Terminal terminal_;
  Mapper mapper_;
  const void* context_;
};

/// How static_files() serves a directory.
struct StaticOptions {
  /// Served for a request naming a directory (with a trailing slash); empty: 404.
  std::string index = "index.html";
  /// Files up to this size are read whole on the thread pool; larger ones are sent in
  /// pieces as they are read.
  std::size_t max_buffered = 1024 * 1024;
  /// Sent as Cache-Control when set ("public, max-age=3600").
  std::string cache_control{};
};

namespace detail {
struct RouterState;
using ErrorHandler = std::function<std::optional<Response>(const std::exception_ptr&, Request&)>;
}  // namespace detail

/// A web application: routes from (method, pattern) to handlers. Patterns are paths whose
/// segments may be parameters, `/users/{id}/posts/{post}`, the last one a catch-all for the
/// rest of the path, `/files/{path...}`. Matching walks a trie of segments (a literal segment
/// wins over a parameter, a parameter over a catch-all); an unknown path gets 404, a known one
/// with another method 405 with Allow (both {"detail": ...} as JSON), HEAD runs the GET
/// handler without sending its body, OPTIONS answers 204 with Allow, and a path that only
/// matches with (or without) a trailing slash is redirected (307) to that form.
///
/// A handler is a function of typed inputs: each argument is bound by its type, Request& to
/// the request, a text type (std::string, integers, floating point, bool, described enums) to
/// the next path parameter in pattern order, Query<S> to the query string, and any other type
/// (a described struct, a vector, boost::json::value, ...) to the JSON body. Whatever does not
/// bind is answered 422, every problem listed. It returns a Response (sent as it is), text
/// (text/plain), void (204) or any value (JSON: described structs by member name).
///
/// A Router is a handle: copies share one application. Routes are fixed once it serves
/// (serve, run_app, TestClient): adding one then throws std::logic_error.
/// asyncio users: FastAPI's app (APIRouter), Starlette's Router, aiohttp's web.Application
class SPINDLE_API Router {
 public:
  Router();

  /// Adds a route for GET (and so HEAD) on `pattern`. Throws std::invalid_argument for a
  /// malformed pattern (naming it), a route already there, a parameter named differently
  /// from the one at the same place in another pattern, or a handler whose typed path
  /// arguments do not match the pattern's parameters in number. FastAPI: @app.get(pattern)
  template <class F>
  Router& get(std::string_view pattern, F handler, RouteOptions options = {}) {
    return route(verb::get, pattern, std::move(handler), std::move(options));
  }
  /// As get(), for POST.
  template <class F>
  Router& post(std::string_view pattern, F handler, RouteOptions options = {}) {
    return route(verb::post, pattern, std::move(handler), std::move(options));
  }
  /// As get(), for PUT.
  template <class F>
  Router& put(std::string_view pattern, F handler, RouteOptions options = {}) {
    return route(verb::put, pattern, std::move(handler), std::move(options));
  }
  /// As get(), for PATCH.
  template <class F>
  Router& patch(std::string_view pattern, F handler, RouteOptions options = {}) {
    return route(verb::patch, pattern, std::move(handler), std::move(options));
  }
  /// As get(), for DELETE (`delete` is a C++ keyword).
  template <class F>
  Router& del(std::string_view pattern, F handler, RouteOptions options = {}) {
    return route(verb::delete_, pattern, std::move(handler), std::move(options));
  }
  /// As get(), for any method. FastAPI: @app.api_route(pattern, methods=[...])
  template <class F>
  Router& route(verb method, std::string_view pattern, F handler, RouteOptions options = {}) {
    const auto code = options.status_code;
    return add_route(method, pattern, detail::make_endpoint(std::move(handler), code),
                     std::move(options));
  }
  /// A WebSocket endpoint: a GET on `pattern` that upgrades, then fn(ws, req) (or fn(ws))
  /// talks over it; the connection closes when fn returns. WebSocketClosed leaving fn (the
  /// client closed) ends it quietly. A plain GET there gets 426. Throws as get().
  /// FastAPI: @app.websocket(pattern)
  template <class F>
  Router& websocket(std::string_view pattern, F fn, WebSocketOptions options = {}) {
    if constexpr (std::is_invocable_v<F&, WebSocket&, Request&>) {
      return add_websocket(pattern, std::move(fn), options);
    } else {
      return add_websocket(
          pattern, [fn = std::move(fn)](WebSocket& ws, Request&) mutable { fn(ws); }, options);
    }
  }
  /// Adds every route of `sub` under `prefix` ("/api" + "/users" is "/api/users"), wrapped in
  /// sub's middleware and error handlers; sub's startup and shutdown hooks join this one's.
  /// Routes added to sub later are not seen. Throws as get(). FastAPI: app.include_router
  Router& mount(std::string_view prefix, const Router& sub);
  /// Adds middleware around every request (see Middleware). FastAPI: app.middleware("http")
  Router& use(Middleware middleware);
  /// Serves the files under `directory` at `prefix`/...: Content-Type by extension, ETag and
  /// Last-Modified with 304 for conditional requests, single byte ranges (206, 416),
  /// `options.index` for a directory (a directory without its trailing slash is redirected).
  /// No request reaches outside `directory`: `..`, encoded dots, NUL and symbolic links that
  /// lead out all get 404. Opening, stat and reads run on the thread pool. Throws
  /// std::system_error if `directory` cannot be opened. Starlette: StaticFiles
  Router& static_files(std::string_view prefix, const std::string& directory,
                       StaticOptions options = {});
  /// Maps exceptions of type E (and types derived from it) thrown by this router's handlers
  /// and middleware to the response fn(e, req) (or fn(e)) returns; handlers are tried in the
  /// order added, then HttpError's and ValidationError's own. FastAPI: @app.exception_handler
  template <class E, class F>
  Router& on_error(F fn) {
    return add_error_handler(
        [fn = std::move(fn)](const std::exception_ptr& ep, Request& req) -> std::optional<Response> {
          try {
            std::rethrow_exception(ep);
          } catch (const E& e) {
            if constexpr (std::is_invocable_v<F&, const E&, Request&>) {
              return detail::to_response(fn(e, req), std::nullopt);
            } else {
              return detail::to_response(fn(e), std::nullopt);
            }
          } catch (...) {
            return std::nullopt;
          }
        });
  }
  /// Serves an OpenAPI 3.1 document of this router's routes at `path`: their parameters,
  /// request bodies and responses, with a JSON Schema component for every described struct
  /// and enum they use. FastAPI: app.openapi_url
  Router& openapi(std::string path = "/openapi.json", std::string title = "spindle",
                  std::string version = "0.1.0");
  /// The OpenAPI document (whether served or not).
  boost::json::value openapi_document() const;
  /// Runs fn when the application starts (startup(): run_app runs it on every loop before
  /// serving, TestClient when constructed). FastAPI: @app.on_event("startup")
  Router& on_startup(std::function<void()> fn);
  /// Runs fn when the application stops (shutdown()). FastAPI: @app.on_event("shutdown")
  Router& on_shutdown(std::function<void()> fn);
  /// Runs the startup hooks in order, in this task. Throws what a hook throws.
  void startup();
  /// Runs the shutdown hooks in order, in this task; every hook runs, the first exception is
  /// rethrown after.
  void shutdown();

  /// Fixes the routes (serve(), run_app() and TestClient do it): adding a route, middleware
  /// or error handler later throws std::logic_error. The OpenAPI document is built now.
  void freeze();

  /// Answers one request: routing, middleware, the handler, error mapping. An exception no
  /// handler maps propagates (serve() answers it 500 and reports it).
  Response operator()(Request& req) const;
  /// True if the route for req's header reads its body as a stream; sets *limit to the
  /// route's body limit when it has one. For serve().
  bool streams_body(const Request& req, std::optional<std::uint64_t>* limit) const;
  /// True if some route streams its body or has a body limit of its own. For serve().
  bool has_body_options() const noexcept;

 private:
  Router& add_route(verb method, std::string_view pattern, detail::Endpoint endpoint,
                    RouteOptions options);
  Router& add_websocket(std::string_view pattern,
                        std::function<void(WebSocket&, Request&)> fn, WebSocketOptions options);
  Router& add_error_handler(detail::ErrorHandler handler);
  std::shared_ptr<detail::RouterState> s_;
};

/// serve() for an application: as serve(Handler, ...), plus streamed request bodies and
/// per-route body limits. The router's startup/shutdown hooks are the caller's to run (or
/// use run_app()).
SPINDLE_API Server serve(Router app, std::string_view host, std::uint16_t port,
                         ServeOptions options = {});

/// serve_connection() for an application: one connection already open, served in the calling
/// task as serve(app, ...) serves each of its own. Throws as serve_connection(Handler, ...).
SPINDLE_API void serve_connection(io::Stream& stream, Router app, ServeOptions options = {});

}  // namespace spindle::http
