// The web framework against the servers its users would pick instead, on TechEmpower's six
// tests, in one run: spindle's `techempower` example (Router + spindle-pg), FastAPI on uvicorn
// (uvloop, httptools, no access log) with asyncpg, aiohttp (uvloop, no access log) with
// asyncpg, and Go's net/http with database/sql and lib/pq (GOMAXPROCS=1). Each server is one
// process pinned to CPU 0 with a pool of 32 connections to the same PostgreSQL (pinned to
// CPU 1 by tests/db_servers.py); wrk, one thread on CPU 1, drives it with keep-alive
// connections, plaintext pipelined 16 deep as the specification does. Every server has
// carried the test's traffic (a warm-up run) before it is measured.
//
// BM_Web/<test> (0 plaintext, 1 json, 2 db, 3 queries?queries=20, 4 fortunes,
// 5 updates?queries=20). Counters, per server (spindle_, fastapi_, aiohttp_, go_): req_per_s
// and req_per_cpu_s (requests per second of the server process's CPU); vs_<peer> = spindle's
// req_per_cpu_s over the peer's (targets: above 1 for every peer, at least 5 against FastAPI,
// at least 1 against Go). spindle sends a request's 20 queries together (pg pipeline mode, as
// TechEmpower's rules allow); on tests 3 and 5 the same server with --sequential (spindle_seq,
// seq_vs_<peer>) sends them one at a time, as the peers' drivers must. A peer that cannot run here (a Python module or Go missing) is
// left out with a note; the Python servers' own messages go to logs in the scratch directory
// (aiohttp reports every connection wrk drops at the end of a run). Needs SPINDLE_PG (run it under tests/db_servers.py --pg-sql
// examples/techempower.sql), SPINDLE_TECHEMPOWER (the example's path; Meson sets it) and wrk.
// SPINDLE_WEB_CONNS sets the connections (default 256), SPINDLE_LOAD_SECONDS each run's length.
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "load.hpp"

namespace {

using namespace spindle_bench;

struct Test {
  const char* name;
  const char* path;
  int pipeline;
  bool several_queries;  // where spindle pipelines its queries (spindle_seq does not)
};
const Test kTests[] = {{"plaintext", "/plaintext", 16, false},
                       {"json", "/json", 1, false},
                       {"db", "/db", 1, false},
                       {"queries", "/queries?queries=20", 1, true},
                       {"fortunes", "/fortunes", 1, false},
                       {"updates", "/updates?queries=20", 1, true}};

/// One server process, pinned to CPU 0, stopped (SIGTERM) when destroyed.
class Server {
 public:
  Server(std::string name, const std::vector<std::string>& argv, std::uint16_t port)
      : name_(std::move(name)), port_(port) {
    pid_ = spawn_pinned(0, argv);
    try {
      wait_listening(port, 30);
    } catch (...) {
      stop();
      throw;
    }
  }
  ~Server() { stop(); }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  const std::string& name() const { return name_; }
  std::string url(const char* path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  double cpu_s() const { return process_tree_cpu_s(pid_); }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string name_;
  std::uint16_t port_;
  pid_t pid_ = -1;
};

/// perf/ in the source tree (Meson passes it: __FILE__ may be relative to the build).
std::string source_dir() { return SPINDLE_PERF_DIR; }

/// Go's server, built from perf/go/techempower.go in GOPATH mode; empty without Go or lib/pq.
std::string build_go() {
  if (!have("go") || !std::filesystem::exists("/usr/share/gocode/src/github.com/lib/pq")) return {};
  const std::string out = scratch_dir() + "/go_techempower";
  const std::string cmd = "GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE=" + scratch_dir() +
                          "/gocache GOFLAGS= go build -o " + out + " " + source_dir() +
                          "/go/techempower.go > " + scratch_dir() + "/go-build.log 2>&1";
  return std::system(cmd.c_str()) == 0 ? out : std::string();
}

/// The servers of the run, started once and kept (each has carried traffic when measured).
/// spindle's must start; a peer that cannot is left out and named in `notes`.
std::vector<std::unique_ptr<Server>>& servers(std::string& notes) {
  static std::vector<std::unique_ptr<Server>> all;
  static std::string missing;
  static bool started = false;
  const auto peer = [&](const std::string& name, const std::string& why_not,
                        const auto& argv_for) {
    if (!why_not.empty()) {
      missing += " " + name + " (" + why_not + ")";
      return;
    }
    const std::uint16_t port = free_port();
    try {
      all.push_back(std::make_unique<Server>(name, argv_for(std::to_string(port)), port));
    } catch (const std::exception& e) {
      missing += " " + name + " (" + e.what() + ")";
    }
  };
  if (!started) {
    started = true;
    const std::string pg = std::getenv("SPINDLE_PG"), ours = std::getenv("SPINDLE_TECHEMPOWER");
    for (const char* name : {"spindle", "spindle_seq"}) {
      const std::uint16_t port = free_port();
      std::vector<std::string> argv{ours, "--port", std::to_string(port), "--pg", pg};
      if (name == std::string("spindle_seq")) argv.emplace_back("--sequential");
      all.push_back(std::make_unique<Server>(name, argv, port));
    }
    const std::string web = source_dir() + "/web";
    const std::string fastapi_py = python_with("fastapi, uvicorn, uvloop, httptools, asyncpg");
    peer("fastapi", fastapi_py.empty() ? "needs python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-asyncpg" : "",
         [&](const std::string& p) {
           return std::vector<std::string>{
               "sh", "-c",
               "cd " + web + " && exec " + fastapi_py +
                   " -m uvicorn fastapi_app:app --host 127.0.0.1 --port " + p +
                   " --loop uvloop --http httptools --no-access-log --log-level warning 2> " +
                   scratch_dir() + "/fastapi.log"};
         });
    const std::string aiohttp_py = python_with("aiohttp, uvloop, asyncpg");
    peer("aiohttp", aiohttp_py.empty() ? "needs python3-aiohttp python3-uvloop python3-asyncpg" : "",
         [&](const std::string& p) {
           return std::vector<std::string>{"sh", "-c",
                                            "cd " + web + " && exec " + aiohttp_py +
                                                " aiohttp_app.py " + p + " 2> " + scratch_dir() +
                                                "/aiohttp.log"};
         });
    const std::string go = build_go();
    peer("go", go.empty() ? "needs golang-go golang-github-lib-pq-dev" : "",
         [&](const std::string& p) { return std::vector<std::string>{"env", "GOMAXPROCS=1", go, p}; });
  }
  if (!missing.empty()) notes = "not run:" + missing;
  return all;
}

int connections() {
  const char* c = std::getenv("SPINDLE_WEB_CONNS");
  return c ? std::max(1, std::atoi(c)) : 256;
}

void BM_Web(benchmark::State& state) {
  if (!have("wrk") || !have("taskset") || !std::getenv("SPINDLE_PG") ||
      !std::getenv("SPINDLE_TECHEMPOWER")) {
    state.SkipWithError("needs wrk, taskset, SPINDLE_PG (tests/db_servers.py) and SPINDLE_TECHEMPOWER");
    return;
  }
  raise_fd_limit();
  const Test& test = kTests[state.range(0)];
  state.SetLabel(test.name);
  std::string notes;
  std::vector<std::unique_ptr<Server>>* started = nullptr;
  try {
    started = &servers(notes);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto& all = *started;
  std::map<std::string, std::pair<double, double>> sums;  // requests, server CPU seconds
  std::map<std::string, double> walls;
  WrkOptions o;
  o.conns = connections();
  o.pipeline = test.pipeline;
  for (auto _ : state) {
    for (const auto& s : all) {
      if (s->name() == "spindle_seq" && !test.several_queries) continue;  // the same code
      try {
        WrkOptions warm = o;
        warm.seconds = std::max(1, load_seconds() / 2);
        run_wrk(s->url(test.path), warm);  // connections and pools that have carried traffic
        const double cpu0 = s->cpu_s();
        const WrkRun r = run_wrk(s->url(test.path), o);
        sums[s->name()].first += r.requests;
        sums[s->name()].second += s->cpu_s() - cpu0;
        walls[s->name()] += r.seconds;
      } catch (const std::exception& e) {  // a server that answered an error: no figures
        state.SkipWithError((s->name() + ": " + e.what()).c_str());
        return;
      }
    }
  }
  std::map<std::string, double> per_cpu;
  for (const auto& [name, v] : sums) {
    per_cpu[name] = v.first / std::max(v.second, 1e-9);
    state.counters[name + "_req_per_s"] = v.first / walls[name];
    state.counters[name + "_req_per_cpu_s"] = per_cpu[name];
  }
  for (const auto& [name, rate] : per_cpu) {
    if (!name.starts_with("spindle")) {
      state.counters["vs_" + name] = per_cpu["spindle"] / rate;
      if (per_cpu.count("spindle_seq")) state.counters["seq_vs_" + name] = per_cpu["spindle_seq"] / rate;
    }
  }
  if (!notes.empty()) state.SetLabel(std::string(test.name) + "; " + notes);
}
BENCHMARK(BM_Web)->DenseRange(0, 5)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
