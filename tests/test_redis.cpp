// spindle::redis against a real redis-server started by tests/db_servers.py: reply types,
// errors, TCP and Unix sockets, pipelines, tasks sharing a connection, cancellation that
// leaves a reply owed, pub/sub, a server that hangs up.
#include <spindle/io/tls.hpp>
#include <spindle/redis.hpp>
#include <spindle/spindle.hpp>
#include <spindle_test.hpp>

#include "../db/src/resp.hpp"  // (the reader itself, fed piece by piece)

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace redis = spindle::redis;
using Type = redis::Reply::Type;

namespace {

std::uint16_t port() {
  const char* p = std::getenv("SPINDLE_REDIS_PORT");
  if (!p) BOOST_FAIL("SPINDLE_REDIS_PORT is not set: run this test through tests/db_servers.py --redis");
  return static_cast<std::uint16_t>(std::stoi(p));
}

redis::Connection connect() { return redis::connect("127.0.0.1", port()); }

/// A key of this test alone (the server is shared by the suite's cases).
std::string key(const std::string& name) {
  return std::string(boost::unit_test::framework::current_test_case().p_name) + ":" + name;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(redis_client)

SPINDLE_REALTIME_TEST_CASE(reply_types) {
  auto conn = connect();
  auto ok = conn.command("SET", key("s"), "hello world");
  BOOST_TEST((ok.type() == Type::Status));
  BOOST_TEST(ok.str() == "OK");
  BOOST_TEST(conn.command("GET", key("s")).str() == "hello world");
  BOOST_TEST(conn.command("GET", key("missing")).is_nil());
  BOOST_TEST(conn.command("INCRBY", key("n"), 41).integer() == 41);
  BOOST_TEST(conn.command("INCRBYFLOAT", key("f"), 1.5).str() == "1.5");
  conn.command("RPUSH", key("l"), "a", "b", "c");
  auto list = conn.command("LRANGE", key("l"), 0, -1);
  BOOST_TEST((list.type() == Type::Array));
  const auto e = list.elements();
  BOOST_TEST_REQUIRE(e.size() == 3u);
  BOOST_TEST(e[0].str() + e[1].str() + e[2].str() == "abc");
  // Binary-safe values.
  const std::string bytes("a\0b\r\nc", 6);
  conn.command("SET", key("bin"), bytes);
  BOOST_TEST(conn.command("GET", key("bin")).str() == bytes);
  BOOST_TEST(conn.command_list({"STRLEN", key("bin")}).integer() == 6);
  // Asking a reply for the wrong type is an error naming both.
  BOOST_CHECK_THROW(ok.integer(), redis::Error);
  BOOST_CHECK_THROW(conn.command("INCR", key("n")).str(), redis::Error);
  BOOST_CHECK_THROW(conn.command("GET", key("s")).elements(), redis::Error);
}

SPINDLE_REALTIME_TEST_CASE(large_values_cross_many_reads) {
  auto conn = connect();
  std::string big(5 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  BOOST_TEST(conn.command("SET", key("big"), big).str() == "OK");
  BOOST_TEST(conn.command("GET", key("big")).str() == big);
  auto p = conn.pipeline();
  for (int i = 0; i < 3; ++i) p.command("GET", key("big"));
  for (const auto& r : p.execute()) BOOST_TEST(r.str().size() == big.size());
}

SPINDLE_REALTIME_TEST_CASE(error_replies_throw_and_the_connection_goes_on) {
  auto conn = connect();
  conn.command("SET", key("s"), "x");
  try {
    conn.command("LPUSH", key("s"), "y");
    BOOST_FAIL("LPUSH on a string succeeded");
  } catch (const redis::Error& e) {
    BOOST_TEST(std::string(e.what()).find("WRONGTYPE") == 0u, e.what());
  }
  BOOST_CHECK_THROW(conn.command("NO_SUCH_COMMAND"), redis::Error);
  BOOST_TEST(conn.command("GET", key("s")).str() == "x");
  BOOST_CHECK_THROW(conn.command_list({}), std::invalid_argument);
}

SPINDLE_REALTIME_TEST_CASE(unix_socket) {
  const char* path = std::getenv("SPINDLE_REDIS_SOCKET");
  BOOST_TEST_REQUIRE(path != nullptr);
  auto conn = redis::connect_unix(path);
  BOOST_TEST(conn.command("PING").str() == "PONG");
  BOOST_CHECK_THROW(redis::connect_unix("/nonexistent/redis.sock"), std::system_error);
}

SPINDLE_REALTIME_TEST_CASE(pipelines_return_every_reply_in_order) {
  auto conn = connect();
  auto p = conn.pipeline();
  for (int i = 0; i < 100; ++i) p.command("INCR", key("c"));
  p.command("LPUSH", key("c"), "wrong type");  // an error reply inside: returned, not thrown
  p.command("GET", key("c"));
  BOOST_TEST(p.size() == 102u);
  const auto replies = p.execute();
  BOOST_TEST(p.size() == 0u);
  BOOST_TEST_REQUIRE(replies.size() == 102u);
  for (int i = 0; i < 100; ++i) BOOST_TEST(replies[static_cast<std::size_t>(i)].integer() == i + 1);
  BOOST_TEST((replies[100].type() == Type::Error));
  BOOST_TEST(replies[101].str() == "100");
  BOOST_TEST(p.execute().empty());
}

SPINDLE_REALTIME_TEST_CASE(tasks_sharing_a_connection_get_their_own_replies) {
  auto conn = connect();
  std::vector<spindle::Task<void>> tasks;
  for (int t = 0; t < 50; ++t) {
    tasks.push_back(spindle::spawn([&, t] {
      const auto k = key(std::to_string(t));
      for (int i = 1; i <= 20; ++i) {
        BOOST_TEST(conn.command("INCRBY", k, t).integer() == static_cast<long long>(i) * t);
        BOOST_TEST(conn.command("GET", k).str() == std::to_string(i * t));
      }
    }));
  }
  for (auto& t : tasks) t.join();
}

SPINDLE_REALTIME_TEST_CASE(a_cancelled_command_never_hands_its_reply_to_the_next) {
  auto conn = connect();
  auto other = connect();
  conn.command("DEL", key("q"));
  // BLPOP parks on the server; the wait is cancelled, its reply stays owed.
  BOOST_CHECK_THROW(spindle::with_timeout(100ms, [&] { conn.command("BLPOP", key("q"), 10); }),
                    spindle::TimeoutError);
  BOOST_TEST(conn.is_open());
  other.command("RPUSH", key("q"), "for the cancelled BLPOP");
  conn.command("SET", key("v"), "mine");
  BOOST_TEST(conn.command("GET", key("v")).str() == "mine");
  BOOST_TEST(other.command("LLEN", key("q")).integer() == 0);  // the BLPOP did take it

  // Same with a pipeline cancelled halfway through its replies.
  auto p = conn.pipeline();
  p.command("SET", key("a"), "1").command("BLPOP", key("q"), 10).command("SET", key("b"), "2");
  auto waiter = spindle::spawn([&] { return p.execute(); });
  spindle::sleep(100ms);
  waiter.cancel();
  BOOST_CHECK_THROW(waiter.join(), spindle::CancelledError);
  other.command("RPUSH", key("q"), "x");
  BOOST_TEST(conn.command("PING").str() == "PONG");
  BOOST_TEST(conn.command("GET", key("b")).str() == "2");
}

SPINDLE_REALTIME_TEST_CASE(publish_and_subscribe) {
  auto sub = connect();
  auto pub = connect();
  sub.subscribe({key("news"), key("sport")});
  BOOST_CHECK_THROW(sub.command("GET", "x"), std::logic_error);
  BOOST_TEST(!sub.next_message(50ms).has_value());
  BOOST_TEST(pub.command("PUBLISH", key("news"), "hello").integer() == 1);
  auto m = sub.next_message();
  BOOST_TEST(m.kind == "message");
  BOOST_TEST(m.channel == key("news"));
  BOOST_TEST(m.payload == "hello");
  sub.psubscribe({key("w*")});
  pub.command("PUBLISH", key("weather"), "rain");
  pub.command("PUBLISH", key("sport"), "goal");
  auto p = sub.next_message(5s);
  BOOST_TEST_REQUIRE(p.has_value());
  BOOST_TEST(p->kind == "pmessage");
  BOOST_TEST(p->pattern == key("w*"));
  BOOST_TEST(p->payload == "rain");
  BOOST_TEST(sub.next_message().payload == "goal");
  // A waiting next_message() cancelled loses nothing.
  auto waiter = spindle::spawn([&] { return sub.next_message(); });
  spindle::sleep(20ms);
  waiter.cancel();
  BOOST_CHECK_THROW(waiter.join(), spindle::CancelledError);
  pub.command("PUBLISH", key("news"), "after");
  BOOST_TEST(sub.next_message().payload == "after");
  sub.unsubscribe();
  BOOST_TEST(sub.command("PING").str() == "PONG");
  BOOST_CHECK_THROW(sub.next_message(), std::logic_error);
  BOOST_TEST(pub.command("PUBLISH", key("news"), "nobody").integer() == 0);
}

SPINDLE_REALTIME_TEST_CASE(a_server_that_hangs_up_closes_the_connection) {
  auto conn = connect();
  auto admin = connect();
  const auto id = conn.command("CLIENT", "ID").integer();
  BOOST_TEST(admin.command("CLIENT", "KILL", "ID", id).integer() == 1);
  try {
    conn.command("PING");
    BOOST_FAIL("a command on a killed connection succeeded");
  } catch (const redis::Error& e) {
    BOOST_TEST(std::string(e.what()).find("closed") != std::string::npos, e.what());
  } catch (const std::system_error&) {
    // ECONNRESET or EPIPE, depending on timing.
  }
  BOOST_TEST(!conn.is_open());
  BOOST_CHECK_THROW(conn.command("PING"), std::logic_error);
  BOOST_CHECK_THROW(redis::connect("127.0.0.1", spindle_test::free_port()), std::system_error);
}

SPINDLE_REALTIME_TEST_CASE(hundreds_of_connections_on_one_loop) {
  std::vector<spindle::Task<long long>> tasks;
  for (int i = 0; i < 300; ++i) {
    tasks.push_back(spindle::spawn([] {
      auto conn = connect();
      auto p = conn.pipeline();
      for (int j = 0; j < 10; ++j) p.command("INCR", key("shared"));
      return p.execute().back().integer();
    }));
  }
  long long most = 0;
  for (auto& t : tasks) most = std::max(most, t.join());
  BOOST_TEST(most == 3000);
}

BOOST_AUTO_TEST_CASE(the_reader_parses_every_resp3_type_however_the_bytes_are_split) {
  using spindle::redis::detail::RespNode;
  using spindle::redis::detail::RespReader;
  using T = redis::Reply::Type;
  // Every type, nested, with an attribute (dropped), nulls of both protocols and CRLF inside
  // a string; then a second reply right behind.
  const std::string wire =
      "%3\r\n+name\r\n$5\r\na\r\nb!\r\n"
      "~2\r\n,3.5\r\n,-inf\r\n"
      "|1\r\n+popularity\r\n:90\r\n"
      "*6\r\n#t\r\n(123456789012345678901234567890\r\n=9\r\ntxt:hello\r\n_\r\n$-1\r\n*-1\r\n"
      "+ok\r\n:1\r\n"
      ">2\r\n+invalidate\r\n*1\r\n$1\r\nk\r\n";
  auto check = [&](const RespNode& map, const RespNode& push) {
    BOOST_TEST_REQUIRE((map.type == T::Map));
    BOOST_TEST_REQUIRE(map.elements.size() == 6u);
    BOOST_TEST(map.elements[0].str == "name");
    BOOST_TEST(map.elements[1].str == "a\r\nb!");
    BOOST_TEST((map.elements[2].type == T::Set));
    BOOST_TEST(map.elements[2].elements.at(0).number == 3.5);
    BOOST_TEST(std::isinf(map.elements[2].elements.at(1).number));
    const RespNode& array = map.elements[3];  // (the attribute before it is gone)
    BOOST_TEST((array.type == T::Array));
    BOOST_TEST_REQUIRE(array.elements.size() == 6u);
    BOOST_TEST((array.elements[0].type == T::Boolean && array.elements[0].integer == 1));
    BOOST_TEST((array.elements[1].type == T::BigNumber));
    BOOST_TEST(array.elements[1].str == "123456789012345678901234567890");
    BOOST_TEST((array.elements[2].type == T::Verbatim && array.elements[2].format == "txt"));
    BOOST_TEST(array.elements[2].str == "hello");
    for (int i = 3; i < 6; ++i) BOOST_TEST((array.elements[i].type == T::Nil));
    BOOST_TEST((map.elements[4].type == T::Status));
    BOOST_TEST((push.type == T::Push));
    BOOST_TEST(push.elements.at(1).elements.at(0).str == "k");
  };
  for (std::size_t piece : {wire.size(), std::size_t{1}, std::size_t{2}, std::size_t{7}}) {
    BOOST_TEST_CONTEXT("pieces of " << piece << " bytes") {
      RespReader reader;
      std::vector<std::unique_ptr<RespNode>> got;
      for (std::size_t at = 0; at < wire.size(); at += piece) {
        reader.feed(std::string_view(wire).substr(at, piece));
        while (auto r = reader.get()) got.push_back(std::move(r));
      }
      BOOST_TEST_REQUIRE(got.size() == 2u);
      check(*got[0], *got[1]);
    }
  }
  // What a server must not send is an error, never a crash or a wait for more.
  for (const char* bad : {"?x\r\n", ":12a\r\n", "$-2\r\n", "%-1\r\n", "#x\r\n", "=3\r\nabc\r\n",
                          "$3\r\nabcXY", ",1.5e\r\n"}) {
    BOOST_TEST_CONTEXT(bad) {
      RespReader reader;
      reader.feed(bad);
      BOOST_CHECK_THROW(reader.get(), spindle::redis::detail::ProtocolError);
    }
  }
}

SPINDLE_REALTIME_TEST_CASE(resp3_types_reach_the_caller) {
  auto c = connect();
  BOOST_TEST(c.protocol() == 2);
  const auto hello = c.hello(3);
  BOOST_TEST(c.protocol() == 3);
  bool saw_proto = false;
  for (const auto& [k, v] : hello.pairs()) {
    if (k.str() == "proto") saw_proto = v.integer() == 3;
  }
  BOOST_TEST(saw_proto);
  auto debug = [&](const char* type) { return c.command("DEBUG", "PROTOCOL", type); };
  BOOST_TEST(debug("double").number() == 3.141);
  BOOST_TEST(debug("double").str() == "3.141");
  BOOST_TEST(debug("bignum").str() == "1234567999999999999999999999999999999");
  BOOST_TEST((debug("bignum").type() == redis::Reply::Type::BigNumber));
  BOOST_TEST(debug("null").is_nil());
  BOOST_TEST(debug("true").boolean());
  BOOST_TEST(!debug("false").boolean());
  BOOST_TEST((debug("set").type() == redis::Reply::Type::Set));
  BOOST_TEST(debug("set").elements().size() == 3u);
  const auto verbatim = debug("verbatim");
  BOOST_TEST(verbatim.format() == "txt");
  BOOST_TEST(verbatim.str() == "This is a verbatim\nstring");
  BOOST_TEST(debug("attrib").str() == "Some real reply following the attribute");
  // A push before the reply: not taken for the reply, queued for next_push().
  BOOST_TEST(debug("push").str() == "Some real reply following the push reply");
  auto pushed = c.next_push(1s);
  BOOST_TEST_REQUIRE(pushed.has_value());
  BOOST_TEST(pushed->elements().at(0).str() == "server-cpu-usage");
  // Maps read as pairs, and as RESP2's flat arrays did.
  c.command("HSET", key("h"), "a", "1", "b", "2");
  const auto map = c.command("HGETALL", key("h"));
  BOOST_TEST((map.type() == redis::Reply::Type::Map));
  BOOST_TEST(map.pairs().size() == 2u);
  BOOST_TEST(map.elements().size() == 4u);
  BOOST_CHECK_THROW(map.integer(), redis::Error);
  c.command("ZADD", key("z"), "2.5", "m");
  BOOST_TEST(c.command("ZSCORE", key("z"), "m").number() == 2.5);
  // The same commands on RESP2: flat arrays and strings, read the same way.
  auto two = connect();
  BOOST_TEST(two.command("HGETALL", key("h")).pairs().size() == 2u);
  BOOST_TEST(two.command("ZSCORE", key("z"), "m").str() == "2.5");
  // By URL, and back to RESP2.
  auto by_url = redis::connect("redis://127.0.0.1:" + std::to_string(port()) + "?protocol=3");
  BOOST_TEST(by_url.protocol() == 3);
  BOOST_TEST((by_url.command("HGETALL", key("h")).type() == redis::Reply::Type::Map));
  by_url.hello(2);
  BOOST_TEST((by_url.command("HGETALL", key("h")).type() == redis::Reply::Type::Array));
  BOOST_CHECK_THROW(by_url.hello(4), std::invalid_argument);
  BOOST_CHECK_THROW(redis::connect("redis://127.0.0.1?protocol=1"), std::invalid_argument);
  // Pub/sub on RESP3: confirmations and messages come as pushes.
  auto sub = redis::connect("redis://127.0.0.1:" + std::to_string(port()) + "?protocol=3");
  sub.subscribe({key("news")});
  BOOST_TEST(two.command("PUBLISH", key("news"), "hi").integer() == 1);
  const auto m = sub.next_message(5s);
  BOOST_TEST_REQUIRE(m.has_value());
  BOOST_TEST(m->payload == "hi");
  sub.unsubscribe();
  BOOST_TEST(sub.command("PING").str() == "PONG");
}

SPINDLE_REALTIME_TEST_CASE(client_side_caching_invalidations_arrive_as_pushes) {
  auto cached = redis::connect("redis://127.0.0.1:" + std::to_string(port()) + "?protocol=3");
  auto writer = connect();
  writer.command("SET", key("a"), "1");
  writer.command("SET", key("b"), "1");
  cached.command("CLIENT", "TRACKING", "ON");
  BOOST_TEST(cached.command("GET", key("a")).str() == "1");  // now tracked
  writer.command("SET", key("a"), "2");
  // Queued until asked for, read from the server when not there yet.
  const auto push = cached.next_push(5s);
  BOOST_TEST_REQUIRE(push.has_value());
  BOOST_TEST_REQUIRE(push->elements().size() == 2u);
  BOOST_TEST(push->elements()[0].str() == "invalidate");
  BOOST_TEST(push->elements()[1].elements().at(0).str() == key("a"));
  BOOST_TEST(!cached.next_push(50ms).has_value());  // nothing else
  // A handler gets them as they are read, before the reply of the command behind them.
  std::vector<std::string> invalidated;
  cached.on_push([&](const redis::Reply& r) {
    if (r.elements().at(0).str() == "invalidate") {
      for (const auto& k : r.elements().at(1).elements()) invalidated.push_back(k.str());
    }
  });
  BOOST_TEST(cached.command("GET", key("b")).str() == "1");
  writer.command("SET", key("b"), "2");
  BOOST_TEST(cached.command("GET", key("b")).str() == "2");
  BOOST_TEST((invalidated == std::vector<std::string>{key("b")}));
}

SPINDLE_REALTIME_TEST_CASE(rediss_urls_speak_tls_and_verify_the_server) {
  // db_servers.py --tls: a TLS port with a certificate for localhost signed by a test CA.
  const char* ca = std::getenv("SPINDLE_TLS_CA");
  const char* tls_port = std::getenv("SPINDLE_REDIS_TLS_PORT");
  BOOST_TEST_REQUIRE((ca && tls_port), "run through tests/db_servers.py --redis --tls");
  const std::string at = std::string("localhost:") + tls_port;
  auto secure = redis::connect("rediss://" + at + "/2?ssl_ca_certs=" + std::string(ca));
  secure.command("SET", "over-tls", std::string(100'000, 'x'));  // (many TLS records)
  BOOST_TEST(secure.command("GET", "over-tls").str().size() == 100'000u);
  auto plain = connect();
  plain.command("SELECT", "2");
  BOOST_TEST(plain.command("STRLEN", "over-tls").integer() == 100'000);
  // A pool over TLS, shared by many tasks.
  redis::Pool pool("rediss://" + at + "?ssl_ca_certs=" + std::string(ca), 4);
  std::vector<spindle::Task<void>> tasks;
  for (int i = 0; i < 50; ++i) tasks.push_back(spindle::spawn([&] { pool.command("INCR", key("tls")); }));
  for (auto& t : tasks) t.join();
  BOOST_TEST(pool.command("GET", key("tls")).str() == "50");
  // The test CA is not among the system's: verification fails unless turned off.
  BOOST_CHECK_THROW(redis::connect("rediss://" + at), spindle::io::TlsError);
  BOOST_TEST(redis::connect("rediss://" + at + "?ssl_cert_reqs=none").command("PING").str() == "PONG");
}

SPINDLE_REALTIME_TEST_CASE(urls_choose_the_server_the_database_and_the_credentials) {
  const std::string at = "127.0.0.1:" + std::to_string(port());
  auto admin = connect();
  // A database number in the path (or ?db= for a socket) is SELECTed.
  auto three = redis::connect("redis://" + at + "/3");
  three.command("SET", "url-key", "in three");
  admin.command("SELECT", "3");
  BOOST_TEST(admin.command("GET", "url-key").str() == "in three");
  admin.command("SELECT", "0");
  BOOST_TEST(admin.command("EXISTS", "url-key").integer() == 0);
  const char* sock = std::getenv("SPINDLE_REDIS_SOCKET");
  BOOST_TEST_REQUIRE(sock != nullptr);
  auto two = redis::connect(std::string("unix://") + sock + "?db=3");
  BOOST_TEST(two.command("GET", "url-key").str() == "in three");
  BOOST_TEST(redis::connect("redis://" + at).command("PING").str() == "PONG");

  // A password (percent-encoded here: p@ss), and an ACL user.
  admin.command("ACL", "SETUSER", "alice", "on", ">wonder land", "~*", "&*", "+@all");
  admin.command("CONFIG", "SET", "requirepass", "p@ss");
  struct Restore {  // (admin authenticated before the password was set: it stays so)
    redis::Connection& admin;
    ~Restore() {
      admin.command("CONFIG", "SET", "requirepass", "");
      admin.command("ACL", "DELUSER", "alice");
    }
  } restore{admin};
  BOOST_TEST(redis::connect("redis://:p%40ss@" + at).command("PING").str() == "PONG");
  auto alice = redis::connect("redis://alice:wonder%20land@" + at + "/1");
  BOOST_TEST(alice.command("ACL", "WHOAMI").str() == "alice");
  BOOST_CHECK_THROW(redis::connect("redis://:wrong@" + at), redis::Error);
  BOOST_CHECK_THROW(redis::connect("redis://alice:wrong@" + at), redis::Error);
  auto anonymous = redis::connect("redis://" + at);
  BOOST_CHECK_THROW(anonymous.command("GET", "url-key"), redis::Error);  // NOAUTH

  // What is wrong with a URL is named.
  for (const char* wrong : {"http://127.0.0.1", "127.0.0.1:6379", "redis://:1", "redis://host:port",
                            "redis://host:70000", "redis://host/x", "unix://", "redis://[::1",
                            "redis://%zz@host", "redis://host?timeout=3",
                            "rediss://host?ssl_cert_reqs=maybe"}) {
    BOOST_TEST_CONTEXT(wrong) {
      try {
        redis::connect(std::string(wrong));
        BOOST_FAIL("connected");
      } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find(wrong) != std::string::npos);
      }
    }
  }
}

SPINDLE_REALTIME_TEST_CASE(transactions_watch_retry_and_hold_the_connection) {
  auto c = connect();
  auto other = connect();
  const std::string k = key("balance");
  c.command("SET", k, "10");
  // Another client changes the watched key between the read and EXEC: tried again.
  int runs = 0;
  auto replies = c.transaction({k}, [&](redis::Transaction& tx) {
    const long long v = std::stoll(tx.command("GET", k).str());
    if (++runs == 1) other.command("SET", k, "100");
    tx.queue("SET", k, v + 5).queue("GET", k);
  }, 3);
  BOOST_TEST(runs == 2);
  BOOST_TEST_REQUIRE(replies.size() == 2u);
  BOOST_TEST(replies[1].str() == "105");
  // Without retries, a conflict is a WatchError and nothing is applied.
  BOOST_CHECK_THROW(c.transaction({k}, [&](redis::Transaction& tx) {
    other.command("SET", k, "7");
    tx.queue("SET", k, "lost");
  }), redis::WatchError);
  BOOST_TEST(c.command("GET", k).str() == "7");
  // A command refused as queued aborts the whole block (EXECABORT); one failing as it runs
  // is an error reply among the results, the others applied.
  BOOST_CHECK_EXCEPTION(c.transaction({}, [&](redis::Transaction& tx) {
    tx.queue("SET", k, "x").queue("SET", k);  // (too few arguments)
  }), redis::Error, [](const redis::Error& e) { return std::string(e.what()).find("EXECABORT") != std::string::npos; });
  BOOST_TEST(c.command("GET", k).str() == "7");
  auto mixed = c.transaction({}, [&](redis::Transaction& tx) {
    tx.queue("SET", k, "not a number").queue("INCR", k).queue("APPEND", k, "!");
  });
  BOOST_TEST_REQUIRE(mixed.size() == 3u);
  BOOST_TEST((mixed[1].type() == redis::Reply::Type::Error));
  BOOST_TEST(c.command("GET", k).str() == "not a number!");
  // An exception from fn: UNWATCH, nothing sent, the connection goes on.
  BOOST_CHECK_THROW(c.transaction({k}, [&](redis::Transaction& tx) {
    tx.queue("DEL", k);
    throw std::runtime_error("no");
  }), std::runtime_error);
  other.command("SET", k, "after");  // (would trip a watch left behind)
  BOOST_TEST(c.transaction({}, [&](redis::Transaction& tx) { tx.queue("GET", k); })[0].str() == "after");
  // While one task is inside a transaction, another task's commands on the connection wait.
  std::vector<std::string> order;
  spindle::Event inside, go;
  auto a = spindle::spawn([&] {
    c.transaction({k}, [&](redis::Transaction& tx) {
      tx.command("GET", k);
      inside.set();
      go.wait();
      tx.queue("SET", k, "from a");
    });
    order.push_back("a done");
  });
  auto b = spindle::spawn([&] {
    inside.wait();
    c.command("SET", k, "from b");  // (inside a's WATCH it would make a's EXEC fail)
    order.push_back("b done");
  });
  spindle::sleep(50ms);
  go.set();
  a.join();
  b.join();
  BOOST_TEST((order == std::vector<std::string>{"a done", "b done"}));
  BOOST_TEST(c.command("GET", k).str() == "from b");
}

SPINDLE_REALTIME_TEST_CASE(scripts_run_by_sha_and_are_sent_whole_when_unknown) {
  auto c = connect();
  BOOST_TEST(c.script("abc").sha1() == "a9993e364706816aba3e25717850c26c9cd0d89d");  // FIPS 180 vector
  BOOST_TEST(c.script("").sha1() == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  auto add = c.script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  BOOST_TEST(c.command("SCRIPT", "LOAD", "return redis.call('INCRBY', KEYS[1], ARGV[1])").str() == add.sha1());
  c.command("SCRIPT", "FLUSH");  // the server forgets it: EVALSHA says NOSCRIPT, EVAL follows
  const std::string k = key("counter");
  BOOST_TEST(add({k}, {"5"}).integer() == 5);
  BOOST_TEST(c.command("SCRIPT", "EXISTS", add.sha1()).elements()[0].integer() == 1);  // cached again
  BOOST_TEST(add({k}, {"2"}).integer() == 7);
  auto broken = c.script("return redis.call('NOSUCHCOMMAND')");
  BOOST_CHECK_THROW(broken(), redis::Error);
  BOOST_TEST(c.command("GET", k).str() == "7");
}

SPINDLE_REALTIME_TEST_CASE(a_pool_shares_connections_and_lends_them_for_blocking_work) {
  const std::string url = "redis://127.0.0.1:" + std::to_string(port());
  auto admin = connect();
  auto clients = [&] {
    const std::string info = admin.command("INFO", "clients").str();
    const auto at = info.find("connected_clients:");
    return std::stoi(info.substr(at + 18));
  };
  const int before = clients();
  redis::Pool pool(url, 4);
  BOOST_TEST(pool.idle() == 0u);  // (made when first needed)
  const std::string k = key("n");
  // 1,000 tasks on 4 connections, every tenth cancelled part-way: each INCR's reply reaches
  // its own caller (no value is seen twice), and the pool never grows past its size.
  std::vector<spindle::Task<void>> tasks;
  std::vector<long long> seen;
  std::size_t most_lent = 0;
  for (int i = 0; i < 1000; ++i) {
    tasks.push_back(spindle::spawn([&] {
      for (int n = 0; n < 5; ++n) {
        seen.push_back(pool.command("INCR", k).integer());
        most_lent = std::max(most_lent, pool.lent());
      }
    }));
  }
  spindle::sleep(1ms);
  for (std::size_t i = 0; i < tasks.size(); i += 10) tasks[i].cancel();
  int cancelled = 0;
  for (auto& t : tasks) {
    try {
      t.join();
    } catch (const spindle::CancelledError&) {
      ++cancelled;
    }
  }
  BOOST_TEST(cancelled <= 100);
  std::sort(seen.begin(), seen.end());
  BOOST_TEST((std::adjacent_find(seen.begin(), seen.end()) == seen.end()));
  BOOST_TEST(seen.size() >= 4500u);
  BOOST_TEST(most_lent <= 4u);
  const long long total = std::stoll(pool.command("GET", k).str());
  BOOST_TEST(total >= static_cast<long long>(seen.size()));  // (a cancelled INCR may have run)
  BOOST_TEST(total <= 5000);
  pool.command("SET", k, "2000");
  BOOST_TEST(pool.idle() <= 4u);
  BOOST_TEST(clients() - before == static_cast<int>(pool.idle()));
  // A blocking command on a lease of its own; the rest go on through the others.
  const std::string list = key("jobs");
  auto waiter = spindle::spawn([&] {
    auto c = pool.acquire();
    return c->command("BLPOP", list, "5").elements().at(1).str();
  });
  spindle::sleep(20ms);
  BOOST_TEST(pool.lent() == 1u);
  pool.command("RPUSH", list, "job 1");
  BOOST_TEST(waiter.join() == "job 1");
  // A connection returned subscribed is closed, not lent again; a broken one is replaced.
  {
    auto c = pool.acquire();
    c->subscribe({key("channel")});
  }
  BOOST_TEST(pool.idle() == 3u);
  BOOST_TEST(admin.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").integer() >= 3);
  spindle::sleep(200ms);  // (the server's FINs arrive: microseconds on loopback)
  std::vector<spindle::Task<std::string>> readers;  // the dead are found before lending
  for (int i = 0; i < 8; ++i) readers.push_back(spindle::spawn([&] { return pool.command("GET", k).str(); }));
  for (auto& r : readers) BOOST_TEST(r.join() == "2000");
  // close() waits for the leases; bad arguments are named.
  auto holder = spindle::spawn([&] {
    auto c = pool.acquire();
    spindle::sleep(50ms);
    c->command("PING");
  });
  spindle::sleep(10ms);
  pool.close();
  BOOST_TEST(pool.lent() == 0u);
  holder.join();
  BOOST_CHECK_THROW(pool.acquire(), std::logic_error);
  BOOST_CHECK_THROW(redis::Pool(url, 0), std::invalid_argument);
  BOOST_CHECK_THROW(redis::Pool("redis://host:port", 2), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
