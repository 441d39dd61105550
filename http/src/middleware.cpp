// The built-in middleware: access_log (a line per request), cors (the Fetch standard's CORS
// protocol, preflights answered here), gzip (zlib, negotiated by Accept-Encoding).
#include <spindle/http/middleware.hpp>

#include <strings.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace spindle::http {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Calls f(item) for each comma-separated item of a header value, trimmed, empty ones skipped.
template <class F>
void for_each_item(std::string_view list, F f) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

/// Adds `what` to the response's Vary field (once).
void vary(Response& res, std::string_view what) {
  const auto it = res.find(field::vary);
  if (it == res.end()) {
    res.set(field::vary, what);
    return;
  }
  std::string value(it->value());
  bool present = false;
  for_each_item(value, [&](std::string_view v) {
    present = present || (v.size() == what.size() && ::strncasecmp(v.data(), what.data(), v.size()) == 0);
  });
  if (!present) res.set(field::vary, value + ", " + std::string(what));
}

bool contains(const std::vector<std::string>& list, std::string_view s, bool case_blind) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& x) {
    return x.size() == s.size() &&
           (case_blind ? ::strncasecmp(x.data(), s.data(), s.size()) == 0 : x == s);
  });
}

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& x : list) out += (out.empty() ? "" : ", ") + x;
  return out;
}

}  // namespace

Middleware access_log(std::function<void(std::string_view line)> sink) {
  if (!sink) {
    sink = [](std::string_view line) {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fflush(stdout);
    };
  }
  return [sink = std::move(sink)](Request& req, Next& next) -> Response {
    const auto start = std::chrono::steady_clock::now();
    const auto log = [&](unsigned code, const std::string& size) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      const auto remote = req.remote_address();
      char took[32];
      std::snprintf(took, sizeof took, "%.2fms", ms);
      std::string line = (remote ? remote->to_string() : std::string("testclient")) + " - \"" +
                         std::string(req.method_string()) + " " + std::string(req.target()) +
                         " HTTP/" + std::to_string(req.version() / 10) + "." +
                         std::to_string(req.version() % 10) + "\" " + std::to_string(code) + " " +
                         size + " " + took + "\n";
      sink(line);
    };
    try {
      Response res = next(req);
      log(res.result_int(), res.chunked() ? "-" : std::to_string(res.body().size()));
      return res;
    } catch (const std::exception&) {
      log(500, "-");
      throw;
    }
  };
}

Middleware cors(CorsOptions options) {
  struct Policy {
    CorsOptions o;
    bool any_origin, any_header;
    std::string methods, headers, max_age, expose;
  };
  auto p = std::make_shared<Policy>();
  p->any_origin = contains(options.allow_origins, "*", false);
  p->any_header = contains(options.allow_headers, "*", false);
  p->methods = join(options.allow_methods);
  p->headers = join(options.allow_headers);
  p->max_age = std::to_string(options.max_age.count());
  p->expose = join(options.expose_headers);
  p->o = std::move(options);
  return [p](Request& req, Next& next) -> Response {
    const auto origin = req.header("Origin");
    if (!origin) return next(req);
    const bool allowed = p->any_origin || contains(p->o.allow_origins, *origin, false);
    // "*" cannot go with credentials: the origin is echoed then, and responses vary by it.
    const bool echo = !p->any_origin || p->o.allow_credentials;
    const auto requested = req.header("Access-Control-Request-Method");
    if (req.method() == verb::options && requested) {  // a preflight
      std::vector<std::string> refused;
      if (!allowed) refused.emplace_back("origin");
      if (!contains(p->o.allow_methods, *requested, false)) refused.emplace_back("method");
      std::string asked;
      if (const auto h = req.header("Access-Control-Request-Headers")) {
        bool ok = true;
        for_each_item(*h, [&](std::string_view name) {
          static const std::vector<std::string> safelisted{"accept", "accept-language",
                                                           "content-language", "content-type"};
          ok = ok && (p->any_header || contains(p->o.allow_headers, name, true) ||
                      contains(safelisted, lower(name), false));
        });
        if (!ok) refused.emplace_back("headers");
        asked = std::string(*h);
      }
      if (!refused.empty()) {
        Response r = text("Disallowed CORS " + join(refused), status::bad_request);
        vary(r, "Origin");
        return r;
      }
      Response r = text("OK");
      r.set("Access-Control-Allow-Origin", echo ? std::string(*origin) : std::string("*"));
      r.set("Access-Control-Allow-Methods", p->methods);
      const std::string headers = p->any_header ? asked : p->headers;
      if (!headers.empty()) r.set("Access-Control-Allow-Headers", headers);
      r.set("Access-Control-Max-Age", p->max_age);
      if (p->o.allow_credentials) r.set("Access-Control-Allow-Credentials", "true");
      vary(r, "Origin");
      return r;
    }
    Response res = next(req);
    if (allowed) {
      res.set("Access-Control-Allow-Origin", echo ? std::string(*origin) : std::string("*"));
      if (p->o.allow_credentials) res.set("Access-Control-Allow-Credentials", "true");
      if (!p->expose.empty()) res.set("Access-Control-Expose-Headers", p->expose);
    }
    if (echo) vary(res, "Origin");
    return res;
  };
}

namespace {

/// True if Accept-Encoding allows gzip: "gzip" (or "x-gzip"), or "*" unless gzip is refused
/// by name, with a q-value above zero.
bool accepts_gzip(std::optional<std::string_view> accept) {
  if (!accept) return false;
  std::optional<bool> named, any;
  for_each_item(*accept, [&](std::string_view item) {
    const std::string_view coding = trim(item.substr(0, item.find(';')));
    bool positive = true;
    if (const auto semi = item.find(';'); semi != std::string_view::npos) {
      const std::string_view param = trim(item.substr(semi + 1));
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        const std::string q(trim(param.substr(2)));
        positive = std::strtod(q.c_str(), nullptr) > 0;
      }
    }
    if (::strncasecmp(coding.data(), "gzip", coding.size()) == 0 && coding.size() == 4) named = positive;
    if (::strncasecmp(coding.data(), "x-gzip", coding.size()) == 0 && coding.size() == 6) named = positive;
    if (coding == "*") any = positive;
  });
  return named ? *named : any.value_or(false);
}

/// Content types whose bodies are compressed already (or gain nothing).
bool compressed_type(std::string_view type) {
  const std::string t = lower(type.substr(0, type.find(';')));
  if (t.starts_with("image/")) return t != "image/svg+xml" && t != "image/bmp";
  static constexpr std::string_view packed[] = {
      "application/zip",  "application/gzip",    "application/x-gzip", "application/zstd",
      "application/x-bzip2", "application/x-xz", "application/x-7z-compressed",
      "application/x-rar-compressed", "application/pdf", "font/woff", "font/woff2"};
  return t.starts_with("audio/") || t.starts_with("video/") ||
         std::find(std::begin(packed), std::end(packed), t) != std::end(packed);
}

/// body in the gzip format (zlib's deflate, level 6). Throws std::runtime_error.
std::string gzip_bytes(const std::string& body) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&z, body.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  z.avail_in = static_cast<uInt>(body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate failed");
  return out;
}

}  // namespace

Middleware gzip(std::size_t min_size) {
  return [min_size](Request& req, Next& next) -> Response {
    Response res = next(req);
    if (res.body().size() < min_size || res.chunked() ||
        res.result() == status::partial_content || res.find(field::content_encoding) != res.end() ||
        compressed_type(std::string_view(res[field::content_type])) ||
        res.body().size() > std::numeric_limits<uInt>::max()) {
      return res;
    }
    vary(res, "Accept-Encoding");  // this response depends on it, compressed or not
    if (!accepts_gzip(req.header("Accept-Encoding"))) return res;
    std::string packed = gzip_bytes(res.body());
    if (packed.size() >= res.body().size()) return res;
    res.body() = std::move(packed);
    res.set(field::content_encoding, "gzip");
    if (res.has_content_length()) res.content_length(res.body().size());
    if (const auto etag = res.find(field::etag); etag != res.end() && !etag->value().starts_with("W/")) {
      res.set(field::etag, "W/" + std::string(etag->value()));  // no longer byte-identical
    }
    return res;
  };
}

}  // namespace spindle::http
