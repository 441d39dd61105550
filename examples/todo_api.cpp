// A to-do API in the shape of FastAPI's tutorial, on spindle-http and PostgreSQL:
//   GET    /todos?limit=20&offset=0&done=true   the list (typed query parameters)
//   GET    /todos/{id}                          one, or 404
//   POST   /todos      {"title": "milk"}        201 and the new one (body bound to a struct;
//                                               422 for a missing or empty title)
//   PUT    /todos/{id} {"title": .., "done": ..}, PATCH /todos/{id} {"done": true}, DELETE
//   GET    /todos/events                        every change as Server-Sent Events
//   GET    /ws                                  WebSocket: every change as JSON; a text message
//                                               from the client adds a to-do with that title
//   GET    /openapi.json                        the OpenAPI document; / is a static index.html
// Changes travel through PostgreSQL's LISTEN/NOTIFY, so every loop (and every process) sees
// every change. Each loop has its own pool and its own listener, made in its startup hook.
// Usage: todo_api [--host H] [--port N] [--threads N] --pg CONNINFO   (SIGINT/SIGTERM stops it)
#include <spindle/http.hpp>
#include <spindle/pg.hpp>
#include <spindle/spindle.hpp>

#include <boost/describe.hpp>

#include <cstdio>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server_args.hpp"

namespace http = spindle::http;
namespace pg = spindle::pg;

namespace todo {

struct Todo {
  int id = 0;
  std::string title;
  bool done = false;
  std::string created_at;
};
BOOST_DESCRIBE_STRUCT(Todo, (), (id, title, done, created_at))

struct TodoIn {  // POST and PUT
  std::string title;
  std::optional<bool> done;
};
BOOST_DESCRIBE_STRUCT(TodoIn, (), (title, done))

struct TodoPatch {  // PATCH: only what is given changes
  std::optional<std::string> title;
  std::optional<bool> done;
};
BOOST_DESCRIBE_STRUCT(TodoPatch, (), (title, done))

struct Listing {
  int limit = 20;
  int offset = 0;
  std::optional<bool> done;
};
BOOST_DESCRIBE_STRUCT(Listing, (), (limit, offset, done))

}  // namespace todo

namespace {

using todo::Todo;

// The columns a statement returns for a to-do, and the NOTIFY that goes with a change: both in
// one statement, so the change is announced exactly when it commits.
constexpr const char* kColumns = "id, title, done, to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS')";
std::string announce(const char* type) {
  return std::string("SELECT ") + kColumns + ", pg_notify('todo_changes', json_build_object('type', '" +
         type + "', 'todo', json_build_object('id', id, 'title', title, 'done', done))::text) FROM t";
}

Todo row(const pg::Result& r, std::size_t i) {
  return {std::stoi(*r.get(i, 0)), *r.get(i, 1), *r.get(i, 2) == "t", *r.get(i, 3)};
}

Todo one(const pg::Result& r, int id) {
  if (r.empty()) throw http::HttpError(http::status::not_found, "no to-do " + std::to_string(id));
  return row(r, 0);
}

void check_title(const std::string& title) {
  if (title.find_first_not_of(" \t") == std::string::npos) {
    throw http::ValidationError({{{"body", "title"},
                                  "ensure this value has at least 1 characters",
                                  "value_error.any_str.min_length"}});
  }
}

/// What each loop holds: its pool, the connection that LISTENs for changes, and the queues of
/// the clients following them (filled by the loop's listener task).
struct LoopState {
  std::optional<pg::Pool> pool;
  std::optional<pg::Connection> changes;
  std::list<spindle::Queue<std::string>*> followers;
  spindle::Task<void> listener;
};
thread_local std::unique_ptr<LoopState> loop_state;

/// A client following changes while it lives.
class Follow {
 public:
  Follow() : queue_(100), at_(loop_state->followers.insert(loop_state->followers.end(), &queue_)) {}
  ~Follow() { loop_state->followers.erase(at_); }
  Follow(const Follow&) = delete;
  Follow& operator=(const Follow&) = delete;
  std::string next() { return queue_.get(); }
  /// Puts a message of our own in the queue (for this follower only).
  void tell(std::string message) {
    if (!queue_.full()) queue_.put_nowait(std::move(message));
  }

 private:
  spindle::Queue<std::string> queue_;
  std::list<spindle::Queue<std::string>*>::iterator at_;
};

/// Cancels t and waits until it has finished.
void stop(spindle::Task<void>& t) {
  spindle::CancelShield shield;  // (this task's own cancellation waits until t is gone)
  t.cancel();
  spindle::wait(std::vector{t});
}

void listen() {
  for (;;) {
    const pg::Notification n = loop_state->changes->wait_notification();
    for (auto* q : loop_state->followers) {
      if (!q->full()) q->put_nowait(n.payload);  // a follower that lags loses changes
    }
  }
}

Todo create(const todo::TodoIn& in) {
  check_title(in.title);
  auto c = loop_state->pool->acquire();
  return row(c->query("WITH t AS (INSERT INTO todos (title, done) VALUES ($1, $2) RETURNING *) " +
                          announce("created"),
                      in.title, in.done.value_or(false)),
             0);
}

http::Router make_app(const std::string& conninfo) {
  http::Router app;
  app.get("/todos", [](http::Query<todo::Listing> q) {
    if (q.limit < 1 || q.limit > 100) {
      throw http::ValidationError({{{"query", "limit"}, "ensure this value is between 1 and 100",
                                    "value_error.number.not_in_range"}});
    }
    auto c = loop_state->pool->acquire();
    pg::Result r = c->query(std::string("SELECT ") + kColumns +
                                " FROM todos WHERE $1::boolean IS NULL OR done = $1 "
                                "ORDER BY id LIMIT $2 OFFSET $3",
                            q.done, q.limit, q.offset);
    std::vector<Todo> out;
    for (std::size_t i = 0; i < r.size(); ++i) out.push_back(row(r, i));
    return out;
  }, {.summary = "List to-dos", .tags = {"todos"}});
  app.get("/todos/{id}", [](int id) {
    auto c = loop_state->pool->acquire();
    return one(c->query(std::string("SELECT ") + kColumns + " FROM todos WHERE id = $1", id), id);
  }, {.summary = "Read a to-do", .tags = {"todos"}});
  app.post("/todos", [](todo::TodoIn in) { return create(in); },
           {.status_code = http::status::created, .summary = "Create a to-do", .tags = {"todos"}});
  app.put("/todos/{id}", [](int id, todo::TodoIn in) {
    check_title(in.title);
    auto c = loop_state->pool->acquire();
    return one(c->query("WITH t AS (UPDATE todos SET title = $2, done = $3 WHERE id = $1 "
                        "RETURNING *) " + announce("updated"),
                        id, in.title, in.done.value_or(false)), id);
  }, {.summary = "Replace a to-do", .tags = {"todos"}});
  app.patch("/todos/{id}", [](int id, todo::TodoPatch p) {
    if (p.title) check_title(*p.title);
    auto c = loop_state->pool->acquire();
    return one(c->query("WITH t AS (UPDATE todos SET title = coalesce($2, title), "
                        "done = coalesce($3, done) WHERE id = $1 RETURNING *) " + announce("updated"),
                        id, p.title, p.done), id);
  }, {.summary = "Change a to-do", .tags = {"todos"}});
  app.del("/todos/{id}", [](int id) {
    auto c = loop_state->pool->acquire();
    one(c->query("WITH t AS (DELETE FROM todos WHERE id = $1 RETURNING *) " + announce("deleted"), id), id);
  }, {.summary = "Delete a to-do", .tags = {"todos"}});
  app.get("/todos/events", [](http::Request& req) {
    return http::event_stream(req, [](http::EventStream& es) {
      Follow follow;
      es.retry(std::chrono::seconds(2));
      for (;;) es.send(follow.next(), "change");
    });
  }, {.summary = "Follow changes (Server-Sent Events)", .tags = {"todos"}});
  app.websocket("/ws", [](http::WebSocket& ws) {
    Follow follow;
    // One task writes (changes, and our own replies through the queue), this one reads: a
    // WebSocket takes one of each.
    auto writer = spindle::spawn([&] {
      for (;;) ws.write_text(follow.next());
    });
    struct Stop {
      spindle::Task<void>& writer;
      ~Stop() { stop(writer); }
    } stop_writer{writer};
    for (;;) {  // until the client leaves (WebSocketClosed)
      const std::string title = ws.read().data;
      try {
        create({title, std::nullopt});  // comes back to every follower as a change
      } catch (const http::HttpError& e) {
        follow.tell(R"({"type":"error","detail":)" + boost::json::serialize(e.detail()) + "}");
      }
    }
  });
  app.static_files("/", TODO_STATIC_DIR);
  app.use(http::access_log());
  app.use(http::gzip());
  app.openapi("/openapi.json", "To-do API", "1.0.0");
  app.on_startup([conninfo] {
    loop_state = std::make_unique<LoopState>();
    loop_state->pool.emplace(conninfo, 8);
    // LISTEN before the loop serves: a change the first request makes reaches its followers.
    loop_state->changes.emplace(pg::connect(conninfo));
    loop_state->changes->query("LISTEN todo_changes");
    loop_state->listener = spindle::spawn(listen);
  });
  app.on_shutdown([] {
    stop(loop_state->listener);
    loop_state.reset();
  });
  return app;
}

}  // namespace

int main(int argc, char** argv) {
  const ServerArgs args = parse_server_args(argc, argv, 8000);
  if (args.pg.empty()) {
    std::fprintf(stderr, "usage: %s [--host H] [--port N] [--threads N] --pg CONNINFO\n", argv[0]);
    return 2;
  }
  try {
    spindle::run([&] {  // the table, once, before any loop serves
      pg::connect(args.pg).query(
          "SET client_min_messages = warning; "  // (no notice if it exists)
          "CREATE TABLE IF NOT EXISTS todos (id serial PRIMARY KEY, title text NOT NULL, "
          "done boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now())");
    });
    http::AppOptions options;
    options.on_listening = [](const spindle::io::Address& a, unsigned) {
      std::printf("listening on %s\n", a.to_string().c_str());
      std::fflush(stdout);
    };
    http::run_app(make_app(args.pg), args.host, args.port, args.threads, options);
    std::printf("stopped\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
}
