// mien/core/error.hpp -- how mien reports bad run-time input.
//
// Hosted builds throw mien::error (a std::runtime_error) whose message names what was expected
// and what was found. Builds with -fno-exceptions print the same message to stderr and abort:
// embedded users get a loud stop instead of silent garbage.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define MIEN_HAS_EXCEPTIONS 1
#include <stdexcept>
#include <string>
#else
#define MIEN_HAS_EXCEPTIONS 0
#endif

namespace mien {

#if MIEN_HAS_EXCEPTIONS
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
#endif

// Raise an error with a printf-style message (no heap in the no-exceptions path).
template <class... Args>
[[noreturn]] inline void fail(char const* format, Args... args) {
    char message[512];
    if constexpr (sizeof...(Args) == 0) {
        std::snprintf(message, sizeof message, "%s", format);
    } else {
        std::snprintf(message, sizeof message, format, args...);
    }
#if MIEN_HAS_EXCEPTIONS
    throw error(message);
#else
    std::fprintf(stderr, "mien: %s\n", message);
    std::abort();
#endif
}

// The common case: a buffer of the wrong size.
[[noreturn]] inline void fail_size(char const* where, std::size_t expected, std::size_t found) {
    fail("%s: expected %zu values, found %zu", where, expected, found);
}

}  // namespace mien
