// The errors a web handler throws to answer with a status (HttpError, ValidationError), and
// the one a request body's reader throws when the client goes away (ClientDisconnected).
#pragma once

#include <spindle/detail/config.hpp>

#include <boost/beast/http/status.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <concepts>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace spindle::http {

/// Header fields as name/value pairs, in order.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// Thrown from anywhere in a Router handler (at any depth of the calls it makes) to answer
/// with `code` and the JSON body {"detail": detail}; `detail` defaults to the status's reason
/// phrase ("Not Found"), `headers` are added to the response. Outside a Router, serve() treats
/// it as any other exception (500). asyncio users: FastAPI's HTTPException
class SPINDLE_API HttpError : public std::runtime_error {
 public:
  HttpError(boost::beast::http::status code, boost::json::value detail = nullptr,
            Headers headers = {});
  /// With a text detail.
  template <class S>
    requires std::same_as<std::remove_cvref_t<S>, std::string>
  HttpError(boost::beast::http::status code, S&& detail, Headers headers = {})
      : HttpError(code, boost::json::value(std::string_view(detail)), std::move(headers)) {}
  template <std::size_t N>
  HttpError(boost::beast::http::status code, const char (&detail)[N], Headers headers = {})
      : HttpError(code, boost::json::value(detail), std::move(headers)) {}
  boost::beast::http::status code() const noexcept { return code_; }
  const boost::json::value& detail() const noexcept { return detail_; }
  const Headers& headers() const noexcept { return headers_; }

 private:
  boost::beast::http::status code_;
  boost::json::value detail_;
  Headers headers_;
};

/// Thrown by a request's body_stream() reads when the client closes or resets the connection
/// before the body's end. A handler may let it pass: the server then answers 400 if the
/// client still listens, closes the connection, and does not report it as a handler failure
/// (it is the client's doing). A std::system_error (ECONNRESET), so code that catches those
/// keeps working. Starlette: ClientDisconnect
class SPINDLE_API ClientDisconnected : public std::system_error {
 public:
  explicit ClientDisconnected(const std::string& what);
};

/// One reason a request was refused, in FastAPI's shape: where (`loc`, e.g. ["query",
/// "limit"] or ["body", "items", 2, "price"]), what (`msg`) and its kind (`type`, pydantic's
/// names: "value_error.missing", "type_error.integer", ...).
struct FieldError {
  boost::json::array loc;
  std::string msg;
  std::string type;
};

/// A request whose parameters or body do not fit the types asked for: 422 with
/// {"detail": [{"loc": [...], "msg": "...", "type": "..."}, ...]}, every problem listed.
/// asyncio users: FastAPI's RequestValidationError
class SPINDLE_API ValidationError : public HttpError {
 public:
  explicit ValidationError(std::vector<FieldError> errors);
  const std::vector<FieldError>& errors() const noexcept { return errors_; }

 private:
  std::vector<FieldError> errors_;
};

}  // namespace spindle::http
