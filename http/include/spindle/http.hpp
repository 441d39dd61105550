// spindle::http: HTTP/1.1 servers, a web framework (routes, typed parameters, JSON, streaming,
// static files, OpenAPI) and WebSockets on Boost.Beast; HTTP clients on libcurl; all in tasks.
// A component of its own: Meson dependency 'spindle-http', pkg-config spindle-http.
#pragma once

#if __cplusplus < 202002L
#error "spindle needs C++20"
#endif

#include <spindle/http/app.hpp>
#include <spindle/http/beast_stream.hpp>
#include <spindle/http/client.hpp>
#include <spindle/http/errors.hpp>
#include <spindle/http/metrics.hpp>
#include <spindle/http/middleware.hpp>
#include <spindle/http/request.hpp>
#include <spindle/http/router.hpp>
#include <spindle/http/server.hpp>
#include <spindle/http/streaming.hpp>
#include <spindle/http/test_client.hpp>
#include <spindle/http/websocket.hpp>
