// spindle::io: addresses, sockets, streams, servers, name resolution, signals, readiness waits.
#pragma once

#include <spindle/io/address.hpp>
#include <spindle/io/resolve.hpp>
#include <spindle/io/server.hpp>
#include <spindle/io/signal.hpp>
#include <spindle/io/socket.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/io/wait.hpp>
