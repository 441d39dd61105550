// Messages between loops: nodes posted to another loop's inbox without allocating, the
// machinery under call_on and Channel. Installed because their templates need it; not API.
#pragma once

#include <spindle/detail/config.hpp>
#include <spindle/detail/intrusive.hpp>

namespace spindle {
class Loop;
}

namespace spindle::detail {

struct RemoteTag;

/// A message for one loop, embedded in whatever it concerns (a call, a parked waiter). The
/// loop calls run(node, false) on its own thread, between task switches (it must not block);
/// a loop that stops with the node still queued calls run(node, true) as it closes.
struct RemoteNode : ListHook<RemoteTag> {
  void (*run)(RemoteNode&, bool dropped) noexcept = nullptr;
  void* owner = nullptr;  // what the node is about, for run()
};

/// Queues n on `loop` (any thread) and wakes it if it sleeps; a node is queued at most
/// once at a time. Returns false, leaving n alone, if the loop has stopped taking messages.
SPINDLE_API bool post_node(Loop& loop, RemoteNode& n) noexcept;

/// Takes n back off the inbox of the loop running on this thread if it is still queued
/// there; returns true if it was.
SPINDLE_API bool unpost_node(Loop& loop, RemoteNode& n) noexcept;

}  // namespace spindle::detail
