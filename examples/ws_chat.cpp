// WebSocket chat on http::serve: connect to ws://HOST:PORT/chat; each client is welcomed
// with its name, every text message is sent to the other clients as "client-N: message",
// and arrivals and departures are announced. A writer task per client drains its queue, so
// a slow client never holds up the others (beyond 100 queued messages it misses some).
// Usage: ws_chat [--host H] [--port N]   (SIGINT/SIGTERM stops it)
#include <spindle/http.hpp>
#include <spindle/spindle.hpp>

#include <csignal>
#include <cstdio>
#include <list>
#include <string>

#include "server_args.hpp"

namespace http = spindle::http;

namespace {

struct Client {
  std::string name;
  spindle::Queue<std::string> outbox{100};
};

class Room {
 public:
  http::Response handle(http::Request& req) {
    if (req.target() != "/chat") return http::text("connect a WebSocket to /chat\n");
    http::WebSocket ws = http::accept_websocket(req);
    Client& me = clients_.emplace_back();
    me.name = "client-" + std::to_string(++count_);
    me.outbox.put_nowait("welcome " + me.name);
    broadcast(me.name + " joined", &me);
    auto writer = spindle::spawn([&] {
      for (;;) ws.write_text(me.outbox.get());
    });
    try {
      for (;;) {
        const http::Message m = ws.read();
        if (m.text) broadcast(me.name + ": " + m.data, &me);
      }
    } catch (const http::WebSocketClosed&) {  // the client left
    } catch (const std::system_error&) {      // or its connection broke
    }
    writer.cancel();
    try {
      writer.join();
    } catch (const spindle::CancelledError&) {
    } catch (const std::system_error&) {  // it was writing when the connection went
    }
    const std::string name = me.name;
    clients_.remove_if([&](const Client& c) { return &c == &me; });
    broadcast(name + " left", nullptr);
    return {};  // not sent: the connection was a WebSocket's
  }

 private:
  void broadcast(const std::string& text, const Client* except) {
    for (Client& c : clients_) {
      if (&c == except) continue;
      try {
        c.outbox.put_nowait(text);
      } catch (const spindle::QueueFull&) {  // too slow: it misses this one
      }
    }
  }

  std::list<Client> clients_;
  int count_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const ServerArgs args = parse_server_args(argc, argv, 8080);
  spindle::run([&args] {
    Room room;
    auto server = http::serve([&room](http::Request& req) { return room.handle(req); },
                              args.host, args.port);
    std::printf("listening on %s\n", server.addresses().at(0).to_string().c_str());
    std::fflush(stdout);
    spindle::io::wait_signal({SIGINT, SIGTERM});
    server.close();
  });
}
