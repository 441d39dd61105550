// Router: patterns parsed into segments and kept in a trie (literal children sorted for
// binary search, one parameter child, one catch-all child per node), so a request costs one
// walk over its path's segments, backtracking only where a literal segment and a parameter
// both match. The request's target is checked and split with Boost.URL, each segment
// percent-decoded before matching (an encoded slash stays inside its segment).
//
// Errors become responses where they are thrown: around each route's handler and around each
// middleware (Next), so every middleware sees a response (CORS headers on a 404, an access
// log line for a 422). An exception nothing maps passes on to serve().
//
// The routes are fixed at the first request (freeze), after which the state is only read:
// run_app's loops share one Router.
#include <spindle/http/router.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "router_state.hpp"

namespace spindle::http {

Response Next::operator()(Request& req) {
  if (first_ == last_) return terminal_(context_, req);
  Next rest(first_ + 1, last_, terminal_, mapper_, context_);
  try {
    return (*first_)(req, rest);
  } catch (...) {  // thrown by this middleware: the one around it sees the response
    if (auto r = mapper_(context_, std::current_exception(), req)) return std::move(*r);
    throw;
  }
}

namespace detail {
namespace {

struct Segment {
  enum Kind { literal, param, catch_all } kind;
  std::string text;
};

[[noreturn]] void bad_pattern(std::string_view pattern, const std::string& why) {
  throw std::invalid_argument("http::Router: bad pattern '" + std::string(pattern) + "': " + why);
}

bool is_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

/// "/users/{id}/files/{path...}" → literal users, param id, literal files, catch-all path.
/// "/" has no segments; a trailing slash makes an empty last segment (as a path's has).
std::vector<Segment> parse_pattern(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') bad_pattern(pattern, "it must start with '/'");
  std::vector<Segment> out;
  if (pattern == "/") return out;
  for (std::size_t i = 1;;) {
    const std::size_t j = pattern.find('/', i);
    std::string_view seg = pattern.substr(i, j == std::string_view::npos ? j : j - i);
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      std::string_view name = seg.substr(1, seg.size() - 2);
      const bool rest = name.ends_with("...");
      if (rest) name.remove_suffix(3);
      if (!is_name(name)) bad_pattern(pattern, "'" + std::string(seg) + "' is not {name} or {name...}");
      if (rest && j != std::string_view::npos) bad_pattern(pattern, "{name...} must be the last segment");
      for (const Segment& s : out) {
        if (s.kind != Segment::literal && s.text == name) {
          bad_pattern(pattern, "the parameter '" + std::string(name) + "' appears twice");
        }
      }
      out.push_back({rest ? Segment::catch_all : Segment::param, std::string(name)});
    } else {
      if (seg.find_first_of("{}") != std::string_view::npos) {
        bad_pattern(pattern, "'" + std::string(seg) + "' mixes text and a parameter");
      }
      out.push_back({Segment::literal, std::string(seg)});
    }
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

/// Splits an encoded path as parse_pattern splits patterns, decoding the segments that hold
/// escapes into `arena` (reserved up front, so the views stay valid).
void split_path(std::string_view path, std::vector<std::string_view>& out, std::string& arena) {
  if (path.empty() || path == "/") return;
  arena.reserve(path.size());
  for (std::size_t i = path.front() == '/' ? 1 : 0;;) {
    const std::size_t j = path.find('/', i);
    std::string_view seg = path.substr(i, j == std::string_view::npos ? j : j - i);
    if (seg.find('%') != std::string_view::npos) {
      const std::size_t start = arena.size();
      // The target was checked by Boost.URL: its escapes are valid.
      arena += boost::urls::make_pct_string_view(seg)->decode();
      seg = std::string_view(arena).substr(start);
    }
    out.push_back(seg);
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
}

bool match_from(const Node& n, const std::vector<std::string_view>& segs, std::size_t i, Match& m) {
  if (i == segs.size()) {
    if (n.routes.empty()) return false;
    m.node = &n;
    return true;
  }
  const std::string_view seg = segs[i];
  const auto it = std::lower_bound(n.literals.begin(), n.literals.end(), seg,
                                   [](const auto& e, std::string_view s) { return e.first < s; });
  if (it != n.literals.end() && it->first == seg && match_from(*it->second, segs, i + 1, m)) {
    return true;
  }
  if (n.param && !seg.empty()) {
    m.values.emplace_back(seg);
    if (match_from(*n.param, segs, i + 1, m)) return true;
    m.values.pop_back();
  }
  if (n.catch_all && !n.catch_all->routes.empty()) {
    std::string rest(seg);
    for (std::size_t k = i + 1; k < segs.size(); ++k) rest.append("/").append(segs[k]);
    m.values.push_back(std::move(rest));
    m.node = n.catch_all.get();
    return true;
  }
  return false;
}

const Route* pick(const Node& n, verb method) {
  for (const Route* r : n.routes) {
    if (r->method == method) return r;
  }
  if (method == verb::head) return pick(n, verb::get);
  return nullptr;
}

/// "GET, HEAD, POST, OPTIONS": what a path answers.
std::string allowed(const Node& n) {
  static constexpr verb order[] = {verb::get, verb::head, verb::post, verb::put, verb::patch,
                                   verb::delete_};
  std::vector<verb> have;
  for (const Route* r : n.routes) have.push_back(r->method);
  if (std::count(have.begin(), have.end(), verb::get)) have.push_back(verb::head);
  std::string out;
  const auto add = [&](verb v) {
    out += out.empty() ? "" : ", ";
    out += std::string(beast_http::to_string(v));
  };
  for (verb v : order) {
    if (std::count(have.begin(), have.end(), v)) add(v);
  }
  for (verb v : have) {
    if (std::find(std::begin(order), std::end(order), v) == std::end(order) && v != verb::options) add(v);
  }
  add(verb::options);
  return out;
}

Response render(const HttpError& e) {
  std::string body = "{\"detail\":";
  write_json(body, e.detail());
  body += '}';
  Response r = json(std::move(body), e.code());
  for (const auto& [name, value] : e.headers()) r.insert(name, value);
  return r;
}

/// True for a target made only of characters an origin-form target may hold as they are,
/// without escapes ('%') or a fragment: valid as it stands, its segments need no decoding.
bool plain_origin_form(std::string_view target) {
  static constexpr auto table = [] {
    std::array<bool, 256> ok{};
    for (int c = 'a'; c <= 'z'; ++c) ok[static_cast<std::size_t>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c) ok[static_cast<std::size_t>(c)] = true;
    for (int c = '0'; c <= '9'; ++c) ok[static_cast<std::size_t>(c)] = true;
    for (char c : std::string_view("-._~!$&'()*+,;=:@/?")) ok[static_cast<unsigned char>(c)] = true;
    return ok;
  }();
  if (target.empty() || target.front() != '/') return false;
  for (const char c : target) {
    if (!table[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

/// What a request's target leads to.
struct Lookup {
  enum Outcome { found, no_path, no_method, bad_target, any_options } outcome = no_path;
  const Route* route = nullptr;
  Match match;
};

Lookup lookup(const RouterState& s, const Request& req, std::string* redirect) {
  Lookup l;
  const std::string_view target(req.target().data(), req.target().size());
  if (target == "*") {
    l.outcome = req.method() == verb::options ? Lookup::any_options : Lookup::bad_target;
    return l;
  }
  std::string_view path;
  if (plain_origin_form(target)) {  // the usual target: nothing to check or decode
    path = target.substr(0, target.find('?'));
  } else if (!target.empty() && target.front() == '/') {
    const auto u = boost::urls::parse_origin_form(target);
    if (!u) return l.outcome = Lookup::bad_target, l;
    path = u->encoded_path();
  } else {  // absolute-form ("http://host/path"), which servers must accept (RFC 9112 3.2.2)
    const auto u = boost::urls::parse_absolute_uri(target);
    if (!u) return l.outcome = Lookup::bad_target, l;
    path = u->encoded_path();
    if (path.empty()) path = "/";
  }
  std::string arena;
  std::vector<std::string_view> segs;
  split_path(path, segs, arena);
  if (!s.match(segs, l.match)) {
    if (redirect) {  // the same path with (or without) a trailing slash?
      Match other;
      std::vector<std::string_view> alt = segs;
      if (!alt.empty() && alt.back().empty()) {
        alt.pop_back();
      } else {
        alt.push_back({});
      }
      if (s.match(alt, other)) {
        *redirect = std::string(path.ends_with('/') ? path.substr(0, path.size() - 1) : path);
        if (path.ends_with('/') && redirect->empty()) *redirect = "/";
        if (!path.ends_with('/')) *redirect += '/';
        const auto q = target.find('?');
        if (q != std::string_view::npos) *redirect += target.substr(q);
      }
    }
    return l;
  }
  l.route = pick(*l.match.node, req.method());
  l.outcome = l.route ? Lookup::found : Lookup::no_method;
  return l;
}

Response run_route(const RouterState& s, const Route& r, Request& req) {
  try {
    return r.endpoint->call(req);
  } catch (...) {
    if (auto res = s.map_error(std::current_exception(), req, &r)) return std::move(*res);
    throw;
  }
}

struct RouteContext {
  const RouterState* state;
  const Route* route;
};

Response route_terminal(const void* context, Request& req) {
  const auto* c = static_cast<const RouteContext*>(context);
  return run_route(*c->state, *c->route, req);
}

std::optional<Response> route_mapper(const void* context, const std::exception_ptr& e,
                                     Request& req) {
  const auto* c = static_cast<const RouteContext*>(context);
  return c->state->map_error(e, req, c->route);
}

std::optional<Response> router_mapper(const void* context, const std::exception_ptr& e,
                                      Request& req) {
  return static_cast<const RouterState*>(context)->map_error(e, req, nullptr);
}

Response error_response(const RouterState& s, HttpError e, Request& req) {
  if (!s.errors.empty()) {
    if (auto r = s.map_error(std::make_exception_ptr(e), req, nullptr)) return std::move(*r);
  }
  return render(e);
}

/// The end of the router's own middleware chain: find the route and run it.
Response dispatch(const void* context, Request& req) {
  const auto& s = *static_cast<const RouterState*>(context);
  std::string redirect;
  Lookup l = lookup(s, req, &redirect);
  switch (l.outcome) {
    case Lookup::found:
      break;
    case Lookup::any_options: {
      Response r = response(status::no_content);
      r.set(field::allow, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
      return r;
    }
    case Lookup::bad_target:
      return error_response(s, HttpError(status::bad_request, "malformed request target"), req);
    case Lookup::no_path:
      if (!redirect.empty()) {
        Response r = response(status::temporary_redirect);
        r.set(field::location, redirect);
        return r;
      }
      return error_response(s, HttpError(status::not_found), req);
    case Lookup::no_method: {
      const std::string allow = allowed(*l.match.node);
      if (req.method() == verb::options) {
        Response r = response(status::no_content);
        r.set(field::allow, allow);
        return r;
      }
      return error_response(s, HttpError(status::method_not_allowed, nullptr, {{"Allow", allow}}),
                            req);
    }
  }
  const Route& r = *l.route;
  std::vector<Request::Param> params;
  params.reserve(l.match.values.size());
  for (std::size_t k = 0; k < l.match.values.size(); ++k) {
    params.push_back({r.param_names[k], std::move(l.match.values[k])});
  }
  req.set_route(r.pattern, std::move(params));
  if (r.middleware.empty()) return run_route(s, r, req);
  const RouteContext c{&s, &r};
  Next next(r.middleware.data(), r.middleware.data() + r.middleware.size(), &route_terminal,
            &route_mapper, &c);
  return next(req);
}

}  // namespace

void RouterState::add(std::shared_ptr<Route> route) {
  if (frozen.load(std::memory_order_acquire)) {
    throw std::logic_error("http::Router: routes are fixed once the router serves; " +
                           std::string(beast_http::to_string(route->method)) + " " +
                           route->pattern + " came too late");
  }
  const std::vector<Segment> segs = parse_pattern(route->pattern);
  route->param_names.clear();
  Node* n = &root;
  for (const Segment& seg : segs) {
    if (seg.kind == Segment::literal) {
      auto it = std::lower_bound(n->literals.begin(), n->literals.end(), seg.text,
                                 [](const auto& e, const std::string& s) { return e.first < s; });
      if (it == n->literals.end() || it->first != seg.text) {
        it = n->literals.emplace(it, seg.text, std::make_unique<Node>());
      }
      n = it->second.get();
      continue;
    }
    route->param_names.push_back(seg.text);
    auto& next = seg.kind == Segment::param ? n->param : n->catch_all;
    if (!next) next = std::make_unique<Node>();
    n = next.get();
  }
  route->catch_all = !segs.empty() && segs.back().kind == Segment::catch_all;
  const EndpointInfo& info = route->endpoint->info;
  if (info.typed_path && info.path_types.size() != route->param_names.size()) {
    throw std::invalid_argument(
        "http::Router: the handler for " + std::string(beast_http::to_string(route->method)) +
        " " + route->pattern + " takes " + std::to_string(info.path_types.size()) +
        " path parameter(s), the pattern has " + std::to_string(route->param_names.size()));
  }
  for (const Route* other : n->routes) {
    if (other->method == route->method) {
      throw std::invalid_argument("http::Router: " +
                                  std::string(beast_http::to_string(route->method)) + " " +
                                  route->pattern + " is routed already (as " + other->pattern + ")");
    }
  }
  n->routes.push_back(route.get());
  if (route->options.stream_body || route->options.body_limit) body_options = true;
  routes.push_back(std::move(route));
}

bool RouterState::match(const std::vector<std::string_view>& segments, Match& m) const {
  m.values.clear();
  return match_from(root, segments, 0, m);
}

std::optional<Response> RouterState::map_error(const std::exception_ptr& e, Request& req,
                                               const Route* route) const {
  if (route) {
    for (const ErrorHandler& h : route->errors) {
      if (auto r = h(e, req)) return r;
    }
  }
  for (const ErrorHandler& h : errors) {
    if (auto r = h(e, req)) return r;
  }
  try {
    std::rethrow_exception(e);
  } catch (const HttpError& x) {
    return render(x);
  } catch (...) {
  }
  return std::nullopt;
}

void RouterState::freeze() {
  if (frozen.load(std::memory_order_acquire)) return;
  std::call_once(freeze_once, [this] {
    if (openapi) {
      auto doc = std::make_shared<const std::string>(
          boost::json::serialize(openapi_document(*this, *openapi)));
      auto r = std::make_shared<Route>();
      r->method = verb::get;
      r->pattern = openapi->path;
      r->endpoint = std::make_shared<Endpoint>(
          make_endpoint([doc](Request&) { return json(*doc); }, std::nullopt));
      r->options.include_in_schema = false;
      add(std::move(r));
    }
    frozen.store(true, std::memory_order_release);
  });
}

}  // namespace detail

Router::Router() : s_(std::make_shared<detail::RouterState>()) {}

Router& Router::add_route(verb method, std::string_view pattern, detail::Endpoint endpoint,
                          RouteOptions options) {
  auto r = std::make_shared<detail::Route>();
  r->method = method;
  r->pattern = std::string(pattern);
  r->endpoint = std::make_shared<detail::Endpoint>(std::move(endpoint));
  r->options = std::move(options);
  s_->add(std::move(r));
  return *this;
}

Router& Router::mount(std::string_view prefix, const Router& sub) {
  std::string p(prefix);
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (!p.empty() && p.front() != '/') {
    throw std::invalid_argument("http::Router::mount: the prefix '" + std::string(prefix) +
                                "' does not start with '/'");
  }
  const auto routes = sub.s_->routes;  // (sub may be this router)
  for (const auto& r : routes) {
    auto copy = std::make_shared<detail::Route>(*r);
    copy->pattern = p + r->pattern;
    copy->middleware.insert(copy->middleware.begin(), sub.s_->middleware.begin(),
                            sub.s_->middleware.end());
    copy->errors.insert(copy->errors.end(), sub.s_->errors.begin(), sub.s_->errors.end());
    s_->add(std::move(copy));
  }
  const auto start = sub.s_->on_startup, stop = sub.s_->on_shutdown;
  s_->on_startup.insert(s_->on_startup.end(), start.begin(), start.end());
  s_->on_shutdown.insert(s_->on_shutdown.end(), stop.begin(), stop.end());
  return *this;
}

Router& Router::use(Middleware middleware) {
  if (s_->frozen) throw std::logic_error("http::Router::use: the router serves already");
  s_->middleware.push_back(std::move(middleware));
  return *this;
}

Router& Router::add_error_handler(detail::ErrorHandler handler) {
  if (s_->frozen) throw std::logic_error("http::Router::on_error: the router serves already");
  s_->errors.push_back(std::move(handler));
  return *this;
}

Router& Router::openapi(std::string path, std::string title, std::string version) {
  if (s_->frozen) throw std::logic_error("http::Router::openapi: the router serves already");
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument("http::Router::openapi: the path '" + path +
                                "' does not start with '/'");
  }
  s_->openapi = detail::OpenApiSpec{std::move(path), std::move(title), std::move(version)};
  return *this;
}

boost::json::value Router::openapi_document() const {
  return detail::openapi_document(*s_, s_->openapi.value_or(detail::OpenApiSpec{
                                           "/openapi.json", "spindle", "0.1.0"}));
}

Router& Router::on_startup(std::function<void()> fn) {
  s_->on_startup.push_back(std::move(fn));
  return *this;
}

Router& Router::on_shutdown(std::function<void()> fn) {
  s_->on_shutdown.push_back(std::move(fn));
  return *this;
}

void Router::startup() {
  for (auto& fn : s_->on_startup) fn();
}

void Router::shutdown() {
  std::exception_ptr first;
  for (auto& fn : s_->on_shutdown) {
    try {
      fn();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

Response Router::operator()(Request& req) const {
  detail::RouterState& s = *s_;
  s.freeze();
  Next next(s.middleware.data(), s.middleware.data() + s.middleware.size(), &detail::dispatch,
            &detail::router_mapper, &s);
  return next(req);
}

bool Router::streams_body(const Request& req, std::optional<std::uint64_t>* limit) const {
  s_->freeze();
  const detail::Lookup l = detail::lookup(*s_, req, nullptr);
  if (!l.route) return false;
  if (limit) *limit = l.route->options.body_limit;
  return l.route->options.stream_body;
}

bool Router::has_body_options() const noexcept { return s_->body_options; }

void Router::freeze() { s_->freeze(); }

}  // namespace spindle::http
