// spindle::http: HTTP/1.1 servers and WebSockets on Boost.Beast, HTTP clients on libcurl,
// all in tasks. A component of its own: Meson dependency 'spindle-http', pkg-config
// spindle-http.
#pragma once

#if __cplusplus < 202002L
#error "spindle needs C++20"
#endif

#include <spindle/http/beast_stream.hpp>
#include <spindle/http/client.hpp>
#include <spindle/http/server.hpp>
#include <spindle/http/websocket.hpp>
