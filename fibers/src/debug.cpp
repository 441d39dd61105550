// dump_tasks(): a snapshot of the running loop's tasks.
#include <spindle/debug.hpp>

#include <ostream>

#include "loop_core.hpp"

namespace spindle {

void dump_tasks(std::ostream& out) {
  detail::LoopCore& loop = detail::LoopCore::require();
  loop.live_.for_each([&](detail::TaskBase& t) {
    out << t.name() << ": ";
    switch (t.state_) {
      case detail::TaskBase::State::Running:
        out << "running";
        break;
      case detail::TaskBase::State::Ready:
        out << "ready";
        break;
      case detail::TaskBase::State::Scheduled:
        out << "scheduled (not started)";
        break;
      case detail::TaskBase::State::Parked: {
        const SourceLocation& at = t.parked_at_;
        out << "parked in " << t.parked_in_ << " at "
            << (at.file_name()[0] ? at.file_name() : "?") << ':' << at.line();
        break;
      }
      case detail::TaskBase::State::Done:
        out << "done";
        break;
    }
    out << ", stack " << t.ctx_.stack_size / 1024 << " KiB\n";
  });
}

}  // namespace spindle
