// run(): owns a loop for one main task; shutdown and deadlock handling.
//
// The root context drives the loop and is resumed only when nothing is runnable. If tasks
// are still alive then, every one of them is parked with nothing that could wake it: a
// deadlock. They are cancelled (so their stacks unwind) and run() throws DeadlockError.
#include <algorithm>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "loop_core.hpp"

namespace spindle::detail {

namespace {
constexpr int kMaxShutdownRounds = 100;
}

namespace {
// The task t's wait depends on (a Lock's holder, a joined task), if it is still parked.
const TaskBase* next_in_chain(const TaskBase& t) {
  const Waiter* w = t.parked_on_;
  if (!w || !w->held_by || !*w->held_by) return nullptr;
  const TaskBase* n = *w->held_by;
  return n->state_ == TaskBase::State::Parked ? n : nullptr;
}
}  // namespace

std::string LoopCore::describe_parked() const {
  constexpr std::size_t kMaxListed = 100;
  std::ostringstream out;
  out << "deadlock: every task is parked and nothing can wake one (" << live_count_
      << (live_count_ == 1 ? " task" : " tasks") << ")";
  auto& live = const_cast<IntrusiveList<TaskBase, RegistryTag>&>(live_);
  // Tasks parked on the same object (an Event, a Queue, ...), to name fellow waiters.
  std::unordered_map<const void*, std::vector<const TaskBase*>> by_object;
  live.for_each([&](TaskBase& t) {
    if (t.parked_on_ && t.parked_on_->object) by_object[t.parked_on_->object].push_back(&t);
  });
  std::size_t listed = 0;
  live.for_each([&](TaskBase& t) {
    if (++listed > kMaxListed) return;
    out << "\n  " << t.name() << ' ';
    describe_wait(out, t);
    if (t.parked_on_ && t.parked_on_->object) {
      const auto& peers = by_object[t.parked_on_->object];
      if (peers.size() > 1) {
        out << " (with";
        std::size_t shown = 0;
        for (const TaskBase* p : peers) {
          if (p == &t) continue;
          if (++shown > 3) {
            out << " and " << peers.size() - 4 << " more";
            break;
          }
          out << (shown > 1 ? ", " : " ") << p->name();
        }
        out << ')';
      }
    }
  });
  if (listed > kMaxListed) out << "\n  ... and " << listed - kMaxListed << " more";
  // Who waits on whom: follow each chain; a chain that comes back to itself is a cycle.
  std::unordered_map<const TaskBase*, int> state;  // 1: on the current path, 2: done
  live.for_each([&](TaskBase& start) {
    std::vector<const TaskBase*> path;
    const TaskBase* t = &start;
    while (t && state[t] == 0) {
      state[t] = 1;
      path.push_back(t);
      t = next_in_chain(*t);
    }
    if (t && state[t] == 1) {
      out << "\n  cycle: ";
      auto it = std::find(path.begin(), path.end(), t);
      for (; it != path.end(); ++it) out << (*it)->name() << " -> ";
      out << t->name();
    }
    for (const TaskBase* p : path) state[p] = 2;
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
        return_stack(t);
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
