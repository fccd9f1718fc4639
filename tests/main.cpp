// The doctest main of mien_tests and mien_tests_opencv: every tests/**/test_*.cpp links to it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
