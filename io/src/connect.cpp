// Connecting: open_connection over a name, an address or a list of addresses (tried one after
// another, or raced RFC 8305 style with a happy_eyeballs_delay), open_unix_connection, and
// the TLS handshake that follows when ConnectOptions::tls asks for it.
//
// A race runs its attempts as tasks of one TaskGroup: the next attempt starts when the delay
// has passed or an earlier attempt ended; the first socket to connect wins and every other
// attempt is cancelled, closing its socket as it unwinds. Cancelling the caller cancels and
// waits for all of them, so no attempt outlives the call.
#include <spindle/errors.hpp>
#include <spindle/event.hpp>
#include <spindle/io/resolve.hpp>
#include <spindle/io/stream.hpp>
#include <spindle/task_group.hpp>
#include <spindle/timeout.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tls_session.hpp"

namespace spindle::io {
namespace {

Socket connect_one(const Address& a, const ConnectOptions& o, SourceLocation where) {
  Socket s(a.family(), SOCK_STREAM);
  if (o.local_address) s.bind(*o.local_address);
  s.connect(a, where);
  return s;
}

[[noreturn]] void all_failed(const std::string& target, const std::vector<std::string>& errors,
                             std::error_code last) {
  std::string msg = "open_connection " + target + ": ";
  if (errors.size() == 1) {
    msg += errors[0];
  } else {
    msg += "no address accepted the connection (";
    for (std::size_t i = 0; i < errors.size(); ++i) msg += (i ? "; " : "") + errors[i];
    msg += ")";
  }
  throw std::system_error(last, msg);
}

/// A connected socket and the family of the address it reached.
using Connected = std::pair<Socket, int>;

Connected connect_in_turn(const std::vector<Address>& as, const ConnectOptions& o,
                          const std::string& target, SourceLocation where) {
  std::vector<std::string> errors;
  std::error_code last;
  for (const Address& a : as) {
    try {
      return {connect_one(a, o, where), a.family()};
    } catch (const std::system_error& e) {
      errors.push_back(e.what());
      last = e.code();
    }
  }
  all_failed(target, errors, last);
}

Connected connect_raced(const std::vector<Address>& as, const ConnectOptions& o,
                        const std::string& target, SourceLocation where) {
  std::optional<Connected> winner;
  std::vector<std::string> errors(as.size());
  std::error_code last;
  std::size_t started = 0, ended = 0;
  spindle::Event progress;  // set whenever an attempt ends
  spindle::task_group([&](spindle::TaskGroup& g) {
    std::vector<spindle::Task<void>> attempts;
    // Until it connects, fails, or is cancelled (losers: their socket closes as it unwinds).
    auto attempt = [&](std::size_t i) {
      try {
        Socket s = connect_one(as[i], o, where);
        if (!winner) winner.emplace(std::move(s), as[i].family());
      } catch (const std::system_error& e) {
        errors[i] = e.what();
        last = e.code();
      }
      ++ended;
      progress.set();
    };
    // Parks until an attempt ends after `seen` had ended, or something connected.
    auto wait_progress = [&](std::size_t seen) {
      while (!winner && ended == seen) {
        progress.clear();
        progress.wait();
      }
    };
    for (; started < as.size() && !winner; ++started) {
      attempts.push_back(g.spawn(attempt, started));
      if (started + 1 == as.size()) break;
      const std::size_t seen = ended;
      try {
        spindle::with_timeout(*o.happy_eyeballs_delay, [&] { wait_progress(seen); });
      } catch (const TimeoutError&) {
        // the delay passed with the attempt still pending: start the next one alongside
      }
    }
    while (!winner && ended < attempts.size()) wait_progress(ended);
    for (auto& t : attempts) t.cancel("another address connected first");
  });
  if (winner) return std::move(*winner);
  std::vector<std::string> tried;
  for (const std::string& e : errors) {
    if (!e.empty()) tried.push_back(e);
  }
  all_failed(target, tried, last);
}

Stream finish(Connected c, const ConnectOptions& o, SourceLocation where) {
  if (c.second != AF_UNIX) c.first.set_nodelay(true);
  Stream s(std::move(c.first));
  if (o.tls) detail::handshake(s, *o.tls, o.server_hostname, o.tls_handshake_timeout, where);
  return s;
}

Stream connect_any(const std::vector<Address>& as, const ConnectOptions& o,
                   const std::string& target, SourceLocation where) {
  if (as.empty()) throw std::invalid_argument("open_connection: no address to connect to");
  Connected c = o.happy_eyeballs_delay && as.size() > 1 ? connect_raced(as, o, target, where)
                                                        : connect_in_turn(as, o, target, where);
  return finish(std::move(c), o, where);
}

}  // namespace

Stream open_connection(std::string_view host, std::uint16_t port, ConnectOptions options,
                       SourceLocation where) {
  std::vector<Address> as = resolve(host, std::to_string(port), where);
  if (options.happy_eyeballs_delay) as = interleave_families(std::move(as));  // RFC 8305 §4
  if (options.server_hostname.empty()) options.server_hostname = host;
  return connect_any(as, options, std::string(host) + ":" + std::to_string(port), where);
}

Stream open_connection(const Address& address, ConnectOptions options, SourceLocation where) {
  return connect_any({address}, options, address.to_string(), where);
}

Stream open_connection(const std::vector<Address>& addresses, ConnectOptions options,
                       SourceLocation where) {
  const std::string target = addresses.empty() ? std::string("(no address)")
                             : addresses.size() == 1
                                 ? addresses[0].to_string()
                                 : std::to_string(addresses.size()) + " addresses";
  return connect_any(addresses, options, target, where);
}

Stream open_unix_connection(std::string_view path, ConnectOptions options,
                            SourceLocation where) {
  return open_connection(Address::unix_path(path), std::move(options), where);
}

}  // namespace spindle::io
