// Looking inside a loop: dump_tasks(), the dump signal's output, slow-task warnings and the
// canary overflow report.
#include <spindle/debug.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <ostream>
#include <sstream>
#include <string_view>
#include <tuple>

#include "loop_core.hpp"
#include "sampler.hpp"

namespace spindle {
namespace detail {

std::string format_duration(Clock::duration d) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(d).count();
  char buf[32];
  if (ms < 10'000) {
    std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ms));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  }
  return buf;
}

namespace {
void write_site(std::ostream& out, const SourceLocation& at) {
  out << (at.file_name()[0] ? at.file_name() : "?") << ':' << at.line();
}
}  // namespace

void LoopCore::describe_wait(std::ostream& out, const TaskBase& t) {
  out << "parked in " << t.parked_in_ << " at ";
  write_site(out, t.parked_at_);
  const Waiter* w = t.parked_on_;
  if (w && w->held_by && *w->held_by) {
    const TaskBase& other = **w->held_by;
    out << (w->joins ? ", waiting for " : ", held by ") << other.name();
    if (!w->joins && other.done()) out << " (which finished without releasing it)";
  }
}

void LoopCore::describe(std::ostream& out, const TaskBase& t) const {
  out << t.name() << ": ";
  switch (t.state_) {
    case TaskBase::State::Running:
      out << "running";
      break;
    case TaskBase::State::Ready:
      out << "ready";
      break;
    case TaskBase::State::Scheduled:
      out << "scheduled (not started)";
      break;
    case TaskBase::State::Parked:
      describe_wait(out, t);
      out << ", for " << format_duration(park_time() - t.parked_since_);
      break;
    case TaskBase::State::Done:
      out << "done";
      break;
  }
  out << "; stack " << t.ctx_.stack_size / 1024 << " KiB, ";
  const std::size_t used = pool_.used(stack_of(t));
  out << (track_stack_ ? "" : "at most ") << (used + 1023) / 1024 << " KiB used";
  if (t.ctx_.canary) out << " (canary, no guard page)";
  out << '\n';
}

void LoopCore::dump_to_stderr() noexcept {
  try {
    std::ostringstream out;
    out << "spindle: " << live_count_ << (live_count_ == 1 ? " task" : " tasks") << '\n';
    spindle::dump_tasks(out);
    const std::string s = out.str();
    std::fwrite(s.data(), 1, s.size(), stderr);
    std::fflush(stderr);
  } catch (...) {
    std::fputs("spindle: out of memory writing the task dump\n", stderr);
  }
}

void LoopCore::note_resumed() noexcept {
  if (sampler_) sampler_->resumed(current_ != nullptr);
  run_started_ = Clock::now();
  resumed_in_ = current_ ? current_->parked_in_ : "";
  resumed_at_ = current_ ? current_->parked_at_ : SourceLocation{};
}

void LoopCore::check_slow(const TaskBase& t) noexcept {
  const auto took = Clock::now() - run_started_;
  try {
    // (asked every time: it also notes that the task stopped running)
    const std::string frames = sampler_ ? sampler_->parked() : std::string();
    if (took <= slow_callback_) return;
    std::ostringstream msg;
    msg << t.name() << " ran " << format_duration(took) << " without parking, ";
    if (resumed_in_[0]) {
      msg << "since it resumed from " << resumed_in_ << " at ";
      write_site(msg, resumed_at_);
    } else {
      msg << "since it started";
    }
    if (!frames.empty()) msg << "; sampled while it ran:" << frames;
    report(msg.str(), nullptr, &t);
  } catch (...) {
  }
}

void LoopCore::canary_overwritten(const ExecContext& c) noexcept {
  char buf[256];
  const TaskBase& t = *c.task;
  const int n = std::snprintf(
      buf, sizeof buf,
      "spindle: stack overflow in task %s (stack size %zu KiB; the canary at the bottom of the "
      "stack was overwritten, memory below it may be corrupt)\n",
      t.name().c_str(), t.ctx_.stack_size / 1024);
  // snprintf returns the untruncated length: a long task name must not read past buf.
  const std::size_t len = n < 0 ? 0 : std::min(static_cast<std::size_t>(n), sizeof buf - 1);
  [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, buf, len);
  std::abort();
}

LoopStats LoopCore::stats() {
  LoopStats s;
  s.loop_index = index_;
  s.tasks_alive = live_count_;
  std::map<std::string_view, std::size_t> parked;
  live_.for_each([&](const TaskBase& t) {
    switch (t.state_) {
      case TaskBase::State::Ready:
      case TaskBase::State::Scheduled:
        ++s.tasks_ready;
        break;
      case TaskBase::State::Parked:
        ++s.tasks_parked;
        ++parked[t.parked_in_];
        break;
      default:
        break;
    }
  });
  s.parked_by_call.reserve(parked.size());
  for (const auto& [call, n] : parked) s.parked_by_call.emplace_back(std::string(call), n);
  s.tasks_started = next_task_id_ - 1;
  s.tasks_finished = finish_count_;
  s.switches = switches_;
  s.timers = timers_.size();
  s.io_waits = io_waiters_;
  s.backend = reactor_->backend();
  s.to_thread_jobs = jobs_;
  if (workers_) std::tie(s.pool_threads, s.pool_threads_idle) = workers_->threads_and_idle();
  s.stacks_in_use = pool_.in_use();
  s.stacks_cached = pool_.cached();
  s.stack_bytes_mapped = pool_.mapped();
  s.stack_bytes_touched = pool_.resident();
  return s;
}

}  // namespace detail

LoopStats stats() { return detail::LoopCore::require().stats(); }

void dump_tasks(std::ostream& out) {
  detail::LoopCore& loop = detail::LoopCore::require();
  loop.live_.for_each([&](detail::TaskBase& t) { loop.describe(out, t); });
}

}  // namespace spindle
