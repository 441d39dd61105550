// TestClient: the serving steps of serve() without the socket. The request goes through the
// same handler call (detail::respond: a 500 for an exception, reported the same way), the
// response gets what serve() gives it (version, keep-alive, Content-Length), a streamed body
// is collected, and HEAD loses its body but keeps its Content-Length.
#include <spindle/cancel.hpp>
#include <spindle/http/test_client.hpp>
#include <spindle/task.hpp>

#include <algorithm>
#include <cstring>

#include "exchange.hpp"

namespace spindle::http {

namespace {

/// A streamed request body that is all here already.
class StringBody final : public BodyReader {
 public:
  explicit StringBody(std::string data) : data_(std::move(data)) {}
  std::size_t read_some(std::span<char> buf) override {
    const std::size_t n = std::min(buf.size(), data_.size() - pos_);
    std::memcpy(buf.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  std::size_t pos_ = 0;
};

Headers with_json_type(const Headers& headers) {
  Headers out = headers;
  const bool typed = std::any_of(headers.begin(), headers.end(), [](const auto& h) {
    return ::strcasecmp(h.first.c_str(), "Content-Type") == 0;
  });
  if (!typed) out.emplace_back("Content-Type", "application/json");
  return out;
}

}  // namespace

TestClient::TestClient(Router app) : app_(std::move(app)) {
  app_.freeze();
  app_.startup();
}

TestClient::~TestClient() {
  try {
    CancelShield shield;
    app_.shutdown();
  } catch (const std::exception& e) {
    Loop::current().call_exception_handler({std::string("TestClient: a shutdown hook failed: ") +
                                                e.what(),
                                            std::current_exception(), current_task().name()});
  }
}

Response TestClient::get(std::string_view target, const Headers& headers) {
  return request(verb::get, target, {}, headers);
}

Response TestClient::post(std::string_view target, std::string body, const Headers& headers) {
  return request(verb::post, target, std::move(body), headers);
}

Response TestClient::post(std::string_view target, const boost::json::value& body,
                          const Headers& headers) {
  return request(verb::post, target, boost::json::serialize(body), with_json_type(headers));
}

Response TestClient::put(std::string_view target, std::string body, const Headers& headers) {
  return request(verb::put, target, std::move(body), headers);
}

Response TestClient::put(std::string_view target, const boost::json::value& body,
                         const Headers& headers) {
  return request(verb::put, target, boost::json::serialize(body), with_json_type(headers));
}

Response TestClient::patch(std::string_view target, const boost::json::value& body,
                           const Headers& headers) {
  return request(verb::patch, target, boost::json::serialize(body), with_json_type(headers));
}

Response TestClient::del(std::string_view target, const Headers& headers) {
  return request(verb::delete_, target, {}, headers);
}

Response TestClient::request(verb method, std::string_view target, std::string body,
                             const Headers& headers) {
  Request req(method, target, std::move(body));
  for (const auto& [name, value] : headers) req.insert(name, value);
  return send(std::move(req));
}

Response TestClient::send(Request req) {
  if (req.find(field::host) == req.end()) req.set(field::host, "testserver");
  if (!req.body().empty() && !req.has_content_length() && !req.chunked()) req.prepare_payload();
  detail::Exchange ex;
  req.set_exchange(&ex);
  std::optional<StringBody> body;
  std::optional<std::uint64_t> limit;
  const bool streamed = app_.streams_body(req, &limit);
  if (limit && req.body().size() > *limit) {  // what serve() answers, before the handler
    Response r = text("Payload Too Large\n", status::payload_too_large);
    r.keep_alive(false);
    r.prepare_payload();
    return r;
  }
  if (streamed) {
    body.emplace(std::move(req.body()));
    req.body().clear();
    ex.body = &*body;
  }
  Response res = detail::respond(app_, req);
  detail::stamp(res, {});
  res.version(11);
  res.keep_alive(req.keep_alive());
  if (ex.streams(res)) {
    if (req.method() != verb::head) {
      try {
        res.body() = detail::collect(ex);
      } catch (const std::exception& e) {
        Loop::current().call_exception_handler({std::string("http stream failed: ") + e.what(),
                                                std::current_exception(), current_task().name()});
      }
    }
  } else {
    res.prepare_payload();
  }
  if (req.method() == verb::head) res.body().clear();
  return res;
}

}  // namespace spindle::http
