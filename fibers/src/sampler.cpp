// The blocking-call sampler (see sampler.hpp). The signal is SIGRTMIN + 6, installed once per
// process with SA_RESTART (an interrupted system call in the sampled task resumes); the
// handler finds its loop's sampler through a thread-local pointer set for the loop's thread.
#include "sampler.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>

namespace spindle::detail {
namespace {

thread_local BlockSampler* tls_sampler = nullptr;

int sample_signal() noexcept { return SIGRTMIN + 6; }

void install_handler(void (*handler)(int)) {
  static std::once_flag once;
  std::call_once(once, [handler] {
    void* warm[1];
    ::backtrace(warm, 1);  // loads the unwinder now, not inside the signal handler
    struct sigaction sa {};
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sample_signal(), &sa, nullptr);
  });
}

/// "function+0x12 (library)" for one return address, demangled where it can be; "+0x1234
/// (program)" without a symbol.
std::string describe(void* address) {
  Dl_info info{};
  std::string out;
  if (::dladdr(address, &info) && info.dli_sname) {
    int status = 0;
    std::unique_ptr<char, decltype(&std::free)> name(
        abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status), &std::free);
    out = status == 0 && name ? name.get() : info.dli_sname;
    const auto offset = static_cast<char*>(address) - static_cast<char*>(info.dli_saddr);
    char buf[32];
    std::snprintf(buf, sizeof buf, "+0x%tx", offset);
    out += buf;
  } else if (info.dli_fbase) {  // no dynamic symbol: the offset addr2line -e MODULE takes
    char buf[32];
    std::snprintf(buf, sizeof buf, "+0x%tx",
                  static_cast<char*>(address) - static_cast<char*>(info.dli_fbase));
    out = buf;
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%p", address);
    return buf;
  }
  if (info.dli_fname) {
    const char* base = std::strrchr(info.dli_fname, '/');
    out += std::string(" (") + (base ? base + 1 : info.dli_fname) + ")";
  }
  return out;
}

}  // namespace

BlockSampler::BlockSampler(Clock::duration threshold)
    : threshold_(threshold), loop_thread_(::pthread_self()) {
  install_handler(&BlockSampler::on_signal);
  tls_sampler = this;
  watchdog_ = std::thread([this] { watch(); });
}

BlockSampler::~BlockSampler() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  cv_.notify_all();
  watchdog_.join();
  tls_sampler = nullptr;
}

void BlockSampler::on_signal(int) noexcept {
  const int saved = errno;
  if (BlockSampler* s = tls_sampler) {
    const std::uint64_t run = s->run_.load(std::memory_order_acquire);
    if (run & 1) {
      s->frame_count_ = ::backtrace(s->frames_, kFrames);
      s->sampled_run_.store(run, std::memory_order_release);
    }
  }
  errno = saved;
}

void BlockSampler::watch() {
  const Clock::duration tick = std::max<Clock::duration>(threshold_ / 4, std::chrono::milliseconds(1));
  std::uint64_t signalled = 0;  // the run already interrupted (one sample per run)
  std::unique_lock<std::mutex> lock(m_);
  while (!cv_.wait_for(lock, tick, [this] { return stop_; })) {
    const std::uint64_t run = run_.load(std::memory_order_acquire);
    if (!(run & 1) || run == signalled) continue;
    const Clock::time_point started{Clock::duration(started_.load(std::memory_order_relaxed))};
    if (Clock::now() - started < threshold_) continue;
    signalled = run;
    ::pthread_kill(loop_thread_, sample_signal());
  }
}

std::string BlockSampler::parked() {
  const std::uint64_t run = run_.load(std::memory_order_relaxed);
  if (!(run & 1)) return {};
  run_.store(run + 1, std::memory_order_release);  // even: nothing runs
  if (sampled_run_.load(std::memory_order_acquire) != run) return {};
  std::string out;
  // Frame 0 is the handler, frame 1 the signal trampoline: the task's own start at 2.
  for (int i = 2; i < frame_count_; ++i) out += "\n    at " + describe(frames_[i]);
  return out;
}

}  // namespace spindle::detail
