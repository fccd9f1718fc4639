// tests/support/skip.hpp -- a test case that cannot run here says so and stops, and CTest
// reports it as skipped, never as passed: tests/CMakeLists.txt gives every doctest case the
// SKIP_REGULAR_EXPRESSION "mien-test-skipped: ". Skip before any check, so that a skipped case
// never hides a failed one.
#pragma once

#include <doctest/doctest.h>

#define MIEN_SKIP_TEST(why)                             \
    do {                                                \
        MESSAGE("mien-test-skipped: " << why);         \
        return;                                         \
    } while (false)
