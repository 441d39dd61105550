// Counting requests per key across loops, shared-nothing: every key has an owner loop (its
// hash modulo the number of loops), only the owner touches the key's counter, and the other
// loops reach it with call_on(). The requests here are simulated: each loop handles the
// same 1,200 paths, so each total is the number of loops times the path's count.
//
// --wrong shares one map between the loops behind a spindle::Lock instead. A Lock belongs
// to one loop: debug builds (the default build type) catch the second loop using it and
// the program says so and exits with status 1; a release build (NDEBUG) cannot check, and
// the loops deadlock (reported, status 1) or count wrong.
// Usage: sharded_counter [--threads N] [--wrong]   (N defaults to 2)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <spindle/spindle.hpp>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

const std::vector<std::string> kPaths = {"/", "/about", "/api/users", "/api/orders", "/login"};

// The requests one loop handles: path i % 5 weighted so the totals differ.
std::vector<std::string> requests() {
  std::vector<std::string> out;
  for (int i = 0; i < 1200; ++i) out.push_back(kPaths[(i * i + i / 7) % kPaths.size()]);
  return out;
}

// The key's owner loop: FNV-1a, the same on every platform (std::hash is not).
unsigned owner_of(const std::string& key, unsigned loops) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : key) h = (h ^ c) * 16777619u;
  return h % loops;
}

void right(unsigned threads) {
  // counters[i] belongs to loop i.
  std::vector<std::unordered_map<std::string, long>> counters(threads);
  spindle::run_threads(threads, [&](unsigned i) {
    const auto loops = spindle::loops();
    const auto n = static_cast<unsigned>(loops.size());
    spindle::task_group([&](spindle::TaskGroup& g) {
      for (const std::string& path : requests()) {
        g.spawn([&, path] {  // one task per request, as a server would have
          const unsigned owner = owner_of(path, n);
          if (owner == i) {
            ++counters[i][path];  // our own key: no message needed
          } else {
            spindle::call_on(loops[owner], [&, owner, path] { ++counters[owner][path]; });
          }
        });
      }
    });
  });
  // Every loop has stopped: the counters can be read from here.
  std::map<std::string, long> totals;
  for (unsigned i = 0; i < threads; ++i) {
    for (const auto& [key, count] : counters[i]) totals[key] += count;
  }
  for (const auto& [key, count] : totals) {
    std::printf("%-12s %5ld  (owner: loop %u)\n", key.c_str(), count, owner_of(key, threads));
  }
}

void wrong(unsigned threads) {
#ifdef NDEBUG
  std::printf("no thread check in this build (NDEBUG): the loops may deadlock or count wrong\n");
  std::fflush(stdout);
#endif
  std::unordered_map<std::string, long> counts;
  spindle::Lock lock;  // belongs to the first loop that uses it
  spindle::run_threads(threads, [&](unsigned i) {
    if (i != 0) spindle::sleep(std::chrono::milliseconds(20));  // loop 0 uses it first
    for (const std::string& path : requests()) {
      std::lock_guard<spindle::Lock> guard(lock);  // another loop: std::logic_error (debug)
      ++counts[path];
      spindle::sleep(std::chrono::microseconds(10));
    }
  });
  std::printf("finished: the counts may be wrong\n");
}

}  // namespace

int main(int argc, char** argv) {
  unsigned threads = 2;
  bool bad = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--wrong") {
      bad = true;
    } else if (a == "--threads" && i + 1 < argc) {
      threads = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
      if (threads == 0 || threads > 256) {
        std::fprintf(stderr, "%s: --threads takes 1 to 256\n", argv[0]);
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--threads N] [--wrong]\n", argv[0]);
      return 2;
    }
  }
  if (!bad) {
    right(threads);
    return 0;
  }
  try {
    wrong(threads);
  } catch (const std::exception& e) {  // the thread check (debug), or a deadlock (release)
    std::printf("caught: %s\n", e.what());
    return 1;
  }
}
