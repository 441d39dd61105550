// A line-based chat: every line a client sends goes to every other client. Each client has
// an outbound Queue drained by its own writer task, so one slow reader cannot stall the
// others. Usage: chat_server [--host H] [--port N]   (N = 0: any free port; SIGINT/SIGTERM
// stops it)
#include <spindle/spindle.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <system_error>

#include "server_args.hpp"

namespace {

struct Room {
  std::map<int, spindle::Queue<std::string>*> members;
  int next_id = 1;

  void broadcast(int from, const std::string& line) {
    for (auto& [id, outbox] : members) {
      if (id != from) outbox->put_nowait(line);
    }
  }
};

void chat(Room& room, spindle::io::Stream& stream) {
  const int id = room.next_id++;
  const std::string name = "client-" + std::to_string(id);
  spindle::Queue<std::string> outbox;
  room.members[id] = &outbox;
  auto writer = spindle::spawn([&] {
    for (;;) stream.write(outbox.get());
  });
  stream.write("welcome " + name + "\n");
  room.broadcast(id, name + " joined\n");
  try {
    for (std::string line = stream.read_line(); !line.empty(); line = stream.read_line()) {
      room.broadcast(id, name + ": " + line);
    }
  } catch (const std::system_error& e) {
    // A client that vanishes (reset, broken pipe) simply leaves; anything else is a failure.
    if (e.code().value() != ECONNRESET && e.code().value() != EPIPE) throw;
  }
  room.members.erase(id);
  room.broadcast(id, name + " left\n");
  writer.cancel();
  try {
    writer.join();
  } catch (const spindle::CancelledError&) {
  } catch (const std::system_error&) {
    // the writer found the client gone first: same departure
  }
}

}  // namespace

int main(int argc, char** argv) {
  const ServerArgs args = parse_server_args(argc, argv, 8899);
  spindle::run([&args] {
    Room room;
    auto server = spindle::io::start_server(
        [&room](spindle::io::Stream& s) { chat(room, s); }, args.host, args.port);
    std::printf("listening on %s\n", server.addresses().at(0).to_string().c_str());
    std::fflush(stdout);
    spindle::io::wait_signal({SIGINT, SIGTERM});
    server.close();
  });
}
