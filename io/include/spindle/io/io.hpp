// spindle::io: addresses, sockets and readiness waits (streams and servers come next).
#pragma once

#include <spindle/io/address.hpp>
#include <spindle/io/socket.hpp>
#include <spindle/io/wait.hpp>
