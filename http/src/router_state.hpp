// What a Router holds: its routes in the order added, the trie that matches paths to them,
// middleware, error handlers, hooks. Private to spindle-http.
#pragma once

#include <spindle/http/router.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::http::detail {

/// One route: a method on a pattern, its handler, and what a mount wrapped it in.
struct Route {
  verb method = verb::get;
  std::string pattern;                   // as given (after the mount's prefix)
  std::vector<std::string> param_names;  // in pattern order
  bool catch_all = false;                // the last parameter takes the rest of the path
  std::shared_ptr<Endpoint> endpoint;    // shared with the router it was mounted from
  RouteOptions options;
  std::vector<Middleware> middleware;    // from mounts, outermost first
  std::vector<ErrorHandler> errors;      // from mounts, innermost router's first
};

/// A trie node: one path segment's ways on.
struct Node {
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;  // sorted by segment
  std::unique_ptr<Node> param;      // {name}: any one segment
  std::unique_ptr<Node> catch_all;  // {name...}: the rest of the path (at least one segment)
  std::vector<const Route*> routes;  // the routes ending here, one per method
};

/// Where a path led: the node, and the parameters' decoded values in order.
struct Match {
  const Node* node = nullptr;
  std::vector<std::string> values;
};

struct OpenApiSpec {
  std::string path, title, version;
};

struct RouterState {
  std::vector<std::shared_ptr<Route>> routes;
  Node root;
  std::vector<Middleware> middleware;
  std::vector<ErrorHandler> errors;
  std::vector<std::function<void()>> on_startup, on_shutdown;
  std::optional<OpenApiSpec> openapi;
  bool body_options = false;  // a route streams its body or limits it itself
  std::once_flag freeze_once;
  std::atomic<bool> frozen{false};

  /// Adds a route (to the list and the trie). Throws std::invalid_argument, std::logic_error
  /// once frozen.
  void add(std::shared_ptr<Route> route);
  /// Fixes the routes (adding the OpenAPI one): from the first request on.
  void freeze();
  /// Matches a decoded path's segments; false if nothing matches.
  bool match(const std::vector<std::string_view>& segments, Match& m) const;
  /// The response an exception maps to through route's handlers (if any), then the router's,
  /// then HttpError's own; none if nothing maps it.
  std::optional<Response> map_error(const std::exception_ptr& e, Request& req,
                                    const Route* route) const;
};

/// The OpenAPI 3.1 document for these routes.
boost::json::value openapi_document(const RouterState& s, const OpenApiSpec& spec);

}  // namespace spindle::http::detail
