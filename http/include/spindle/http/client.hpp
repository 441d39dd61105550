// HTTP clients on libcurl: fetch(), Client. Transfers run on one curl multi handle per loop,
// driven by the loop's own reactor and timers: no extra thread, no polling.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/loop.hpp>
#include <spindle/source_location.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spindle::http {

/// A transfer that failed: what() is curl's message ("Couldn't connect to server", "SSL
/// certificate problem: self-signed certificate", "Timeout was reached: ..."); code() is
/// curl's CURLcode. asyncio users: aiohttp.ClientError, httpx.HTTPError
class SPINDLE_API FetchError : public std::runtime_error {
 public:
  FetchError(int curl_code, const std::string& what) : std::runtime_error(what), code_(curl_code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

/// A response.
struct FetchResult {
  int status = 0;
  /// The final response's header fields in order (after redirects), names as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// The value of the first header named `name` (case-insensitive), or "".
  std::string header(std::string_view name) const {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    for (const auto& [k, v] : headers) {
      if (k.size() != name.size()) continue;
      bool same = true;
      for (std::size_t i = 0; same && i < k.size(); ++i) same = lower(k[i]) == lower(name[i]);
      if (same) return v;
    }
    return {};
  }
};

/// How to make a request.
struct FetchOptions {
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  /// The whole transfer must finish within this; unset: no limit.
  std::optional<Clock::duration> timeout{};
  Clock::duration connect_timeout = std::chrono::seconds(30);
  bool follow_redirects = true;
  /// Verify the server's TLS certificate and host name (against the system CAs, and
  /// ca_file if set). Off only for tests.
  bool verify = true;
  std::string ca_file{};
};

/// Fetches `url` (http, https; HTTP/2 where the server offers it) and returns the response,
/// whatever its status. Connections are kept and reused by later fetches on the same loop.
/// Blocks until the response is complete. Cancellation: the transfer is aborted and its
/// resources freed. Throws FetchError (connection, TLS, timeout, protocol), std::logic_error
/// outside a task. asyncio users: `await session.get(url)` (aiohttp), `await client.get(url)`
/// (httpx)
SPINDLE_API FetchResult fetch(std::string url, FetchOptions options = {},
                              SourceLocation where = SourceLocation::current());

/// Defaults shared by a set of requests (headers, timeouts, TLS settings), as a session.
/// Connection reuse and HTTP/2 multiplexing happen on the loop's transfer engine whatever
/// Client made the request. asyncio users: aiohttp.ClientSession, httpx.AsyncClient
class SPINDLE_API Client {
 public:
  explicit Client(FetchOptions defaults = {}) : defaults_(std::move(defaults)) {}
  /// A GET with the defaults.
  FetchResult get(std::string url, SourceLocation where = SourceLocation::current()) {
    return http::fetch(std::move(url), defaults_, where);
  }
  /// A request with the defaults, method and body as given; `headers` are added to the
  /// defaults'.
  FetchResult request(std::string method, std::string url, std::string body = {},
                      std::vector<std::pair<std::string, std::string>> headers = {},
                      SourceLocation where = SourceLocation::current());

 private:
  FetchOptions defaults_;
};

/// True if spindle-http was built with libcurl; without it, fetch() throws FetchError.
SPINDLE_API bool fetch_available() noexcept;

}  // namespace spindle::http
