// A small JSON key-value API on http::serve, with one log line per request:
//   GET /kv          -> {"keys": ["a", "b"]}
//   GET /kv/KEY      -> {"key": "KEY", "value": "..."}   (404 if absent)
//   PUT /kv/KEY      -> stores the request body as KEY's value: 201, or 200 if replaced
//   DELETE /kv/KEY   -> 204 (404 if absent)
// Usage: http_api [--host H] [--port N]   (SIGINT/SIGTERM stops it)
#include <spindle/http.hpp>
#include <spindle/spindle.hpp>

#include <csignal>
#include <cstdio>
#include <map>
#include <string>

#include "server_args.hpp"

namespace http = spindle::http;

namespace {

// A JSON string literal for s.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

http::Response error(http::status code, const std::string& message) {
  return http::json("{\"error\": " + quoted(message) + "}", code);
}

class Store {
 public:
  http::Response handle(http::Request& req) {
    const std::string target(req.target());
    if (target == "/kv" && req.method() == http::verb::get) return list();
    if (target.rfind("/kv/", 0) != 0 || target.size() == 4) return error(http::status::not_found, "no such resource");
    const std::string key = target.substr(4);
    switch (req.method()) {
      case http::verb::get: {
        const auto it = values_.find(key);
        if (it == values_.end()) return error(http::status::not_found, "no key " + key);
        return http::json("{\"key\": " + quoted(key) + ", \"value\": " + quoted(it->second) + "}");
      }
      case http::verb::put: {
        const bool existed = values_.count(key) > 0;
        values_[key] = req.body();
        return http::json("{\"key\": " + quoted(key) + ", \"value\": " + quoted(req.body()) + "}",
                          existed ? http::status::ok : http::status::created);
      }
      case http::verb::delete_:
        if (values_.erase(key) == 0) return error(http::status::not_found, "no key " + key);
        return http::response(http::status::no_content);
      default:
        return error(http::status::method_not_allowed, "use GET, PUT or DELETE");
    }
  }

 private:
  http::Response list() const {
    std::string keys;
    for (const auto& [k, v] : values_) keys += (keys.empty() ? "" : ", ") + quoted(k);
    return http::json("{\"keys\": [" + keys + "]}");
  }
  std::map<std::string, std::string> values_;
};

}  // namespace

int main(int argc, char** argv) {
  const ServerArgs args = parse_server_args(argc, argv, 8080);
  spindle::run([&args] {
    Store store;
    auto server = http::serve(
        [&store](http::Request& req) {
          http::Response res = store.handle(req);
          std::printf("%s %s %u %zu bytes\n", std::string(req.method_string()).c_str(),
                      std::string(req.target()).c_str(), res.result_int(), res.body().size());
          std::fflush(stdout);
          return res;
        },
        args.host, args.port);
    std::printf("listening on %s\n", server.addresses().at(0).to_string().c_str());
    std::fflush(stdout);
    spindle::io::wait_signal({SIGINT, SIGTERM});
    server.close();
  });
}
