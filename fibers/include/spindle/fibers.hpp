// Everything in spindle's fiber core (no I/O). Include <spindle/spindle.hpp> for all of it.
#pragma once

#include <spindle/barrier.hpp>
#include <spindle/cancel.hpp>
#include <spindle/channel.hpp>
#include <spindle/condition.hpp>
#include <spindle/context_var.hpp>
#include <spindle/debug.hpp>
#include <spindle/errors.hpp>
#include <spindle/event.hpp>
#include <spindle/gather.hpp>
#include <spindle/lock.hpp>
#include <spindle/loop.hpp>
#include <spindle/loops.hpp>
#include <spindle/queue.hpp>
#include <spindle/reactor.hpp>
#include <spindle/run.hpp>
#include <spindle/semaphore.hpp>
#include <spindle/sleep.hpp>
#include <spindle/source_location.hpp>
#include <spindle/stats.hpp>
#include <spindle/task.hpp>
#include <spindle/task_group.hpp>
#include <spindle/thread.hpp>
#include <spindle/timeout.hpp>
#include <spindle/wait.hpp>
