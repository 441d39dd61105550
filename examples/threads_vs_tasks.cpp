// asyncio tutorial, "Asyncio vs Threading" (twin: threads_vs_tasks.py). Ten 1 s fetches run
// once on ten threads (std::thread, blocking sleep) and once as ten tasks (gather): both take
// about 1 s. Then the claim that follows in the tutorial, that threads scale to hundreds and
// tasks to tens of thousands: N fetches at once both ways, with the wall time, the resident
// memory added while all N are alive, and the time to start each worker. Each of those two
// runs happens in a fresh process (the program runs itself with --scale), so neither reuses
// memory the other freed.
// Usage: threads_vs_tasks [N]   (default 10000)
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <spindle/spindle.hpp>
#include <string>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Seconds = std::chrono::duration<double>;

std::string fetch_blocking(const std::string& url) {  // a thread's fetch: blocks its thread
  std::this_thread::sleep_for(1s);
  return "Result from " + url;
}

std::string fetch(const std::string& url) {  // a task's fetch: parks the task
  spindle::sleep(1s);
  return "Result from " + url;
}

// What one way of running the fetches cost.
struct Outcome {
  std::vector<std::string> results;
  Seconds wall{}, to_start{};  // all done; all N started
  long resident = 0;           // bytes added with all N workers alive
  std::string error;           // why not all N threads could start, if so
};

long resident_bytes() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

Outcome with_threads(const std::vector<std::string>& urls) {
  Outcome out;
  out.results.resize(urls.size());
  const long before = resident_bytes();
  const auto start = std::chrono::steady_clock::now();
  std::atomic<std::size_t> running{0};
  std::vector<std::thread> threads;
  try {
    for (std::size_t i = 0; i < urls.size(); ++i) {
      threads.emplace_back([&, i] {
        running.fetch_add(1);
        running.notify_one();
        out.results[i] = fetch_blocking(urls[i]);
      });
    }
  } catch (const std::system_error& e) {  // the system refused another thread
    out.error = "could only start " + std::to_string(threads.size()) + " threads";
  }
  out.to_start = std::chrono::steady_clock::now() - start;
  for (auto n = running.load(); n < threads.size(); n = running.load()) running.wait(n);
  out.resident = resident_bytes() - before;  // every thread is running, all are asleep
  for (auto& t : threads) t.join();
  out.wall = std::chrono::steady_clock::now() - start;
  return out;
}

Outcome with_tasks(const std::vector<std::string>& urls) {
  return spindle::run([&] {
    Outcome out;
    auto& loop = spindle::Loop::current();
    const long before = resident_bytes();
    const auto start = loop.time();
    std::vector<spindle::Task<std::string>> tasks;
    for (const auto& url : urls) tasks.push_back(spindle::spawn(fetch, url));
    out.to_start = loop.time() - start;
    spindle::yield_now();  // every task runs up to its sleep
    out.resident = resident_bytes() - before;
    out.results = spindle::gather(tasks);
    out.wall = loop.time() - start;
    return out;
  });
}

// Python's str() of a list of strings: "['a', 'b']".
std::string to_list(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", '" : "'") + v[i] + "'";
  return s + "]";
}

void report(const char* label, const Outcome& o, std::size_t n) {
  if (!o.error.empty()) std::printf("  %s: %s\n", label, o.error.c_str());
  std::printf("  %s: %.2fs wall, %+.1f MiB resident (%.1f KiB each), %.1f us to start each\n",
              label, o.wall.count(), o.resident / 1048576.0, o.resident / 1024.0 / n,
              o.to_start.count() * 1e6 / n);
}

// Runs `threads_vs_tasks --scale KIND N` and copies its report line to stdout.
void report_fresh(const char* kind, std::size_t n) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  const std::string command = self + " --scale " + kind + " " + std::to_string(n);
  FILE* child = popen(command.c_str(), "r");
  if (child == nullptr) throw std::system_error(errno, std::generic_category(), "popen");
  char line[512];
  while (std::fgets(line, sizeof line, child) != nullptr) std::fputs(line, stdout);
  if (pclose(child) != 0) throw std::runtime_error(command + " failed");
}

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--scale") == 0) {  // one measurement, in this process
    const std::size_t n = std::strtoul(argv[3], nullptr, 10);
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < n; ++i) urls.push_back("url" + std::to_string(i));
    const bool threads = std::strcmp(argv[2], "threads") == 0;
    report(argv[2], threads ? with_threads(urls) : with_tasks(urls), n);
    return 0;
  }
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10000;
  if (argc > 2 || n == 0) {
    std::fprintf(stderr, "usage: threads_vs_tasks [N > 0]\n");
    return 2;
  }

  std::vector<std::string> urls;
  for (int i = 0; i < 10; ++i) urls.push_back("url" + std::to_string(i));
  const Outcome threads = with_threads(urls);
  std::printf("Threads: %.2fs, results=%s\n", threads.wall.count(), to_list(threads.results).c_str());
  const Outcome tasks = with_tasks(urls);
  std::printf("Tasks: %.2fs, results=%s\n", tasks.wall.count(), to_list(tasks.results).c_str());

  std::printf("%zu fetches at once:\n", n);
  std::fflush(stdout);
  report_fresh("threads", n);
  report_fresh("tasks", n);
}
