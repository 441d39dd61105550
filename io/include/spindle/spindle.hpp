// The whole of spindle: the fiber core and spindle::io.
#pragma once

#include <spindle/fibers.hpp>
#include <spindle/io/io.hpp>
