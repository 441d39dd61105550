// spindle::io: addresses, sockets, streams, TLS, servers, pipes, subprocesses, files, names,
// signals, readiness.
#pragma once

#include <spindle/io/address.hpp>
#include <spindle/io/file.hpp>
#include <spindle/io/pipe.hpp>
#include <spindle/io/process.hpp>
#include <spindle/io/resolve.hpp>
#include <spindle/io/server.hpp>
#include <spindle/io/signal.hpp>
#include <spindle/io/socket.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/io/tls.hpp>
#include <spindle/io/wait.hpp>
