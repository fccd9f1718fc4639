// Configure-time canary for MIEN_NATIVE (see tests/core/test_toolchain.cpp): Debian's GCC 12.2
// with AVX-512 enabled stores the constant {1, 1, 0, 0} of four 64-bit values as a broadcast of
// its first element. Exit status 0: the compiler got it right.
#include <cstdint>
#include <vector>

[[gnu::noinline]] std::vector<std::int64_t> constant() { return std::vector<std::int64_t>{1, 1, 0, 0}; }

int main() {
    std::vector<std::int64_t> const v = constant();
    return v[2] == 0 && v[3] == 0 ? 0 : 1;
}
