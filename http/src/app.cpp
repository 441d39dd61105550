// run_app(): run_threads() with a server per loop on one port. Loop 0 conducts: it runs the
// startup hooks and starts a server on every loop through call_on (its own first, so that
// port 0 picks the port the others then share), waits for SIGINT or SIGTERM (blocked in
// every thread, so only wait_signal sees them), closes every server, waits for requests in
// flight within the shutdown timeout, and runs the shutdown hooks on every loop. The other
// loops keep serving until loop 0's main returns.
#include <spindle/http/app.hpp>
#include <spindle/io/signal.hpp>
#include <spindle/loops.hpp>
#include <spindle/timeout.hpp>

#include <signal.h>

#include <cstdio>
#include <optional>
#include <stdexcept>
#include <vector>

namespace spindle::http {

namespace {

/// Blocks SIGINT and SIGTERM for its lifetime, then restores the mask.
class BlockStopSignals {
 public:
  BlockStopSignals() {
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old_);
  }
  ~BlockStopSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  BlockStopSignals(const BlockStopSignals&) = delete;
  BlockStopSignals& operator=(const BlockStopSignals&) = delete;

 private:
  sigset_t old_;
};

void announce(const io::Address& address, unsigned loops) {
  std::fprintf(stderr, "spindle: serving http://%s on %u loop%s\n", address.to_string().c_str(),
               loops, loops == 1 ? "" : "s");
}

/// Runs f on every loop in turn (loop 0 here, the others through call_on).
template <class F>
void on_every_loop(F f) {
  const auto all = spindle::loops();
  f(0u);
  for (unsigned j = 1; j < all.size(); ++j) spindle::call_on(all[j], [&f, j] { f(j); });
}

}  // namespace

void run_app(Router app, std::string_view host, std::uint16_t port, unsigned threads,
             AppOptions options) {
  const BlockStopSignals blocked;  // before the loops' threads start: they inherit the mask
  std::vector<std::optional<Server>> servers;  // servers[i] belongs to loop i
  spindle::run_threads(threads, [&](unsigned index) {
    if (index != 0) return;  // loop 0 conducts; the others serve until it returns
    const auto n = static_cast<unsigned>(spindle::loops().size());
    servers.resize(n);
    try {
      ServeOptions so = options.serve;
      so.reuse_port = so.reuse_port || n > 1;
      std::uint16_t shared_port = port;
      on_every_loop([&](unsigned j) {
        app.startup();
        servers[j].emplace(serve(app, host, shared_port, so));
        shared_port = servers[j]->port();
      });
      const io::Address address = servers[0]->addresses().at(0);
      (options.on_listening ? options.on_listening : announce)(address, n);
      spindle::io::wait_signal({SIGINT, SIGTERM});
      on_every_loop([&](unsigned j) { servers[j]->close(); });
      on_every_loop([&](unsigned j) {
        try {  // requests in flight finish, within the bound
          spindle::with_timeout(options.shutdown_timeout, [&] { servers[j]->wait_closed(); });
        } catch (const TimeoutError&) {  // what is left is cancelled as the loops end
        }
        servers[j].reset();
        app.shutdown();
      });
    } catch (...) {
      // A server belongs to its loop: each goes there, not after the loops have ended.
      on_every_loop([&](unsigned j) { servers[j].reset(); });
      throw;
    }
  });
}

}  // namespace spindle::http
