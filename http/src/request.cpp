// Request's non-template parts: the target's pieces through Boost.URL (the path, decoded
// query parameters), header lookup, the JSON body's parse with FastAPI's error shapes, and
// the errors handlers throw.
#include <spindle/http/request.hpp>

#include <cerrno>

#include <boost/beast/http/status.hpp>
#include <boost/json/parser.hpp>
#include <boost/url/parse.hpp>

#include <strings.h>

#include "exchange.hpp"

namespace spindle::http {

namespace {

std::string detail_text(const boost::json::value& detail) {
  if (const auto* s = detail.if_string()) return std::string(*s);
  return boost::json::serialize(detail);
}

}  // namespace

ClientDisconnected::ClientDisconnected(const std::string& what)
    : std::system_error(ECONNRESET, std::generic_category(), what) {}

HttpError::HttpError(boost::beast::http::status code, boost::json::value detail, Headers headers)
    : std::runtime_error(
          "HTTP " + std::to_string(static_cast<unsigned>(code)) + ": " +
          (detail.is_null() ? std::string(boost::beast::http::obsolete_reason(code))
                            : detail_text(detail))),
      code_(code),
      detail_(detail.is_null()
                  ? boost::json::value(std::string(boost::beast::http::obsolete_reason(code)))
                  : std::move(detail)),
      headers_(std::move(headers)) {}

namespace {
boost::json::value errors_json(const std::vector<FieldError>& errors) {
  boost::json::array out;
  for (const auto& e : errors) out.push_back({{"loc", e.loc}, {"msg", e.msg}, {"type", e.type}});
  return out;
}
}  // namespace

ValidationError::ValidationError(std::vector<FieldError> errors)
    : HttpError(boost::beast::http::status::unprocessable_entity, errors_json(errors)),
      errors_(std::move(errors)) {}

std::string BodyReader::read(std::size_t max) {
  std::string out(max, '\0');
  out.resize(read_some(std::span<char>(out)));
  return out;
}

Request::Request(verb method, std::string_view target, std::string body) : Message(method, target, 11) {
  this->body() = std::move(body);
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  const auto it = find(boost::beast::string_view(name.data(), name.size()));
  if (it == end()) return std::nullopt;
  return std::string_view(it->value().data(), it->value().size());
}

std::string_view Request::path() const noexcept {
  const std::string_view t(target().data(), target().size());
  return t.substr(0, t.find_first_of("?#"));
}

std::optional<io::Address> Request::remote_address() const {
  return exchange_ ? exchange_->remote : std::nullopt;
}

BodyReader& Request::body_stream() {
  if (!exchange_ || !exchange_->body) {
    throw std::logic_error(
        "Request::body_stream: this route reads its body whole (RouteOptions::stream_body is "
        "off); use body()");
  }
  return *exchange_->body;
}

const std::string& Request::path_param(std::string_view name) const {
  for (const Param& p : params_) {
    if (p.name == name) return p.value;
  }
  throw std::out_of_range("Request::param: the route " +
                          (route_.empty() ? std::string("(none)") : std::string(route_)) +
                          " has no path parameter '" + std::string(name) + "'");
}

std::vector<std::string> Request::query_values(std::string_view name) const {
  std::vector<std::string> out;
  const std::string_view t(target().data(), target().size());
  if (t.find('?') == std::string_view::npos) return out;
  // The whole target through Boost.URL: its parse_query alone (1.81) reads the last value
  // past the end of a string that is not NUL-terminated, as Beast's target is not.
  const auto u = !t.empty() && t.front() == '/' ? boost::urls::parse_origin_form(t)
                                                  : boost::urls::parse_absolute_uri(t);
  if (!u) throw HttpError(status::bad_request, "malformed request target");
  // Decoded with '+' as a space, as HTML forms and Python's parse_qs have it.
  for (const auto& p : u->params()) {
    if (p.key == name) out.push_back(p.value);
  }
  return out;
}

bool Request::parse_json_body(boost::json::value& out, std::vector<FieldError>& errors) const {
  if (const auto type = header("Content-Type")) {
    std::string_view media = type->substr(0, type->find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    const bool is_json =
        media.size() >= 16 && ::strncasecmp(media.data(), "application/", 12) == 0 &&
        ((::strncasecmp(media.data() + 12, "json", 4) == 0 && media.size() == 16) ||
          (media.size() > 17 && ::strncasecmp(media.data() + media.size() - 5, "+json", 5) == 0));
    if (!is_json) {
      throw HttpError(status::unsupported_media_type,
                      "expected a JSON body (Content-Type: application/json), got " +
                          std::string(*type));
    }
  }
  const std::string& text = body();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    errors.push_back(FieldError{{"body"}, "field required", "value_error.missing"});
    return false;
  }
  boost::json::parser p;
  boost::system::error_code ec;
  const std::size_t used = p.write_some(text.data(), text.size(), ec);
  if (!ec) {
    // The whole text must be the one value, trailing space allowed.
    if (text.find_first_not_of(" \t\r\n", used) != std::string::npos) ec = boost::json::error::extra_data;
  }
  if (ec) {
    errors.push_back(FieldError{{"body", used}, "JSON decode error: " + ec.message(),
                                "value_error.jsondecode"});
    return false;
  }
  out = p.release();
  return true;
}

}  // namespace spindle::http
