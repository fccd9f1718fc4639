// mien/core/error.hpp -- how mien reports bad run-time input.
//
// Hosted builds throw mien::error (a std::runtime_error) whose message names what was expected
// and what was found. Builds with -fno-exceptions print the same message to stderr and abort:
// embedded users get a loud stop instead of silent garbage.
//
// Messages are never cut: a topology mismatch lists every layer of both networks, which runs to
// kilobytes. The exceptions path measures the message with a first vsnprintf and formats it into
// a std::string of that size; the no-exceptions path (no heap there) prints it with vfprintf
// straight to stderr. fail() is a C variadic function so that the compiler checks every format
// string against its arguments (a variadic template cannot carry the format attribute).
#pragma once

#include <cstdarg>
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

#if defined(__GNUC__) || defined(__clang__)
#define MIEN_PRINTF_FORMAT(format_index, first_argument) __attribute__((format(printf, format_index, first_argument)))
#else
#define MIEN_PRINTF_FORMAT(format_index, first_argument)
#endif

namespace mien {

#if MIEN_HAS_EXCEPTIONS
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
#endif

// Raise an error with a printf-style message of any length (no heap in the no-exceptions path).
[[noreturn]] inline void fail(char const* format, ...) MIEN_PRINTF_FORMAT(1, 2);

[[noreturn]] inline void fail(char const* format, ...) {
    std::va_list args;
    va_start(args, format);
#if MIEN_HAS_EXCEPTIONS
    std::va_list measure;
    va_copy(measure, args);
    int const length = std::vsnprintf(nullptr, 0, format, measure);
    va_end(measure);
    std::string message;
    if (length < 0) {
        // Only an encoding error (a wide argument that does not convert) gets here: say so
        // rather than throw an empty message.
        message = "mien: cannot format the message of an error; its format is: ";
        message += format;
    } else {
        message.resize(static_cast<std::size_t>(length));
        // std::string keeps a terminator past size(), so length + 1 bytes are writable.
        std::vsnprintf(message.data(), message.size() + 1, format, args);
    }
    va_end(args);
    throw error(message);
#else
    std::fputs("mien: ", stderr);
    std::vfprintf(stderr, format, args);
    std::fputc('\n', stderr);
    va_end(args);
    std::abort();
#endif
}

// The common case: a buffer of the wrong size.
[[noreturn]] inline void fail_size(char const* where, std::size_t expected, std::size_t found) {
    fail("%s: expected %zu values, found %zu", where, expected, found);
}

}  // namespace mien
