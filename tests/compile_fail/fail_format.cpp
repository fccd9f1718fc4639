// expect: format.*(expects argument of type|specifies type).*int
// fail()'s format string is checked against its arguments by the compiler (core/error.hpp's
// printf attribute): %d given a std::size_t does not compile. The pragma makes -Wformat an
// error here even in a build without -Werror.
#include <cstddef>
#include <string>

#include <mien/core/error.hpp>

#pragma GCC diagnostic error "-Wformat"

int main() {
    std::size_t const found = 3;
    try {
#ifdef MIEN_COMPILE_FAIL
        mien::fail("expected 4 values, found %d", found);
#else
        mien::fail("expected 4 values, found %zu", found);
#endif
    } catch (mien::error const& e) {
        return std::string(e.what()) == "expected 4 values, found 3" ? 0 : 1;
    }
    return 1;
}
