// The whole of spindle: the fiber core and (as it lands) spindle::io.
#pragma once

#include <spindle/fibers.hpp>
