// Router::static_files through TestClient: types, index files and directory redirects,
// validators and 304, byte ranges (206, 416, If-Range), big files sent in pieces, and every
// way of escaping the directory (.., encoded dots, NUL, symbolic links out) refused with 404.
#include <spindle/http.hpp>
#include <spindle_test.hpp>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace http = spindle::http;

namespace {

/// A directory tree for one test: site/ (served) beside secret.txt (not served).
struct Site {
  std::string top, dir;
  Site() {
    char tmpl[] = "/tmp/spindle-static-XXXXXX";
    top = ::mkdtemp(tmpl);
    dir = top + "/site";
    ::mkdir(dir.c_str(), 0755);
    ::mkdir((dir + "/docs").c_str(), 0755);
    ::mkdir((dir + "/empty").c_str(), 0755);
    write(dir + "/index.html", "<h1>home</h1>");
    write(dir + "/style.css", "body{}");
    write(dir + "/docs/index.html", "<h1>docs</h1>");
    write(dir + "/notes.txt", "0123456789abcdefghij");
    write(dir + "/blob", std::string(3 * 1024 * 1024 + 7, 'b'));
    write(top + "/secret.txt", "top secret");
    BOOST_REQUIRE(::symlink("../secret.txt", (dir + "/leak.txt").c_str()) == 0);
    BOOST_REQUIRE(::symlink("/etc", (dir + "/etc").c_str()) == 0);
    BOOST_REQUIRE(::symlink("notes.txt", (dir + "/alias.txt").c_str()) == 0);
    BOOST_REQUIRE(::mkfifo((dir + "/pipe").c_str(), 0644) == 0);
  }
  ~Site() { std::system(("rm -rf " + top).c_str()); }
  static void write(const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
  }
};

std::string field(const http::Response& r, http::field f) { return std::string(r[f]); }

}  // namespace

BOOST_AUTO_TEST_SUITE(static_files)

SPINDLE_TEST_CASE(files_come_with_their_type_and_directories_with_their_index) {
  Site site;
  http::Router app;
  app.static_files("/static", site.dir);
  http::TestClient c(app);
  auto css = c.get("/static/style.css");
  BOOST_TEST(css.result_int() == 200);
  BOOST_TEST(css.body() == "body{}");
  BOOST_TEST(field(css, http::field::content_type) == "text/css; charset=utf-8");
  BOOST_TEST(field(css, http::field::accept_ranges) == "bytes");
  BOOST_TEST(c.get("/static/").body() == "<h1>home</h1>");
  BOOST_TEST(field(c.get("/static/"), http::field::content_type) == "text/html; charset=utf-8");
  BOOST_TEST(c.get("/static/docs/").body() == "<h1>docs</h1>");
  auto redirect = c.get("/static/docs?v=2");
  BOOST_TEST(redirect.result_int() == 307);
  BOOST_TEST(field(redirect, http::field::location) == "/static/docs/?v=2");
  BOOST_TEST(field(c.get("/static"), http::field::location) == "/static/");
  BOOST_TEST(c.get("/static/empty/").result_int() == 404);  // no index, no listing
  BOOST_TEST(c.get("/static/missing.txt").result_int() == 404);
  BOOST_TEST(c.get("/static/alias.txt").body() == "0123456789abcdefghij");  // a link inside: fine
  BOOST_TEST(field(c.get("/static/blob"), http::field::content_type) == "application/octet-stream");
  BOOST_TEST(c.get("/static/pipe").result_int() == 404);  // not a regular file (and no hang)
  auto head = c.request(http::verb::head, "/static/notes.txt");
  BOOST_TEST(head.body().empty());
  BOOST_TEST(field(head, http::field::content_length) == "20");
}

SPINDLE_TEST_CASE(no_request_reaches_outside_the_directory) {
  Site site;
  http::Router app;
  app.static_files("/static", site.dir);
  app.get("/secret.txt", [] { return "route, not file"; });
  http::TestClient c(app);
  for (const char* target :
       {"/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/%2E%2E%2Fsecret.txt",
        "/static/docs/../../secret.txt", "/static/./notes.txt", "/static/leak.txt",
        "/static/etc/passwd", "/static/notes.txt%00.png", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static/docs/%2e%2e/%2e%2e/secret.txt"}) {
    auto r = c.get(target);
    BOOST_TEST(r.result_int() == 404, target);
    BOOST_TEST(r.body().find("secret") == std::string::npos, target);
    BOOST_TEST(r.body().find("root:") == std::string::npos, target);
  }
}

SPINDLE_TEST_CASE(validators_answer_conditional_requests_with_304) {
  Site site;
  http::Router app;
  app.static_files("/s", site.dir, {.cache_control = "public, max-age=60"});
  http::TestClient c(app);
  auto first = c.get("/s/notes.txt");
  const std::string etag = field(first, http::field::etag);
  const std::string modified = field(first, http::field::last_modified);
  BOOST_TEST(etag.size() > 2u);
  BOOST_TEST(modified.ends_with(" GMT"));
  BOOST_TEST(field(first, http::field::cache_control) == "public, max-age=60");
  auto same = c.get("/s/notes.txt", {{"If-None-Match", "\"other\", " + etag}});
  BOOST_TEST(same.result_int() == 304);
  BOOST_TEST(same.body().empty());
  BOOST_TEST(field(same, http::field::etag) == etag);
  BOOST_TEST(c.get("/s/notes.txt", {{"If-None-Match", "W/" + etag}}).result_int() == 304);
  BOOST_TEST(c.get("/s/notes.txt", {{"If-None-Match", "*"}}).result_int() == 304);
  BOOST_TEST(c.get("/s/notes.txt", {{"If-None-Match", "\"other\""}}).result_int() == 200);
  BOOST_TEST(c.get("/s/notes.txt", {{"If-Modified-Since", modified}}).result_int() == 304);
  BOOST_TEST(c.get("/s/notes.txt", {{"If-Modified-Since", "Mon, 01 Jan 1990 00:00:00 GMT"}}).result_int() == 200);
  // If-None-Match decides when both are there.
  BOOST_TEST(c.get("/s/notes.txt", {{"If-None-Match", "\"other\""}, {"If-Modified-Since", modified}})
                 .result_int() == 200);
}

SPINDLE_TEST_CASE(single_byte_ranges_get_206_and_unsatisfiable_ones_416) {
  Site site;
  http::Router app;
  app.static_files("/s", site.dir);
  http::TestClient c(app);
  auto mid = c.get("/s/notes.txt", {{"Range", "bytes=2-5"}});
  BOOST_TEST(mid.result_int() == 206);
  BOOST_TEST(mid.body() == "2345");
  BOOST_TEST(field(mid, http::field::content_range) == "bytes 2-5/20");
  BOOST_TEST(field(mid, http::field::content_length) == "4");
  BOOST_TEST(c.get("/s/notes.txt", {{"Range", "bytes=-3"}}).body() == "hij");
  BOOST_TEST(c.get("/s/notes.txt", {{"Range", "bytes=18-"}}).body() == "ij");
  BOOST_TEST(c.get("/s/notes.txt", {{"Range", "bytes=15-100"}}).body() == "fghij");
  auto past = c.get("/s/notes.txt", {{"Range", "bytes=20-"}});
  BOOST_TEST(past.result_int() == 416);
  BOOST_TEST(field(past, http::field::content_range) == "bytes */20");
  // Several ranges, a malformed one, or a stale If-Range: the whole file.
  BOOST_TEST(c.get("/s/notes.txt", {{"Range", "bytes=0-1,4-5"}}).result_int() == 200);
  BOOST_TEST(c.get("/s/notes.txt", {{"Range", "bytes=5-2"}}).result_int() == 200);
  BOOST_TEST(c.get("/s/notes.txt", {{"Range", "items=0-1"}}).result_int() == 200);
  const std::string etag = field(c.get("/s/notes.txt"), http::field::etag);
  BOOST_TEST(c.get("/s/notes.txt", {{"Range", "bytes=0-0"}, {"If-Range", etag}}).result_int() == 206);
  BOOST_TEST(c.get("/s/notes.txt", {{"Range", "bytes=0-0"}, {"If-Range", "\"old\""}}).result_int() == 200);
}

SPINDLE_TEST_CASE(big_files_are_sent_in_pieces_whole_and_in_ranges) {
  Site site;
  http::Router app;
  app.static_files("/s", site.dir, {.max_buffered = 64 * 1024});
  http::TestClient c(app);
  auto all = c.get("/s/blob");
  BOOST_TEST(all.body().size() == 3u * 1024 * 1024 + 7);
  BOOST_TEST(all.body() == std::string(3 * 1024 * 1024 + 7, 'b'));
  BOOST_TEST(field(all, http::field::content_length) == std::to_string(3 * 1024 * 1024 + 7));
  BOOST_TEST(c.get("/s/blob", {{"Range", "bytes=1048570-1048580"}}).body() == std::string(11, 'b'));
}

SPINDLE_TEST_CASE(a_directory_served_at_the_root_leaves_literal_routes_first) {
  Site site;
  http::Router app;
  app.get("/api/ping", [] { return "pong"; });
  app.static_files("/", site.dir);
  http::TestClient c(app);
  BOOST_TEST(c.get("/").body() == "<h1>home</h1>");
  BOOST_TEST(c.get("/style.css").body() == "body{}");
  BOOST_TEST(c.get("/api/ping").body() == "pong");
  BOOST_TEST(c.get("/api/other").result_int() == 404);
}

SPINDLE_TEST_CASE(a_directory_that_cannot_be_opened_is_refused_at_once) {
  http::Router app;
  try {
    app.static_files("/s", "/nonexistent/spindle/dir");
    BOOST_ERROR("accepted");
  } catch (const std::system_error& e) {
    BOOST_TEST(e.code().value() == ENOENT);
    BOOST_TEST(std::string(e.what()).find("/nonexistent/spindle/dir") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
