// http::metrics(): spindle::stats() of every loop, the server counters and the process's
// memory, fds and CPU time in the Prometheus text exposition format (0.0.4).
#include <spindle/http/metrics.hpp>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <spindle/loops.hpp>
#include <spindle/stats.hpp>
#include <string_view>
#include <vector>

#include "connection.hpp"

namespace spindle::http {

namespace {

/// One loop's numbers, taken on its thread.
struct Sample {
  LoopStats loop;
  detail::ServerCounters server;
};

Sample take_sample() { return {spindle::stats(), detail::server_counters()}; }

/// Writes Prometheus families: a HELP and TYPE line, then the samples.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  /// `name{labels} value`; labels is `key="value",...` (escaped already) or empty.
  void sample(std::string_view name, std::string_view labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    char buf[32];
    // Integers print in full: %.17g would give those of 18 digits or more an exponent.
    const auto whole = static_cast<std::int64_t>(value);
    if (static_cast<double>(whole) == value) {
      std::snprintf(buf, sizeof buf, " %lld\n", static_cast<long long>(whole));
    } else {
      std::snprintf(buf, sizeof buf, " %.17g\n", value);
    }
    out_ += buf;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

/// A label value as the format escapes it (backslash, quote, newline).
std::string escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string loop_label(const Sample& s) { return "loop=\"" + std::to_string(s.loop.loop_index) + '"'; }

/// A per-loop family whose samples are one number each.
struct Family {
  const char* name;
  const char* type;
  const char* help;
  std::uint64_t (*get)(const Sample&);
};

/// A per-loop family split by one label: `key="value"` for each value, its number from get.
struct Split {
  const char* value;
  std::uint64_t (*get)(const Sample&);
};
void split_family(Exposition& e, const std::vector<Sample>& samples, std::string_view name,
                  std::string_view type, std::string_view help, std::string_view key,
                  std::initializer_list<Split> splits) {
  e.family(name, type, help);
  for (const Sample& s : samples) {
    for (const Split& x : splits) {
      e.sample(name, loop_label(s) + "," + std::string(key) + "=\"" + x.value + '"',
               static_cast<double>(x.get(s)));
    }
  }
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* ent = ::readdir(d)) {
      if (ent->d_name[0] != '.') ++n;
    }
    ::closedir(d);
    if (n > 0) --n;  // the directory's own fd
  }
  return n;
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::string render(const std::vector<Sample>& samples) {
  Exposition e;
  static constexpr Family kFamilies[] = {
      {"spindle_tasks", "gauge", "Tasks alive (started, not finished).", [](const Sample& s) -> std::uint64_t { return s.loop.tasks_alive; }},
      {"spindle_tasks_ready", "gauge", "Tasks queued to run.", [](const Sample& s) -> std::uint64_t { return s.loop.tasks_ready; }},
      {"spindle_tasks_started_total", "counter", "Tasks started.", [](const Sample& s) -> std::uint64_t { return s.loop.tasks_started; }},
      {"spindle_tasks_finished_total", "counter", "Tasks finished.", [](const Sample& s) -> std::uint64_t { return s.loop.tasks_finished; }},
      {"spindle_switches_total", "counter", "Context switches.", [](const Sample& s) -> std::uint64_t { return s.loop.switches; }},
      {"spindle_timers", "gauge", "Pending timers (sleeps, timeouts, call_later).", [](const Sample& s) -> std::uint64_t { return s.loop.timers; }},
      {"spindle_io_waits", "gauge", "Tasks parked for I/O in the reactor.", [](const Sample& s) -> std::uint64_t { return s.loop.io_waits; }},
      {"spindle_to_thread_jobs", "gauge", "to_thread() calls in flight.", [](const Sample& s) -> std::uint64_t { return s.loop.to_thread_jobs; }},
      {"spindle_stack_mapped_bytes", "gauge", "Address space mapped for stacks.", [](const Sample& s) -> std::uint64_t { return s.loop.stack_bytes_mapped; }},
      {"spindle_stack_resident_bytes", "gauge", "Stack memory resident (touched).", [](const Sample& s) -> std::uint64_t { return s.loop.stack_bytes_touched; }},
      {"spindle_http_connections_open", "gauge", "HTTP connections open.", [](const Sample& s) { return s.server.connections_open; }},
      {"spindle_http_connections_total", "counter", "HTTP connections accepted.", [](const Sample& s) { return s.server.connections_total; }},
      {"spindle_http_requests_total", "counter", "HTTP requests handled.", [](const Sample& s) { return s.server.requests_total; }},
  };
  for (const Family& f : kFamilies) {
    e.family(f.name, f.type, f.help);
    for (const Sample& s : samples) e.sample(f.name, loop_label(s), static_cast<double>(f.get(s)));
  }
  e.family("spindle_tasks_parked", "gauge", "Tasks parked, by the blocking call they are in.");
  for (const Sample& s : samples) {
    for (const auto& [call, n] : s.loop.parked_by_call) {
      e.sample("spindle_tasks_parked", loop_label(s) + ",call=\"" + escape(call) + '"',
               static_cast<double>(n));
    }
  }
  split_family(e, samples, "spindle_pool_threads", "gauge",
               "Threads of the loop's to_thread pool, busy or idle.", "state",
               {{"busy", [](const Sample& s) -> std::uint64_t { return s.loop.pool_threads - s.loop.pool_threads_idle; }},
                {"idle", [](const Sample& s) -> std::uint64_t { return s.loop.pool_threads_idle; }}});
  split_family(e, samples, "spindle_stacks", "gauge",
               "Fiber stacks, held by tasks or cached for reuse.", "state",
               {{"in_use", [](const Sample& s) -> std::uint64_t { return s.loop.stacks_in_use; }},
                {"cached", [](const Sample& s) -> std::uint64_t { return s.loop.stacks_cached; }}});
  split_family(e, samples, "spindle_http_responses_total", "counter",
               "HTTP responses, by status class.", "code",
               {{"1xx", [](const Sample& s) { return s.server.responses[1]; }},
                {"2xx", [](const Sample& s) { return s.server.responses[2]; }},
                {"3xx", [](const Sample& s) { return s.server.responses[3]; }},
                {"4xx", [](const Sample& s) { return s.server.responses[4]; }},
                {"5xx", [](const Sample& s) { return s.server.responses[5]; }},
                {"other", [](const Sample& s) { return s.server.responses[0]; }}});
  e.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  e.sample("process_resident_memory_bytes", "", static_cast<double>(resident_bytes()));
  e.family("process_open_fds", "gauge", "Number of open file descriptors.");
  e.sample("process_open_fds", "", static_cast<double>(open_fds()));
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  e.family("process_cpu_seconds_total", "counter", "Total user and system CPU time in seconds.");
  e.sample("process_cpu_seconds_total", "", seconds(ru.ru_utime) + seconds(ru.ru_stime));
  return e.take();
}

}  // namespace

std::string metrics_text() {
  std::vector<Sample> samples;
  const unsigned here = current_loop_index();
  for (const LoopRef& l : loops()) {
    samples.push_back(l.index() == here ? take_sample() : call_on(l, [] { return take_sample(); }));
  }
  return render(samples);
}

std::function<Response(Request&)> metrics() {
  return [](Request&) {
    Response res(status::ok, 11);
    res.set(field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = metrics_text();
    return res;
  };
}

}  // namespace spindle::http
