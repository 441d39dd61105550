// Servers: one accept-loop task per listening socket, one task per connection. The state is
// shared by the handle and the tasks; close() cancels the accept loops and closes the
// listeners; wait_closed() waits for the connection tasks, which the state tracks.
#include <spindle/event.hpp>
#include <spindle/io/resolve.hpp>
#include <spindle/io/server.hpp>
#include <spindle/loop.hpp>
#include <spindle/sleep.hpp>
#include <spindle/task.hpp>

#include "tls_session.hpp"

#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

namespace spindle::io {
namespace detail {

struct ServerState {
  spindle::detail::UniqueFunction<void(Stream&)> handler;
  ServerOptions options;
  std::vector<Socket> listeners;
  std::vector<Address> addresses;
  std::vector<AnyTask> acceptors;
  std::size_t connections = 0;
  bool closed = false;
  spindle::Event closed_event;  // set by close()
  spindle::Event idle_event;    // set while no connection is being served
  std::string unix_path;        // removed on close

  void serve(Socket conn, bool tcp);
  static void accept_loop(const std::shared_ptr<ServerState>& self, std::size_t i);
};

void ServerState::serve(Socket conn, bool tcp) {
  ++connections;
  idle_event.clear();
  struct Done {
    ServerState* s;
    ~Done() {
      if (--s->connections == 0) s->idle_event.set();
    }
  } done{this};
  if (tcp) {
    // As asyncio and Go do: replies go out at once, not after the peer's delayed ACK.
    try {
      conn.set_nodelay(true);
    } catch (const std::system_error&) {
      // the peer is already gone: the handler's first read will say so
    }
  }
  Stream stream(std::move(conn), options.stream);
  if (options.tls) {
    try {
      detail::handshake(stream, *options.tls, {}, options.tls_handshake_timeout,
                        SourceLocation::current());
    } catch (const std::exception& e) {
      // A client's failure, not the server's: asyncio reports it only in debug mode too.
      spindle::Loop& loop = spindle::Loop::current();
      if (loop.debug()) {
        loop.call_exception_handler({std::string("TLS handshake failed: ") + e.what(),
                                     std::current_exception(), spindle::current_task().name()});
      }
      return;  // the stream is closed already
    }
  }
  try {
    handler(stream);
  } catch (const std::exception& e) {
    spindle::Loop::current().call_exception_handler(
        {std::string("connection handler failed: ") + e.what(), std::current_exception(),
         spindle::current_task().name()});
  }
  // CancelledError (server shutdown) passes through; the Stream closes the connection.
}

void ServerState::accept_loop(const std::shared_ptr<ServerState>& self, std::size_t i) {
  bool reported = false;
  const bool tcp = self->addresses[i].family() != AF_UNIX;
  for (;;) {
    try {
      Socket conn = self->listeners[i].accept();
      reported = false;
      // Each connection task co-owns the state: the Server handle may go away first.
      spindle::spawn([self, tcp](Socket c) { self->serve(std::move(c), tcp); }, std::move(conn));
    } catch (const std::system_error& e) {
      const int err = e.code().value();
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Out of fds or memory: back off instead of spinning; keep serving.
        if (!reported) {
          spindle::Loop::current().call_exception_handler(
              {"accept failed, pausing 100 ms: " + std::string(e.what()), nullptr, ""});
          reported = true;
        }
        spindle::sleep(std::chrono::milliseconds(100));
      } else if (err == ECONNABORTED || err == EPROTO || err == EPERM) {
        continue;  // the client gave up before we accepted
      } else {
        throw;  // closed (ECANCELED/EBADF) or broken: the accept loop ends
      }
    }
  }
}

std::shared_ptr<ServerState> listen_and_serve(std::shared_ptr<ServerState> s) {
  s->idle_event.set();
  for (std::size_t i = 0; i < s->listeners.size(); ++i) {
    s->addresses.push_back(s->listeners[i].local_address());
  }
  for (std::size_t i = 0; i < s->listeners.size(); ++i) {
    s->acceptors.push_back(spindle::spawn(
        spindle::TaskOptions{.name = "accept " + s->addresses[i].to_string()},
        [s, i] {
          try {
            ServerState::accept_loop(s, i);
          } catch (const std::system_error&) {
            // the listener was closed
          }
        }));
  }
  return s;
}

}  // namespace detail

Server::Server(std::shared_ptr<detail::ServerState> s) noexcept : s_(std::move(s)) {}
Server::Server(Server&&) noexcept = default;
Server& Server::operator=(Server&&) noexcept = default;
Server::~Server() { close(); }

std::uint16_t Server::port() const { return s_->addresses.empty() ? 0 : s_->addresses[0].port(); }
std::vector<Address> Server::addresses() const { return s_->addresses; }

void Server::close() noexcept {
  if (!s_ || s_->closed) return;
  s_->closed = true;
  for (AnyTask& t : s_->acceptors) t.cancel("server closed");
  for (Socket& l : s_->listeners) l.close();
  if (!s_->unix_path.empty()) ::unlink(s_->unix_path.c_str());
  s_->closed_event.set();
}

void Server::serve_forever(SourceLocation where) { s_->closed_event.wait(where); }

void Server::wait_closed(SourceLocation where) {
  s_->closed_event.wait(where);
  s_->idle_event.wait(where);
}

namespace {
Socket listening_socket(const Address& a, const ServerOptions& o) {
  Socket s(a.family(), SOCK_STREAM);
  if (a.family() != AF_UNIX) {
    s.set_reuse_address(o.reuse_address);
    if (o.reuse_port) s.set_reuse_port(true);
  }
  s.bind(a);
  s.listen(o.backlog);
  return s;
}
}  // namespace

Server start_server(spindle::detail::UniqueFunction<void(Stream&)> handler,
                    std::string_view host, std::uint16_t port, ServerOptions options) {
  auto s = std::make_shared<detail::ServerState>();
  s->handler = std::move(handler);
  s->options = options;
  const std::string_view h = host.empty() ? std::string_view("0.0.0.0") : host;
  for (const Address& a : resolve(h, std::to_string(port))) {
    s->listeners.push_back(listening_socket(a, options));
    if (port == 0) break;  // one ephemeral port, not one per address family
  }
  return Server(detail::listen_and_serve(std::move(s)));
}

Server start_unix_server(spindle::detail::UniqueFunction<void(Stream&)> handler,
                         std::string_view path, ServerOptions options) {
  auto s = std::make_shared<detail::ServerState>();
  s->handler = std::move(handler);
  s->options = options;
  const Address a = Address::unix_path(path);
  if (path[0] != '@') {
    s->unix_path = std::string(path);
    ::unlink(s->unix_path.c_str());
  }
  s->listeners.push_back(listening_socket(a, options));
  return Server(detail::listen_and_serve(std::move(s)));
}

}  // namespace spindle::io
