// The one translation unit that defines the Boost.Test module (compiled once, MESON.md P8).
#define BOOST_TEST_MODULE spindle
#include <boost/test/unit_test.hpp>
