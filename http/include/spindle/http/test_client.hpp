// http::TestClient: calls a Router in process, without sockets, for unit tests.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/http/router.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace spindle::http {

/// Sends requests straight to an application, in the calling task, and returns the response
/// the server would send: the same routing, middleware, error mapping, 500 for an exception
/// (reported to the loop's exception handler, as serve() does), HEAD without a body, and a
/// streamed body collected whole. The request has Host "testserver" and no client address.
/// WebSocket routes need a real server. Use inside spindle::run(). The constructor runs the
/// application's startup hooks, the destructor its shutdown hooks.
/// asyncio users: FastAPI's (Starlette's) TestClient
class SPINDLE_API TestClient {
 public:
  /// Throws what a startup hook throws.
  explicit TestClient(Router app);
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;
  /// Runs the shutdown hooks (cancellation held back); their exceptions go to the loop's
  /// exception handler.
  ~TestClient();

  /// GET target ("/todos?limit=2") with extra header fields.
  Response get(std::string_view target, const Headers& headers = {});
  /// POST with a body as it is.
  Response post(std::string_view target, std::string body = {}, const Headers& headers = {});
  /// POST with a JSON body (Content-Type: application/json).
  Response post(std::string_view target, const boost::json::value& body,
                const Headers& headers = {});
  /// PUT with a body as it is.
  Response put(std::string_view target, std::string body = {}, const Headers& headers = {});
  /// PUT with a JSON body.
  Response put(std::string_view target, const boost::json::value& body,
               const Headers& headers = {});
  /// PATCH with a JSON body.
  Response patch(std::string_view target, const boost::json::value& body,
                 const Headers& headers = {});
  /// DELETE.
  Response del(std::string_view target, const Headers& headers = {});
  /// Any method, any body.
  Response request(verb method, std::string_view target, std::string body = {},
                   const Headers& headers = {});
  /// A request built by hand (its Host is kept if set).
  Response send(Request req);

 private:
  Router app_;
};

}  // namespace spindle::http
