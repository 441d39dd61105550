// Page-view counters in Redis: 100 tasks, each with its own connection, count views of 10
// pages with pipelines (10 INCRBYs in one round trip, 20 times each), then one MGET reads the
// counters back.
// Usage: redis_counter [port]   (default: $SPINDLE_REDIS_PORT, else 6379; host 127.0.0.1)
#include <spindle/redis.hpp>
#include <spindle/spindle.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using Seconds = std::chrono::duration<double>;

int main(int argc, char** argv) {
  const char* env = std::getenv("SPINDLE_REDIS_PORT");
  const auto port = static_cast<std::uint16_t>(std::atoi(argc > 1 ? argv[1] : env ? env : "6379"));
  constexpr int kTasks = 100, kPages = 10, kRounds = 20;
  try {
    spindle::run([&] {
      {
        auto conn = spindle::redis::connect("127.0.0.1", port);
        auto p = conn.pipeline();
        for (int page = 0; page < kPages; ++page) p.command("DEL", "views:page" + std::to_string(page));
        p.execute();
      }
      const auto t0 = spindle::Loop::current().time();
      spindle::task_group([&](spindle::TaskGroup& g) {
        for (int t = 0; t < kTasks; ++t) {
          g.spawn([&, t] {
            auto conn = spindle::redis::connect("127.0.0.1", port);
            for (int round = 0; round < kRounds; ++round) {
              auto p = conn.pipeline();
              // Task t adds t % 3 + 1 views to every page per round.
              for (int page = 0; page < kPages; ++page) {
                p.command("INCRBY", "views:page" + std::to_string(page), t % 3 + 1);
              }
              p.execute();
            }
          });
        }
      });
      const double wall = Seconds(spindle::Loop::current().time() - t0).count();
      auto conn = spindle::redis::connect("127.0.0.1", port);
      std::vector<std::string> mget{"MGET"};
      for (int page = 0; page < kPages; ++page) mget.push_back("views:page" + std::to_string(page));
      const auto counts = conn.command_list(mget).elements();
      for (int page = 0; page < kPages; ++page) {
        std::printf("page%d: %s views\n", page, counts[static_cast<std::size_t>(page)].str().c_str());
      }
      std::printf("%d pipelines of %d commands from %d tasks in %.2f s\n", kTasks * kRounds, kPages,
                  kTasks, wall);
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "redis_counter: %s\n", e.what());
    return 1;
  }
}
