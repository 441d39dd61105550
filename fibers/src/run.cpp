// run(): owns a loop for one main task; shutdown and deadlock handling.
//
// The root context drives the loop and is resumed only when nothing is runnable. If tasks
// are still alive then, every one of them is parked with nothing that could wake it: a
// deadlock. They are cancelled (so their stacks unwind) and run() throws DeadlockError.
#include <sstream>

#include "loop_core.hpp"

namespace spindle::detail {

namespace {
constexpr int kMaxShutdownRounds = 100;
}

std::string LoopCore::describe_parked() const {
  std::ostringstream out;
  out << "deadlock: every task is parked and nothing can wake one (" << live_count_
      << (live_count_ == 1 ? " task" : " tasks") << ")";
  const_cast<IntrusiveList<TaskBase, RegistryTag>&>(live_).for_each([&](TaskBase& t) {
    const auto& at = t.parked_at_;
    out << "\n  " << t.name() << " parked in " << t.parked_in_ << " at "
        << (at.file_name()[0] ? at.file_name() : "?") << ':' << at.line();
  });
  return out.str();
}

void LoopCore::run_until_done(TaskBase& main) {
  main_ = &main;
  drive();
  std::string deadlock;
  for (int round = 0; live_count_ > 0; ++round) {
    if (deadlock.empty()) deadlock = describe_parked();
    if (round == kMaxShutdownRounds) {
      // Tasks that swallow every cancellation and park again cannot be unwound. Abandon
      // them: their stacks go back to the pool, objects on them are never destroyed.
      report("abandoning tasks that ignore cancellation after a deadlock", nullptr, nullptr);
      live_.for_each([&](TaskBase& t) {
        IntrusiveList<TaskBase, RegistryTag>::erase(t);
        t.loop_ = nullptr;
        pool_.release({t.ctx_.stack_lo, t.ctx_.stack_size});
        t.release();
      });
      live_count_ = 0;
      break;
    }
    main_ = nullptr;
    cancel_all_live(CancelledError::Reason::Deadlock, true);
    drive();
  }
  if (!deadlock.empty()) throw DeadlockError(deadlock);
}

RunScope::RunScope(RunOptions opts) : loop_(new LoopCore(std::move(opts))) {}

RunScope::~RunScope() { delete loop_; }

void RunScope::run_until_done(TaskBase& main) { loop_->run_until_done(main); }

}  // namespace spindle::detail
