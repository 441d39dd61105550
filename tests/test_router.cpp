// http::Router through TestClient (in process, virtual time): routing (literals before
// parameters before catch-alls, 404, 405 with Allow, HEAD, OPTIONS, slash redirects, mounts),
// typed handlers and FastAPI-shaped 422s, JSON in and out, errors (HttpError at any depth,
// on_error, 500), middleware order and short-circuits, the built-in middleware (CORS, gzip,
// access log), streamed responses and bodies, hooks, the OpenAPI document, and refused
// registrations. Static files have their own suite (test_static_files.cpp); real sockets and
// clients are in test_web.cpp.
#include <spindle/http.hpp>
#include <spindle_test.hpp>

#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <zlib.h>

#include <map>
#include <string>
#include <vector>

namespace http = spindle::http;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace shop {

enum class Size { small, medium, large };
BOOST_DESCRIBE_ENUM(Size, small, medium, large)

struct Dimensions {
  double width = 0;
  double height = 0;
};
BOOST_DESCRIBE_STRUCT(Dimensions, (), (width, height))

struct Named {
  std::string name;
};
BOOST_DESCRIBE_STRUCT(Named, (), (name))

struct Item : Named {  // a described base: its members come first, flattened
  double price = 0;
  std::optional<std::string> note;
  std::vector<std::string> tags;
  Size size = Size::medium;
  std::optional<Dimensions> box;
  std::map<std::string, int> stock;
};
BOOST_DESCRIBE_STRUCT(Item, (Named), (price, note, tags, size, box, stock))

struct Paging {
  int limit = 10;
  std::uint8_t page = 1;
  std::optional<std::string> q;
  std::vector<int> ids;
  bool desc = false;
};
BOOST_DESCRIBE_STRUCT(Paging, (), (limit, page, q, ids, desc))

}  // namespace shop

namespace {

json::value body_json(const http::Response& r) { return json::parse(r.body()); }

std::string header(const http::Response& r, http::field f) { return std::string(r[f]); }

/// The loc of each error in a 422's detail, as JSON text.
std::vector<std::string> locs(const http::Response& r) {
  std::vector<std::string> out;
  const json::value body = body_json(r);
  for (const auto& e : body.at("detail").as_array()) out.push_back(json::serialize(e.at("loc")));
  return out;
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  BOOST_REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  out.resize(z.total_out);
  inflateEnd(&z);
  BOOST_REQUIRE(rc == Z_STREAM_END);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(router)

SPINDLE_TEST_CASE(literal_segments_win_over_parameters_and_parameters_over_catch_alls) {
  http::Router app;
  app.get("/users/me", [] { return "me"; });
  app.get("/users/{id}", [](http::Request& req) { return "user " + req.param("id"); });
  app.get("/users/{id}/posts/{post}", [](std::string id, int post) {
    return id + "/" + std::to_string(post);
  });
  app.get("/users/{path...}", [](std::string rest) { return "rest " + rest; });
  app.get("/", [] { return "root"; });
  http::TestClient c(app);
  BOOST_TEST(c.get("/users/me").body() == "me");
  BOOST_TEST(c.get("/users/42").body() == "user 42");
  BOOST_TEST(c.get("/users/me/posts/7").body() == "me/7");  // backtracks past the literal
  BOOST_TEST(c.get("/users/a/b/c").body() == "rest a/b/c");
  BOOST_TEST(c.get("/users/a/posts/x/y").body() == "rest a/posts/x/y");
  BOOST_TEST(c.get("/").body() == "root");
  // Segments are decoded one by one: an encoded slash stays in its parameter.
  BOOST_TEST(c.get("/users/a%2Fb").body() == "user a/b");
  BOOST_TEST(c.get("/users/caf%C3%A9").body() == "user caf\xc3\xa9");
  BOOST_TEST(c.get("/users/42?x=1").body() == "user 42");
}

SPINDLE_TEST_CASE(unknown_paths_get_404_and_other_methods_405_with_allow_as_json) {
  http::Router app;
  app.get("/items", [] { return "list"; });
  app.post("/items", [] { return "made"; });
  app.del("/items/{id}", [](int) {});
  app.get("/items/{id}/tags", [](int) { return "tags"; });
  http::TestClient c(app);
  auto nf = c.get("/nothing");
  BOOST_TEST(nf.result_int() == 404);
  BOOST_TEST(header(nf, http::field::content_type) == "application/json");
  BOOST_TEST(nf.body() == R"({"detail":"Not Found"})");
  auto na = c.put("/items", std::string("x"));
  BOOST_TEST(na.result_int() == 405);
  BOOST_TEST(na.body() == R"({"detail":"Method Not Allowed"})");
  BOOST_TEST(header(na, http::field::allow) == "GET, HEAD, POST, OPTIONS");
  BOOST_TEST(header(c.get("/items/3"), http::field::allow) == "DELETE, OPTIONS");
  BOOST_TEST(c.get("/items/3").result_int() == 405);
  // An empty segment is no parameter value.
  BOOST_TEST(c.get("/items//tags").result_int() == 404);
  BOOST_TEST(c.get("/items/1/tags").body() == "tags");
}

SPINDLE_TEST_CASE(head_runs_get_without_a_body_and_options_lists_the_methods) {
  int gets = 0;
  http::Router app;
  app.get("/page", [&] {
    ++gets;
    return "0123456789";
  });
  http::TestClient c(app);
  auto h = c.request(http::verb::head, "/page");
  BOOST_TEST(h.result_int() == 200);
  BOOST_TEST(h.body().empty());
  BOOST_TEST(header(h, http::field::content_length) == "10");  // what a GET gets
  BOOST_TEST(gets == 1);
  auto o = c.request(http::verb::options, "/page");
  BOOST_TEST(o.result_int() == 204);
  BOOST_TEST(header(o, http::field::allow) == "GET, HEAD, OPTIONS");
  auto star = c.request(http::verb::options, "*");
  BOOST_TEST(star.result_int() == 204);
}

SPINDLE_TEST_CASE(a_path_known_only_with_or_without_its_trailing_slash_is_redirected) {
  http::Router app;
  app.get("/docs/", [] { return "docs"; });
  app.get("/api", [] { return "api"; });
  http::TestClient c(app);
  auto a = c.get("/docs?x=1");
  BOOST_TEST(a.result_int() == 307);
  BOOST_TEST(header(a, http::field::location) == "/docs/?x=1");
  auto b = c.get("/api/");
  BOOST_TEST(b.result_int() == 307);
  BOOST_TEST(header(b, http::field::location) == "/api");
  BOOST_TEST(c.get("/docs/").body() == "docs");
}

SPINDLE_TEST_CASE(a_malformed_target_is_400_and_an_absolute_form_target_routes_by_its_path) {
  http::Router app;
  app.get("/a b", [] { return "no"; });
  app.get("/x", [](http::Request& req) { return req.query("q"); });
  http::TestClient c(app);
  BOOST_TEST(c.get("/x%zz").result_int() == 400);
  BOOST_TEST(c.get("/x?q=%zz").result_int() == 400);
  BOOST_TEST(c.get("http://example.com/x?q=abs").body() == "abs");
}

SPINDLE_TEST_CASE(typed_path_and_query_parameters_convert_or_answer_422_listing_every_problem) {
  http::Router app;
  app.get("/items/{id}/{size}", [](int id, shop::Size size, http::Query<shop::Paging> p) {
    json::object o{{"id", id}, {"size", static_cast<int>(size)}, {"limit", p.limit},
                   {"page", p.page}, {"q", p.q ? json::value(*p.q) : json::value(nullptr)},
                   {"ids", json::value_from(p.ids)}, {"desc", p.desc}};
    return json::value(o);
  });
  http::TestClient c(app);
  auto ok = c.get("/items/7/large?limit=5&q=red+shoes&ids=1&ids=2&desc=yes");
  BOOST_TEST(ok.result_int() == 200);
  BOOST_TEST(ok.body() ==
             R"({"id":7,"size":2,"limit":5,"page":1,"q":"red shoes","ids":[1,2],"desc":true})");
  // Absent query parameters keep the struct's defaults.
  BOOST_TEST(body_json(c.get("/items/7/small")).at("limit").as_int64() == 10);
  auto bad = c.get("/items/x/huge?limit=1.5&page=300&ids=1&ids=b&desc=maybe");
  BOOST_TEST(bad.result_int() == 422);
  BOOST_TEST(locs(bad) == (std::vector<std::string>{R"(["path","id"])", R"(["path","size"])",
                                                    R"(["query","limit"])", R"(["query","page"])",
                                                    R"(["query","ids",1])", R"(["query","desc"])"}));
  const json::array detail = body_json(bad).at("detail").as_array();
  BOOST_TEST(detail[0].at("msg").as_string() == "value is not a valid integer");
  BOOST_TEST(detail[0].at("type").as_string() == "type_error.integer");
  BOOST_TEST(detail[1].at("msg").as_string() ==
             "value is not a valid enumeration member; permitted: 'small', 'medium', 'large'");
  BOOST_TEST(detail[1].at("type").as_string() == "type_error.enum");
  BOOST_TEST(detail[3].at("msg").as_string() == "ensure this value is less than or equal to 255");
  BOOST_TEST(detail[3].at("type").as_string() == "value_error.number.not_le");
  BOOST_TEST(detail[5].at("type").as_string() == "type_error.bool");
}

SPINDLE_TEST_CASE(request_accessors_convert_text_and_say_where_it_failed) {
  http::Router app;
  app.get("/t/{n}", [](http::Request& req) {
    json::object o;
    o["n"] = req.param<long>("n");
    o["limit"] = req.query<int>("limit", 20);
    o["opt"] = req.query<std::optional<double>>("opt") ? json::value(1) : json::value(0);
    o["tags"] = json::value_from(req.query<std::vector<std::string>>("tag"));
    o["agent"] = req.header<std::optional<std::string>>("User-Agent").value_or("none");
    o["ua"] = req.header("X-Missing") ? "yes" : "no";
    return json::value(o);
  });
  app.get("/need", [](http::Request& req) { return std::to_string(req.query<unsigned>("count")); });
  app.get("/h", [](http::Request& req) { return std::to_string(req.header<int>("X-Count")); });
  app.get("/p", [](http::Request& req) { return req.param("nope"); });
  spindle_test::Reports reports;
  http::TestClient c(app);
  BOOST_TEST(c.get("/t/9?tag=a&tag=b%20c", {{"User-Agent", "t/1"}}).body() ==
             R"({"n":9,"limit":20,"opt":0,"tags":["a","b c"],"agent":"t/1","ua":"no"})");
  auto missing = c.get("/need");
  BOOST_TEST(missing.result_int() == 422);
  BOOST_TEST(missing.body() ==
             R"({"detail":[{"loc":["query","count"],"msg":"field required","type":"value_error.missing"}]})");
  auto negative = c.get("/need?count=-1");
  BOOST_TEST(body_json(negative).at("detail").at(0).at("type").as_string() == "value_error.number.not_ge");
  BOOST_TEST(locs(c.get("/h", {{"X-Count", "x"}})) == (std::vector<std::string>{R"(["header","X-Count"])"}));
  // A parameter the route does not have is the handler's bug: 500, reported.
  BOOST_TEST(c.get("/p").result_int() == 500);
}

SPINDLE_TEST_CASE(json_bodies_bind_to_described_structs_and_values_return_as_json) {
  http::Router app;
  std::optional<shop::Item> seen;
  app.post("/items", [&](shop::Item item) {
    seen = item;
    return item;
  }, {.status_code = http::status::created});
  app.post("/many", [](std::vector<shop::Dimensions> boxes) { return boxes.size(); });
  app.post("/any", [](json::value v) { return v; });
  http::TestClient c(app);
  auto r = c.post("/items", json::parse(R"({"name": "hat", "price": 9.5, "tags": ["a"],
      "size": "large", "box": {"width": 1, "height": 2.5}, "stock": {"x": 3}, "extra": 1})"));
  BOOST_TEST(r.result_int() == 201);
  BOOST_TEST(header(r, http::field::content_type) == "application/json");
  BOOST_TEST(r.body() ==
             R"({"name":"hat","price":9.5,"note":null,"tags":["a"],"size":"large","box":{"width":1,"height":2.5},"stock":{"x":3}})");
  BOOST_REQUIRE(seen.has_value());
  BOOST_TEST(seen->box->height == 2.5);
  BOOST_TEST(!seen->note.has_value());
  BOOST_TEST(c.post("/many", json::parse(R"([{"width":1,"height":1},{"width":2,"height":2}])")).body() == "2");
  BOOST_TEST(c.post("/any", json::parse(R"({"k":[1,null]})")).body() == R"({"k":[1,null]})");
}

SPINDLE_TEST_CASE(a_body_that_does_not_fit_gets_422_naming_each_field) {
  http::Router app;
  app.post("/items", [](shop::Item item) { return item; });
  http::TestClient c(app);
  auto r = c.post("/items", json::parse(R"({"price": "cheap", "tags": ["a", 2], "size": "huge",
      "box": {"width": 1}, "stock": {"x": "y"}, "note": null})"));
  BOOST_TEST(r.result_int() == 422);
  BOOST_TEST(locs(r) == (std::vector<std::string>{
                            R"(["body","name"])", R"(["body","price"])", R"(["body","tags",1])",
                            R"(["body","size"])", R"(["body","box","height"])",
                            R"(["body","stock","x"])"}));
  const json::array d = body_json(r).at("detail").as_array();
  BOOST_TEST(d[0].at("type").as_string() == "value_error.missing");
  BOOST_TEST(d[0].at("msg").as_string() == "field required");
  BOOST_TEST(d[1].at("type").as_string() == "type_error.float");
  BOOST_TEST(d[2].at("type").as_string() == "type_error.str");
  BOOST_TEST(d[5].at("type").as_string() == "type_error.integer");
  // null where a value is required, and a non-object.
  BOOST_TEST(locs(c.post("/items", json::parse(R"({"name": null, "price": 1, "tags": [], "size": "small", "stock": {}})"))) ==
             (std::vector<std::string>{R"(["body","name"])"}));
  BOOST_TEST(body_json(c.post("/items", json::parse("[1]"))).at("detail").at(0).at("type").as_string() ==
             "type_error.dict");
}

SPINDLE_TEST_CASE(an_empty_or_malformed_body_is_422_and_a_non_json_content_type_415) {
  http::Router app;
  app.post("/n", [](shop::Named n) { return n.name; });
  http::TestClient c(app);
  auto empty = c.post("/n", std::string());
  BOOST_TEST(empty.result_int() == 422);
  BOOST_TEST(locs(empty) == (std::vector<std::string>{R"(["body"])"}));
  auto broken = c.post("/n", std::string(R"({"name": )"), {{"Content-Type", "application/json"}});
  BOOST_TEST(broken.result_int() == 422);
  BOOST_TEST(body_json(broken).at("detail").at(0).at("type").as_string() == "value_error.jsondecode");
  auto trailing = c.post("/n", std::string(R"({"name": "a"} x)"), {{"Content-Type", "application/json"}});
  BOOST_TEST(trailing.result_int() == 422);
  auto form = c.post("/n", std::string("name=a"), {{"Content-Type", "application/x-www-form-urlencoded"}});
  BOOST_TEST(form.result_int() == 415);
  // No Content-Type is taken as JSON, and so is a +json type.
  BOOST_TEST(c.post("/n", std::string(R"({"name":"a"})")).body() == "a");
  BOOST_TEST(c.post("/n", std::string(R"({"name":"b"})"),
                    {{"Content-Type", "application/merge-patch+json; charset=utf-8"}}).body() == "b");
}

SPINDLE_TEST_CASE(return_types_become_text_json_or_204) {
  http::Router app;
  app.get("/text", [] { return std::string("plain"); });
  app.get("/num", [] { return 42; });
  app.get("/list", [] { return std::vector<shop::Size>{shop::Size::small, shop::Size::large}; });
  app.get("/none", [] {});
  app.post("/made", [] {}, {.status_code = http::status::accepted});
  app.get("/raw", [] { return http::response(http::status::non_authoritative_information, "tea", "text/x-tea"); });
  http::TestClient c(app);
  BOOST_TEST(header(c.get("/text"), http::field::content_type) == "text/plain; charset=utf-8");
  BOOST_TEST(c.get("/num").body() == "42");
  BOOST_TEST(c.get("/list").body() == R"(["small","large"])");
  BOOST_TEST(c.get("/none").result_int() == 204);
  BOOST_TEST(c.post("/made").result_int() == 202);
  auto raw = c.get("/raw");
  BOOST_TEST(raw.result_int() == 203);
  BOOST_TEST(header(raw, http::field::content_type) == "text/x-tea");
}

namespace {
struct Missing : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct OutOfStock : Missing {
  using Missing::Missing;
};
// Deep in the call chain, as real code fails.
std::string find_item(int id) {
  if (id == 0) throw http::HttpError(http::status::not_found, "no item 0", {{"X-Why", "zero"}});
  if (id == 1) throw OutOfStock("item 1 is sold out");
  if (id == 2) throw std::runtime_error("database on fire");
  if (id == 3) throw http::HttpError(http::status::conflict, json::value{{"code", 7}});
  return "item " + std::to_string(id);
}
}  // namespace

SPINDLE_TEST_CASE(http_errors_thrown_at_any_depth_and_mapped_exceptions_become_responses) {
  http::Router app;
  app.get("/items/{id}", [](int id) { return find_item(id); });
  app.on_error<Missing>([](const Missing& e, http::Request& req) {
    return http::json("{\"missing\":\"" + std::string(e.what()) + "\",\"path\":\"" +
                          std::string(req.path()) + "\"}",
                      http::status::gone);
  });
  spindle_test::Reports reports;
  spindle::Loop::current().set_exception_handler(
      [&](const spindle::ExceptionContext& ctx) { reports.items.push_back(ctx); });
  http::TestClient c(app);
  auto nf = c.get("/items/0");
  BOOST_TEST(nf.result_int() == 404);
  BOOST_TEST(nf.body() == R"({"detail":"no item 0"})");
  BOOST_TEST(std::string(nf["X-Why"]) == "zero");
  auto gone = c.get("/items/1");  // a derived type, mapped by its base's handler
  BOOST_TEST(gone.result_int() == 410);
  BOOST_TEST(gone.body() == R"({"missing":"item 1 is sold out","path":"/items/1"})");
  auto fire = c.get("/items/2");
  BOOST_TEST(fire.result_int() == 500);
  BOOST_TEST(fire.body() == "Internal Server Error\n");
  BOOST_REQUIRE(reports.items.size() == 1u);
  BOOST_TEST(reports.items[0].message == "http handler failed: database on fire");
  BOOST_TEST(c.get("/items/3").body() == R"({"detail":{"code":7}})");
  BOOST_TEST(c.get("/items/4").body() == "item 4");
}

SPINDLE_TEST_CASE(an_on_error_for_http_error_renders_every_error_including_404) {
  http::Router app;
  app.get("/x", [] { return "x"; });
  app.on_error<http::HttpError>([](const http::HttpError& e) {
    return http::text("custom " + std::to_string(static_cast<int>(e.code())), e.code());
  });
  http::TestClient c(app);
  auto r = c.get("/nothing");
  BOOST_TEST(r.result_int() == 404);
  BOOST_TEST(r.body() == "custom 404");
}

SPINDLE_TEST_CASE(middleware_runs_in_order_around_every_request_and_may_short_circuit) {
  std::vector<std::string> trace;
  http::Router app;
  app.get("/x", [&](http::Request& req) {
    trace.push_back("handler " + std::string(req["X-Seen"]));
    return "x";
  });
  app.use([&](http::Request& req, http::Next& next) {
    trace.push_back("outer in");
    req.set("X-Seen", "outer");
    auto res = next(req);
    res.set("X-Outer", "1");
    trace.push_back("outer out " + std::to_string(res.result_int()));
    return res;
  });
  app.use([&](http::Request& req, http::Next& next) -> http::Response {
    trace.push_back("inner in");
    if (req.target() == "/x?deny") throw http::HttpError(http::status::unauthorized);
    if (req.target() == "/x?stop") return http::text("stopped", http::status::forbidden);
    return next(req);
  });
  http::TestClient c(app);
  auto r = c.get("/x");
  BOOST_TEST(std::string(r["X-Outer"]) == "1");
  BOOST_TEST(c.get("/x?stop").body() == "stopped");
  auto denied = c.get("/x?deny");  // thrown by middleware: mapped, the outer one sees 401
  BOOST_TEST(denied.result_int() == 401);
  c.get("/missing");  // middleware sees the 404 too
  for (const auto& t : trace) BOOST_TEST_MESSAGE(t);
  BOOST_TEST(trace == (std::vector<std::string>{
                          "outer in", "inner in", "handler outer", "outer out 200",
                          "outer in", "inner in", "outer out 403",
                          "outer in", "inner in", "outer out 401",
                          "outer in", "inner in", "outer out 404"}));
}

SPINDLE_TEST_CASE(mounted_routers_keep_their_middleware_errors_and_hooks) {
  std::vector<std::string> trace;
  http::Router api;
  api.get("/users/{id}", [](int id) { return "user " + std::to_string(id); });
  api.get("/", [] { return "api root"; });
  api.get("/fail", []() -> std::string { throw Missing("sub"); });
  api.use([&](http::Request& req, http::Next& next) {
    trace.push_back("api " + std::string(req.route()));
    return next(req);
  });
  api.on_error<Missing>([](const Missing&) { return http::text("mapped by api", http::status::gone); });
  api.on_startup([&] { trace.push_back("api up"); });
  http::Router app;
  app.get("/fail", []() -> std::string { throw Missing("top"); });
  app.mount("/api/v1/", api);
  app.on_startup([&] { trace.push_back("app up"); });
  {
    http::TestClient c(app);
    BOOST_TEST(c.get("/api/v1/users/5").body() == "user 5");
    BOOST_TEST(c.get("/api/v1/").body() == "api root");
    BOOST_TEST(c.get("/api/v1/fail").body() == "mapped by api");
    BOOST_TEST(c.get("/fail").result_int() == 500);  // not api's: unmapped here
  }
  BOOST_TEST(trace == (std::vector<std::string>{"api up", "app up", "api /api/v1/users/{id}",
                                                "api /api/v1/", "api /api/v1/fail"}));
}

SPINDLE_TEST_CASE(registrations_that_cannot_work_are_refused_with_the_reason) {
  http::Router app;
  app.get("/a/{id}", [](int) { return "a"; });
  const auto refused = [&](auto add, const std::string& why) {
    try {
      add();
      BOOST_ERROR("accepted: " << why);
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find(why) != std::string::npos, e.what());
    }
  };
  refused([&] { app.get("no-slash", [] { return "x"; }); }, "must start with '/'");
  refused([&] { app.get("/a/{id}", [](int) { return "again"; }); }, "is routed already");
  refused([&] { app.get("/a/{name}", [](int) { return "renamed"; }); }, "is routed already (as /a/{id})");
  refused([&] { app.get("/b/{x}/{y}", [](int) { return "b"; }); }, "takes 1 path parameter(s), the pattern has 2");
  refused([&] { app.get("/c/{p...}/d", [] { return "c"; }); }, "must be the last segment");
  refused([&] { app.get("/c/x{p}", [] { return "c"; }); }, "mixes text and a parameter");
  refused([&] { app.get("/c/{p}/{p}", [] { return "c"; }); }, "appears twice");
  refused([&] { app.get("/c/{p-q}", [] { return "c"; }); }, "is not {name} or {name...}");
  app.del("/a/{other}", [](int) {});  // another method on the same shape is fine
  http::TestClient c(app);
  try {
    app.get("/late", [] { return "late"; });
    BOOST_ERROR("a route added while serving was accepted");
  } catch (const std::logic_error& e) {
    BOOST_TEST(std::string(e.what()).find("GET /late came too late") != std::string::npos);
  }
}

SPINDLE_TEST_CASE(cors_answers_preflights_and_marks_allowed_origins) {
  http::Router app;
  app.get("/data", [] { return "d"; });
  http::CorsOptions o;
  o.allow_origins = {"https://app.example"};
  o.allow_headers = {"X-Token"};
  o.allow_credentials = true;
  o.expose_headers = {"X-Total"};
  app.use(http::cors(o));
  http::TestClient c(app);
  auto pre = c.request(http::verb::options, "/data", {},
                       {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "GET"},
                        {"Access-Control-Request-Headers", "x-token, content-type"}});
  BOOST_TEST(pre.result_int() == 200);
  BOOST_TEST(std::string(pre["Access-Control-Allow-Origin"]) == "https://app.example");
  BOOST_TEST(std::string(pre["Access-Control-Allow-Headers"]) == "X-Token");
  BOOST_TEST(std::string(pre["Access-Control-Allow-Credentials"]) == "true");
  BOOST_TEST(std::string(pre["Access-Control-Max-Age"]) == "600");
  auto bad = c.request(http::verb::options, "/data", {},
                       {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "TRACE"},
                        {"Access-Control-Request-Headers", "X-Other"}});
  BOOST_TEST(bad.result_int() == 400);
  BOOST_TEST(bad.body() == "Disallowed CORS origin, method, headers");
  auto simple = c.get("/data", {{"Origin", "https://app.example"}});
  BOOST_TEST(std::string(simple["Access-Control-Allow-Origin"]) == "https://app.example");
  BOOST_TEST(std::string(simple["Access-Control-Expose-Headers"]) == "X-Total");
  BOOST_TEST(std::string(simple[http::field::vary]) == "Origin");
  auto other = c.get("/data", {{"Origin", "https://evil.example"}});
  BOOST_TEST(other.result_int() == 200);
  BOOST_TEST((other.find("Access-Control-Allow-Origin") == other.end()));
  auto missing = c.get("/nope", {{"Origin", "https://app.example"}});  // errors get it too
  BOOST_TEST(std::string(missing["Access-Control-Allow-Origin"]) == "https://app.example");
  http::Router any;
  any.get("/d", [] { return "d"; });
  any.use(http::cors());
  http::TestClient c2(any);
  BOOST_TEST(std::string(c2.get("/d", {{"Origin", "https://x.example"}})["Access-Control-Allow-Origin"]) == "*");
}

SPINDLE_TEST_CASE(gzip_compresses_big_bodies_the_client_accepts_and_leaves_the_rest) {
  const std::string big(5000, 'a');
  http::Router app;
  app.get("/big", [&] {
    auto r = http::text(big);
    r.set(http::field::etag, "\"v1\"");
    return r;
  });
  app.get("/small", [] { return "tiny"; });
  app.get("/png", [&] { return http::response(http::status::ok, big, "image/png"); });
  app.use(http::gzip(1000));
  http::TestClient c(app);
  auto z = c.get("/big", {{"Accept-Encoding", "br;q=1.0, gzip;q=0.8"}});
  BOOST_TEST(std::string(z[http::field::content_encoding]) == "gzip");
  BOOST_TEST(std::string(z[http::field::vary]) == "Accept-Encoding");
  BOOST_TEST(std::string(z[http::field::etag]) == "W/\"v1\"");
  BOOST_TEST(z.body().size() < 100u);
  BOOST_TEST(std::string(z[http::field::content_length]) == std::to_string(z.body().size()));
  BOOST_TEST(gunzip(z.body()) == big);
  BOOST_TEST(c.get("/big", {{"Accept-Encoding", "gzip;q=0, *"}}).body() == big);
  BOOST_TEST(c.get("/big", {{"Accept-Encoding", "*"}})[http::field::content_encoding] == "gzip");
  BOOST_TEST(c.get("/big").body() == big);
  BOOST_TEST(c.get("/small", {{"Accept-Encoding", "gzip"}}).body() == "tiny");
  BOOST_TEST(c.get("/png", {{"Accept-Encoding", "gzip"}}).body() == big);
}

SPINDLE_TEST_CASE(access_log_writes_a_line_per_request_with_its_status) {
  std::vector<std::string> lines;
  http::Router app;
  app.get("/ok", [] { return "ok!"; });
  app.get("/boom", []() -> std::string { throw std::runtime_error("boom"); });
  app.use(http::access_log([&](std::string_view l) { lines.emplace_back(l); }));
  spindle_test::Reports reports;
  spindle::Loop::current().set_exception_handler([&](const spindle::ExceptionContext& c) {
    reports.items.push_back(c);
  });
  http::TestClient c(app);
  c.get("/ok?x=1");
  c.get("/nope");
  c.get("/boom");
  BOOST_REQUIRE(lines.size() == 3u);
  BOOST_TEST(lines[0].starts_with("testclient - \"GET /ok?x=1 HTTP/1.1\" 200 3 "), lines[0]);
  BOOST_TEST(lines[0].ends_with("ms\n"), lines[0]);
  BOOST_TEST(lines[1].starts_with("testclient - \"GET /nope HTTP/1.1\" 404 "), lines[1]);
  BOOST_TEST(lines[2].starts_with("testclient - \"GET /boom HTTP/1.1\" 500 - "), lines[2]);
  BOOST_TEST(reports.items.size() == 1u);
}

SPINDLE_TEST_CASE(streamed_responses_are_collected_whole_and_head_skips_the_producer) {
  int runs = 0;
  http::Router app;
  app.get("/count", [&](http::Request& req) {
    return http::stream(req, [&](http::BodyWriter& w) {
      ++runs;
      for (int i = 0; i < 3; ++i) {
        w.write(std::to_string(i) + "\n");
        spindle::sleep(1s);
      }
    }, {.content_type = "text/plain"});
  });
  app.get("/events", [](http::Request& req) {
    return http::event_stream(req, [](http::EventStream& es) {
      es.send("hello");
      es.send("two\nlines", "update", "7");
      es.comment("note");
      es.retry(1500ms);
    });
  });
  app.get("/sized", [](http::Request& req) {
    return http::stream(req, [](http::BodyWriter& w) { w.write("too long"); },
                        {.content_length = 3});
  });
  spindle_test::Reports reports;
  spindle::Loop::current().set_exception_handler([&](const spindle::ExceptionContext& c) {
    reports.items.push_back(c);
  });
  http::TestClient c(app);
  auto r = c.get("/count");
  BOOST_TEST(r.body() == "0\n1\n2\n");
  BOOST_TEST(r.chunked());
  BOOST_TEST(runs == 1);
  c.request(http::verb::head, "/count");
  BOOST_TEST(runs == 1);
  auto e = c.get("/events");
  BOOST_TEST(std::string(e[http::field::content_type]) == "text/event-stream");
  BOOST_TEST(std::string(e[http::field::cache_control]) == "no-cache");
  BOOST_TEST(e.body() == "data: hello\n\nevent: update\nid: 7\ndata: two\ndata: lines\n\n: note\n\nretry: 1500\n\n");
  c.get("/sized");  // collected: nothing checks the length; fine here, refused on a socket
  BOOST_TEST(reports.items.empty());
  http::Request outside(http::verb::get, "/x");
  BOOST_CHECK_THROW(http::stream(outside, [](http::BodyWriter&) {}), std::logic_error);
}

SPINDLE_TEST_CASE(a_streamed_body_route_reads_its_body_in_pieces_within_its_limit) {
  http::Router app;
  app.post("/upload", [](http::Request& req) {
    BOOST_TEST(req.body().empty());
    std::size_t total = 0, pieces = 0;
    for (std::string part = req.body_stream().read(4); !part.empty(); part = req.body_stream().read(4)) {
      total += part.size();
      ++pieces;
    }
    return std::to_string(total) + " in " + std::to_string(pieces);
  }, {.stream_body = true, .body_limit = 100});
  app.post("/whole", [](http::Request& req) {
    req.body_stream();
    return "never";
  });
  http::TestClient c(app);
  BOOST_TEST(c.post("/upload", std::string(10, 'x')).body() == "10 in 3");
  BOOST_TEST(c.post("/upload", std::string(101, 'x')).result_int() == 413);
  BOOST_TEST(c.post("/whole", std::string("x")).result_int() == 500);  // logic_error: no stream
}

SPINDLE_TEST_CASE(startup_and_shutdown_hooks_run_in_order_and_a_failing_one_is_reported) {
  std::vector<std::string> trace;
  http::Router app;
  app.on_startup([&] { trace.push_back("start 1"); });
  app.on_startup([&] {
    spindle::sleep(1s);  // hooks may block
    trace.push_back("start 2");
  });
  app.on_shutdown([&] { throw std::runtime_error("stop failed"); });
  app.on_shutdown([&] { trace.push_back("stop 2"); });
  spindle_test::Reports reports;
  spindle::Loop::current().set_exception_handler([&](const spindle::ExceptionContext& c) {
    reports.items.push_back(c);
  });
  { http::TestClient c(app); }
  BOOST_TEST(trace == (std::vector<std::string>{"start 1", "start 2", "stop 2"}));
  BOOST_REQUIRE(reports.items.size() == 1u);
  BOOST_TEST(reports.items[0].message == "TestClient: a shutdown hook failed: stop failed");
}

SPINDLE_TEST_CASE(the_openapi_document_describes_routes_parameters_bodies_and_schemas) {
  http::Router app;
  app.get("/items/{id}", [](int id, http::Query<shop::Paging>) {
            shop::Item item;
            item.name = std::to_string(id);
            return item;
          },
          {.summary = "Read an item", .tags = {"items"}});
  app.post("/items", [](shop::Item item) { return item; }, {.status_code = http::status::created});
  app.del("/items/{id}", [](http::Request&) {});
  app.get("/files/{path...}", [](http::Request&) { return http::text("f"); });
  app.get("/hidden", [] { return "h"; }, {.include_in_schema = false});
  app.websocket("/ws", [](http::WebSocket&) {});
  app.openapi("/openapi.json", "Shop", "2.0");
  http::TestClient c(app);
  const json::value doc = body_json(c.get("/openapi.json"));
  BOOST_TEST(doc.at("openapi").as_string() == "3.1.0");
  BOOST_TEST(doc.at("info").at("title").as_string() == "Shop");
  const auto& paths = doc.at("paths").as_object();
  BOOST_TEST(paths.size() == 3u);  // not /hidden, /ws or /openapi.json
  const auto& get = paths.at("/items/{id}").at("get");
  BOOST_TEST(get.at("summary").as_string() == "Read an item");
  BOOST_TEST(get.at("operationId").as_string() == "get_items__id_");
  const auto& params = get.at("parameters").as_array();
  BOOST_TEST(params.size() == 6u);  // id, then Paging's five
  BOOST_TEST(json::serialize(params[0]) ==
             R"({"name":"id","in":"path","required":true,"schema":{"type":"integer"}})");
  BOOST_TEST(json::serialize(params[1]) ==
             R"({"name":"limit","in":"query","required":false,"schema":{"type":"integer","default":10}})");
  BOOST_TEST(json::serialize(params[4]) ==
             R"({"name":"ids","in":"query","required":false,"schema":{"type":"array","items":{"type":"integer"}}})");
  BOOST_TEST(get.at("responses").at("200").at("content").at("application/json").at("schema").at("$ref").as_string() ==
             "#/components/schemas/Item");
  BOOST_TEST(get.at("responses").as_object().contains("422"));
  const auto& post = paths.at("/items").at("post");
  BOOST_TEST(post.at("requestBody").at("content").at("application/json").at("schema").at("$ref").as_string() ==
             "#/components/schemas/Item");
  BOOST_TEST(post.at("responses").as_object().contains("201"));
  BOOST_TEST(paths.at("/items/{id}").at("delete").at("responses").as_object().contains("204"));
  BOOST_TEST(paths.at("/files/{path}").at("get").at("parameters").at(0).at("schema").at("type").as_string() == "string");
  const auto& schemas = doc.at("components").at("schemas").as_object();
  const auto& item = schemas.at("Item");
  BOOST_TEST(json::serialize(item.at("required")) == R"(["name","price","tags","size","stock"])");
  BOOST_TEST(item.at("properties").at("box").at("$ref").as_string() == "#/components/schemas/Dimensions");
  BOOST_TEST(item.at("properties").at("size").at("$ref").as_string() == "#/components/schemas/Size");
  BOOST_TEST(item.at("properties").at("stock").at("additionalProperties").at("type").as_string() == "integer");
  BOOST_TEST(json::serialize(schemas.at("Size").at("enum")) == R"(["small","medium","large"])");
  BOOST_TEST(schemas.contains("Dimensions"));
  BOOST_TEST(schemas.contains("HTTPValidationError"));
  BOOST_TEST(app.openapi_document() == doc);
}

SPINDLE_TEST_CASE(a_websocket_route_answers_a_plain_get_with_426) {
  http::Router app;
  app.websocket("/ws", [](http::WebSocket& ws, http::Request&) { ws.write_text("hi"); });
  http::TestClient c(app);
  auto r = c.get("/ws");
  BOOST_TEST(r.result_int() == 426);
  BOOST_TEST(std::string(r[http::field::upgrade]) == "websocket");
}

BOOST_AUTO_TEST_SUITE_END()
