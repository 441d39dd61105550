// Everything in spindle's fiber core (no I/O). Include <spindle/spindle.hpp> for all of it.
#pragma once

#include <spindle/cancel.hpp>
#include <spindle/errors.hpp>
#include <spindle/gather.hpp>
#include <spindle/loop.hpp>
#include <spindle/run.hpp>
#include <spindle/sleep.hpp>
#include <spindle/source_location.hpp>
#include <spindle/task.hpp>
#include <spindle/task_group.hpp>
#include <spindle/timeout.hpp>
#include <spindle/wait.hpp>
