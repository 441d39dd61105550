// File I/O without the thread pool: 4 KiB random reads at queue depths 1, 32 and 128, buffered
// and O_DIRECT, through io::File on each backend (io_uring: the loop's ring; epoll: the
// thread pool) against fio --ioengine=io_uring on the same file, in one run.
//
// BM_RandRead/QD/DIRECT: QD tasks each read 4 KiB at random aligned offsets of a 256 MiB
//   file with File::read_at(offset, span) for SPINDLE_LOAD_SECONDS (default 2) seconds.
//   Counters: ring_iops, pool_iops, fio_iops; ring_vs_fio (target >= 0.9), ring_vs_pool
//   (target >= 3 at depth 32). Buffered reads come from the page cache (the file was just
//   written; fio runs with --invalidate=0 so that it reads the same cached pages), so they
//   measure what each way costs per read; O_DIRECT reads reach the device.
//   fio missing: fio_iops = 0 and no ratio.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace {

constexpr std::size_t kFileSize = 256u << 20;
constexpr std::size_t kBlock = 4096;

double load_seconds() {
  const char* v = std::getenv("SPINDLE_LOAD_SECONDS");
  return v ? std::atof(v) : 2.0;
}

/// The test file, in the current directory (not /tmp: a tmpfs has no O_DIRECT), written once.
const std::string& test_file() {
  static const std::string path = [] {
    std::string p = "spindle-bench-files-" + std::to_string(::getpid()) + ".dat";
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + p);
    std::vector<char> chunk(1 << 20, 'f');
    for (std::size_t done = 0; done < kFileSize; done += chunk.size()) {
      if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
        throw std::runtime_error("cannot write " + p);
      }
    }
    ::fsync(fd);
    ::close(fd);
    return p;
  }();
  // Registered once `path` is made, so that it runs before path's destructor (an atexit
  // registered inside the initializer ran after it, unlinked nothing, and left 256 MiB
  // behind per run).
  [[maybe_unused]] static const int cleanup = std::atexit([] { ::unlink(path.c_str()); });
  return path;
}

/// Reads per second of `depth` tasks reading 4 KiB blocks at random on `backend`.
double spindle_iops(spindle::Backend backend, int depth, bool direct) {
  spindle::RunOptions o;
  o.backend = backend;
  return spindle::run(
      [&] {
        spindle::io::File f(test_file(), O_RDONLY | (direct ? O_DIRECT : 0));
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::duration<double>(load_seconds());
        std::vector<spindle::Task<long>> readers;
        for (int t = 0; t < depth; ++t) {
          readers.push_back(spindle::spawn([&f, until, t] {
            std::unique_ptr<std::byte, decltype(&std::free)> buf(
                static_cast<std::byte*>(std::aligned_alloc(kBlock, kBlock)), &std::free);
            std::mt19937_64 rng(static_cast<unsigned>(t) * 7919u + 1);
            std::uniform_int_distribution<std::size_t> block(0, kFileSize / kBlock - 1);
            long n = 0;
            while (std::chrono::steady_clock::now() < until) {
              f.read_at(block(rng) * kBlock, std::span<std::byte>(buf.get(), kBlock));
              ++n;
            }
            return n;
          }));
        }
        const auto t0 = std::chrono::steady_clock::now();
        long total = 0;
        for (long n : spindle::gather(readers)) total += n;
        return static_cast<double>(total) / (spindle_bench::ns_since(t0) / 1e9);
      },
      o);
}

/// fio's reads per second for the same job, or 0 without fio.
double fio_iops(int depth, bool direct) {
  const std::string cmd = "fio --name=r --filename=" + test_file() +
                          " --ioengine=io_uring --rw=randread --bs=4k --size=256m --time_based"
                          " --runtime=" + std::to_string(load_seconds()) +
                          " --iodepth=" + std::to_string(depth) + " --direct=" +
                          (direct ? "1" : "0") +
                          " --invalidate=0 --output-format=terse --terse-version=3 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return 0;
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  if (::pclose(p) != 0) return 0;
  // Terse v3: field 8 (1-based) is the read IOPS.
  std::size_t at = 0;
  for (int field = 1; field < 8 && at != std::string::npos; ++field) at = out.find(';', at) + 1;
  return at == std::string::npos ? 0 : std::atof(out.c_str() + at);
}

void BM_RandRead(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  const bool direct = state.range(1) != 0;
  double ring = 0, pool = 0, fio = 0;
  for (auto _ : state) {
    ring = spindle_iops(spindle::Backend::IoUring, depth, direct);
    pool = spindle_iops(spindle::Backend::Epoll, depth, direct);
    fio = fio_iops(depth, direct);
  }
  state.counters["ring_iops"] = ring;
  state.counters["pool_iops"] = pool;
  state.counters["fio_iops"] = fio;
  state.counters["ring_vs_pool"] = ring / pool;
  if (fio > 0) state.counters["ring_vs_fio"] = ring / fio;
}
BENCHMARK(BM_RandRead)
    ->ArgsProduct({{1, 32, 128}, {0, 1}})
    ->ArgNames({"qd", "direct"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
