// http::fetch without libcurl (spindle-http built while libcurl was not found): every call
// throws FetchError saying so. The server and WebSocket parts need only Boost.Beast.
#include <spindle/http/client.hpp>

namespace spindle::http {
namespace {
[[noreturn]] void unavailable() {
  throw FetchError(-1, "http::fetch: spindle-http was built without libcurl; rebuild with "
                       "libcurl4-openssl-dev installed");
}
}  // namespace

FetchResult fetch(std::string, FetchOptions, SourceLocation) { unavailable(); }
FetchResult Client::request(std::string, std::string, std::string,
                            std::vector<std::pair<std::string, std::string>>, SourceLocation) {
  unavailable();
}
bool fetch_available() noexcept { return false; }

}  // namespace spindle::http
