// http::Request: the request a handler gets. Beast's request message, plus what routing found
// (path parameters) and typed access to parameters and the JSON body.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/http/detail/convert.hpp>
#include <spindle/http/detail/json_io.hpp>
#include <spindle/http/errors.hpp>
#include <spindle/io/address.hpp>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::http {

namespace beast_http = boost::beast::http;
using beast_http::field;
using beast_http::status;
using beast_http::verb;

namespace detail {
class Exchange;
}

/// The body of a request read as it arrives (a route with RouteOptions::stream_body), instead
/// of buffered whole before the handler runs.
class SPINDLE_API BodyReader {
 public:
  virtual ~BodyReader() = default;
  /// Up to buf.size() bytes of the body, parking until some arrive; 0 once it has all been
  /// read. Sends "100 Continue" first if the client asked for it. Cancellation: nothing read
  /// is lost. Throws HttpError (413 past the route's body limit, 408 when a piece takes
  /// longer than ServeOptions::body_timeout, 400 for a malformed chunked body),
  /// std::system_error when the connection fails.
  virtual std::size_t read_some(std::span<char> buf) = 0;
  /// Up to `max` bytes as a string; empty at the end of the body. Throws as read_some().
  std::string read(std::size_t max = 64 * 1024);
};

/// An HTTP request: Beast's `request<string_body>` (method(), target(), operator[](field),
/// body(), ...) with typed parameters. Text parameters convert to std::string, integers
/// (range-checked), floating point, bool (1/0, true/false, yes/no, on/off) and enums described
/// with BOOST_DESCRIBE_ENUM; a value that does not convert throws ValidationError (422) naming
/// where it was. asyncio users: starlette.requests.Request
class SPINDLE_API Request : public beast_http::request<beast_http::string_body> {
 public:
  using Message = beast_http::request<beast_http::string_body>;
  /// A path parameter of the matched route: its name in the pattern, its decoded value.
  struct Param {
    std::string_view name;
    std::string value;
  };

  Request() = default;
  Request(Message&& m) noexcept : Message(std::move(m)) {}  // NOLINT: Beast's parsers give these
  /// A request for `target` (HTTP/1.1) with `body`.
  Request(verb method, std::string_view target, std::string body = {});

  /// The path parameter `name` ({name} or {name...} in the route's pattern), percent-decoded,
  /// as T. Throws ValidationError (loc ["path", name]) if it does not convert,
  /// std::out_of_range if the route has no such parameter. FastAPI: a path parameter
  template <class T = std::string>
  T param(std::string_view name) const {
    return text_as<T>(path_param(name), "path", name);
  }
  /// The query parameter `name` (the first if repeated), decoded ('+' is a space), as T;
  /// std::optional<U> is empty when it is absent, std::vector<U> takes every occurrence.
  /// Throws ValidationError: absent (and not optional or a vector), or not convertible.
  /// FastAPI: a query parameter
  template <class T = std::string>
  T query(std::string_view name) const {
    return typed<T>(query_values(name), "query", name);
  }
  /// As query(name), with `fallback` when the parameter is absent.
  template <class T>
  T query(std::string_view name, T fallback) const {
    auto values = query_values(name);
    return values.empty() ? fallback : typed<T>(values, "query", name);
  }
  /// The value of the header field `name` (case-insensitive; the first if repeated).
  std::optional<std::string_view> header(std::string_view name) const;
  /// The header field `name` as T (std::optional<U>: empty when absent). Throws
  /// ValidationError (loc ["header", name]). FastAPI: Header()
  template <class T>
  T header(std::string_view name) const {
    std::vector<std::string> values;
    if (auto v = header(name)) values.emplace_back(*v);
    return typed<T>(values, "header", name);
  }
  /// The body bound to T: a struct described with BOOST_DESCRIBE_STRUCT (by member name;
  /// bases, nested structs, std::vector, std::optional and std::map members included), a
  /// vector, map or scalar, or boost::json::value. Non-optional members are required; keys
  /// not described are ignored. Throws HttpError 415 if the Content-Type is set and not
  /// JSON, ValidationError for an empty or malformed body or one that does not fit T (every
  /// mismatch listed, loc ["body", ...]). FastAPI: a pydantic model parameter
  template <class T>
  T json() const {
    T out{};
    std::vector<FieldError> errors;
    if (!bind_json(out, errors)) throw ValidationError(std::move(errors));
    return out;
  }
  /// Binds the body to out as json() does, appending what does not fit to errors; false if
  /// anything was appended. Throws HttpError 415.
  template <class T>
  bool bind_json(T& out, std::vector<FieldError>& errors) const {
    boost::json::value v;
    if (!parse_json_body(v, errors)) return false;
    detail::Loc loc{"body"};
    return detail::from_json(v, out, loc, errors);
  }

  /// The target's path (before any '?'), still percent-encoded.
  std::string_view path() const noexcept;
  /// The pattern of the route that matched ("/users/{id}"), empty before routing.
  std::string_view route() const noexcept { return route_; }
  /// The matched route's path parameters, in pattern order.
  const std::vector<Param>& path_params() const noexcept { return params_; }
  /// The client's address; empty for a request made through TestClient.
  std::optional<io::Address> remote_address() const;
  /// The body as it arrives, for a route declared with RouteOptions::stream_body. Throws
  /// std::logic_error for any other route (its body is in body()).
  BodyReader& body_stream();

  /// Every value of the query parameter `name`, decoded. Throws HttpError 400 if the
  /// query string is malformed.
  std::vector<std::string> query_values(std::string_view name) const;

  // For the router and the server: where the matched route and its parameters are recorded,
  // and the server's side of this exchange (streams, the connection).
  void set_route(std::string_view pattern, std::vector<Param> params) {
    route_ = pattern;
    params_ = std::move(params);
  }
  detail::Exchange* exchange() const noexcept { return exchange_; }
  void set_exchange(detail::Exchange* e) noexcept { exchange_ = e; }

 private:
  const std::string& path_param(std::string_view name) const;
  bool parse_json_body(boost::json::value& out, std::vector<FieldError>& errors) const;

  template <class T>
  static T text_as(std::string_view text, const char* where, std::string_view name) {
    T out{};
    FieldError e{{where, name}, {}, {}};
    if (!detail::from_text(text, out, e)) throw ValidationError({std::move(e)});
    return out;
  }
  template <class T>
  static T typed(const std::vector<std::string>& values, const char* where, std::string_view name) {
    if constexpr (detail::is_optional<T>::value) {
      if (values.empty()) return T{};
      return text_as<typename T::value_type>(values.front(), where, name);
    } else if constexpr (detail::is_vector<T>::value) {
      T out(values.size());
      std::vector<FieldError> errors;
      for (std::size_t i = 0; i < values.size(); ++i) {
        FieldError e{{where, name, i}, {}, {}};
        if (!detail::from_text(values[i], out[i], e)) errors.push_back(std::move(e));
      }
      if (!errors.empty()) throw ValidationError(std::move(errors));
      return out;
    } else {
      if (values.empty()) {
        throw ValidationError({FieldError{{where, name}, "field required", "value_error.missing"}});
      }
      return text_as<T>(values.front(), where, name);
    }
  }

  std::string_view route_;
  std::vector<Param> params_;
  detail::Exchange* exchange_ = nullptr;
};

}  // namespace spindle::http
