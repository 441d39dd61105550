// How a Router turns a handler of typed inputs into a Response(Request&) function: each
// argument is bound by its type (path parameters in pattern order, Query<S>, a JSON body,
// the Request itself), every binding failure is collected into one ValidationError, and the
// return value becomes a response. What the handler takes and returns is also recorded for
// the OpenAPI document. Not API.
#pragma once

#include <spindle/detail/unique_function.hpp>
#include <spindle/http/detail/schema.hpp>
#include <spindle/http/request.hpp>
#include <spindle/http/server.hpp>

#include <boost/json/parse.hpp>

#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace spindle::http {

/// The query string bound to a described struct S, member by member (by name, decoded, as
/// Request::query() converts them). A member whose parameter is absent keeps the value S{}
/// gives it (its default member initializer), so `int limit = 10;` is an optional parameter
/// with a default; std::vector members take every occurrence. A Query<S> is an S.
/// FastAPI: query parameters with defaults
template <class S>
struct Query : S {
  static_assert(detail::Described<S>, "http::Query<S> needs S described with BOOST_DESCRIBE_STRUCT");
};

namespace detail {

template <class T>
struct is_query : std::false_type {};
template <class S>
struct is_query<Query<S>> : std::true_type {
  using type = S;  // (not a member of Query<S>: it would hide a member of S)
};

/// The argument and result types of a handler (a function, function pointer or lambda
/// with one operator(); not a generic lambda).
template <class F>
struct callable : callable<decltype(&F::operator())> {};
template <class R, class... A>
struct callable<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct callable<R(A...)> : callable<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable<R (C::*)(A...)> : callable<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable<R (C::*)(A...) const> : callable<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable<R (C::*)(A...) noexcept> : callable<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable<R (C::*)(A...) const noexcept> : callable<R (*)(A...)> {};

enum class ArgKind { request, path, query, body };

template <class A>
constexpr ArgKind kind_of() {
  using D = std::remove_cvref_t<A>;
  if constexpr (std::is_same_v<D, Request>) {
    static_assert(std::is_lvalue_reference_v<A>, "a handler takes the request as Request&");
    return ArgKind::request;
  } else if constexpr (is_query<D>::value) {
    return ArgKind::query;
  } else if constexpr (TextValue<D>) {
    return ArgKind::path;
  } else {
    return ArgKind::body;
  }
}

/// What OpenAPI needs to know of one query parameter.
struct QueryParamInfo {
  std::string name;
  SchemaFn schema;
  boost::json::value default_value;  // null: none
};

/// What a handler takes and returns, for the OpenAPI document.
struct EndpointInfo {
  std::vector<SchemaFn> path_types;  // one per path parameter, in order (none: strings)
  std::vector<QueryParamInfo> query;
  SchemaFn body = nullptr;
  SchemaFn response = nullptr;        // null: not known (a Response)
  const char* response_type = nullptr;  // "application/json", "text/plain"
  bool typed_path = false;            // the handler takes its path parameters typed
  bool returns_void = false;          // answers with no body (204 unless told otherwise)
};

/// A handler ready for the router.
struct Endpoint {
  spindle::detail::UniqueFunction<Response(Request&)> call;
  EndpointInfo info;
};

template <class T>
void query_info(std::vector<QueryParamInfo>& out) {
  const T defaults{};
  boost::mp11::mp_for_each<members_of<T>>([&](auto d) {
    using M = std::remove_cvref_t<decltype(defaults.*d.pointer)>;
    boost::json::value def = nullptr;
    if constexpr (!is_optional<M>::value && !is_vector<M>::value) {
      std::string text;
      write_json(text, defaults.*d.pointer);
      def = boost::json::parse(text);
    }
    out.push_back({d.name, &schema_of<M>, std::move(def)});
  });
}

/// Binds the query string to a Query<S>, appending what does not convert to errors.
template <class S>
void bind_query(const Request& req, S& out, std::vector<FieldError>& errors) {
  boost::mp11::mp_for_each<members_of<S>>([&](auto d) {
    using M = std::remove_cvref_t<decltype(out.*d.pointer)>;
    const std::vector<std::string> values = req.query_values(d.name);
    if (values.empty()) return;  // the default stays
    if constexpr (is_vector<M>::value) {
      (out.*d.pointer).resize(values.size());
      for (std::size_t i = 0; i < values.size(); ++i) {
        FieldError e{{"query", d.name, i}, {}, {}};
        if (!from_text(values[i], (out.*d.pointer)[i], e)) errors.push_back(std::move(e));
      }
    } else {
      using V = typename std::conditional_t<is_optional<M>::value, M, std::optional<M>>::value_type;
      V v{};
      FieldError e{{"query", d.name}, {}, {}};
      if (from_text(values.front(), v, e)) {
        out.*d.pointer = std::move(v);
      } else {
        errors.push_back(std::move(e));
      }
    }
  });
}

/// Holds one bound argument until the call: the Request by address, others by value.
template <class A>
using holder_t = std::conditional_t<kind_of<A>() == ArgKind::request, Request*,
                                    std::optional<std::remove_cvref_t<A>>>;

/// How many path arguments come before position I.
template <class Args, std::size_t... I>
constexpr std::size_t path_index(std::index_sequence<I...>) {
  return (0 + ... + (kind_of<std::tuple_element_t<I, Args>>() == ArgKind::path ? 1 : 0));
}

template <class Args, std::size_t I>
void bind_arg(Request& req, holder_t<std::tuple_element_t<I, Args>>& h,
              std::vector<FieldError>& errors) {
  using A = std::tuple_element_t<I, Args>;
  using D = std::remove_cvref_t<A>;
  constexpr ArgKind kind = kind_of<A>();
  if constexpr (kind == ArgKind::request) {
    h = &req;
  } else if constexpr (kind == ArgKind::path) {
    constexpr std::size_t k = path_index<Args>(std::make_index_sequence<I>{});
    const Request::Param& p = req.path_params().at(k);
    D v{};
    FieldError e{{"path", p.name}, {}, {}};
    if (from_text(p.value, v, e)) {
      h.emplace(std::move(v));
    } else {
      errors.push_back(std::move(e));
    }
  } else if constexpr (kind == ArgKind::query) {
    h.emplace();
    bind_query(req, static_cast<typename is_query<D>::type&>(*h), errors);
  } else {
    h.emplace();
    req.bind_json(*h, errors);
  }
}

template <class A, class H>
decltype(auto) unwrap(H& h) {
  if constexpr (kind_of<A>() == ArgKind::request) {
    return static_cast<A>(*h);
  } else if constexpr (std::is_lvalue_reference_v<A>) {
    return static_cast<A>(*h);
  } else {
    return std::move(*h);
  }
}

/// The response for what a handler returned: a Response as it is, text as text/plain, any
/// other value as JSON; `code` (when set) is the status of the latter two.
template <class R>
Response to_response(R&& r, std::optional<status> code) {
  using D = std::remove_cvref_t<R>;
  if constexpr (std::is_same_v<D, Response>) {
    return std::forward<R>(r);
  } else if constexpr (std::is_convertible_v<const D&, std::string_view>) {
    return text(std::string(std::string_view(r)), code.value_or(status::ok));
  } else {
    std::string body;
    write_json(body, r);
    return json(std::move(body), code.value_or(status::ok));
  }
}

template <class F, class Args, std::size_t... I>
Response call_bound(F& f, Request& req, std::optional<status> code, std::index_sequence<I...>) {
  std::tuple<holder_t<std::tuple_element_t<I, Args>>...> held;
  std::vector<FieldError> errors;
  (bind_arg<Args, I>(req, std::get<I>(held), errors), ...);
  if (!errors.empty()) throw ValidationError(std::move(errors));
  using R = typename callable<F>::result;
  if constexpr (std::is_void_v<R>) {
    std::invoke(f, unwrap<std::tuple_element_t<I, Args>>(std::get<I>(held))...);
    return response(code.value_or(status::no_content));
  } else {
    return to_response(std::invoke(f, unwrap<std::tuple_element_t<I, Args>>(std::get<I>(held))...),
                       code);
  }
}

template <class R>
void response_info(EndpointInfo& info) {
  using D = std::remove_cvref_t<R>;
  if constexpr (std::is_void_v<R>) {
    info.returns_void = true;
  } else if constexpr (std::is_same_v<D, Response>) {
    return;
  } else if constexpr (std::is_convertible_v<const D&, std::string_view>) {
    info.response = &schema_of<std::string>;
    info.response_type = "text/plain";
  } else {
    info.response = &schema_of<D>;
    info.response_type = "application/json";
  }
}

/// Wraps handler f for a route; `code` is the status for what it returns (void: 204).
template <class F>
Endpoint make_endpoint(F f, std::optional<status> code) {
  using Args = typename callable<F>::args;
  constexpr std::size_t n = std::tuple_size_v<Args>;
  Endpoint e;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto add = [&]<class A>(std::type_identity<A>) {
      using D = std::remove_cvref_t<A>;
      constexpr ArgKind kind = kind_of<A>();
      if constexpr (kind == ArgKind::path) {
        e.info.path_types.push_back(&schema_of<D>);
        e.info.typed_path = true;
      } else if constexpr (kind == ArgKind::query) {
        query_info<typename is_query<D>::type>(e.info.query);
      } else if constexpr (kind == ArgKind::body) {
        e.info.body = &schema_of<D>;
      }
    };
    (add(std::type_identity<std::tuple_element_t<I, Args>>{}), ...);
    (void)add;  // (a handler without arguments)
  }(std::make_index_sequence<n>{});
  response_info<typename callable<F>::result>(e.info);
  e.call = [f = std::move(f), code](Request& req) mutable {
    return call_bound<F, Args>(f, req, code, std::make_index_sequence<n>{});
  };
  return e;
}

}  // namespace detail
}  // namespace spindle::http
