// A canary for the compiler the library is built with, not for mien's code.
//
// Debian's GCC 12.2 (12.2.0-14) emits wrong code for some small constant vectors when AVX-512 is
// enabled (-march=native on the reference machine, or -mavx512f) at -O2 and above: the
// constant {1, 1, 0, 0} of four 64-bit values is stored as a broadcast of its first element,
// {1, 1, 1, 1}. GIMPLE still holds the right constant; the x86 back end loses it. Turning off
// the SLP vectoriser (-fno-tree-slp-vectorize) avoids it. The same kind of constant can occur
// in mien's own kernels, so a build that fails this test cannot be trusted to compute the
// right numbers. Found while writing tests/layers/test_batch_norm.cpp.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

namespace {

[[gnu::noinline]] std::vector<double> four_doubles() { return std::vector<double>{1, 1, 0, 0}; }
[[gnu::noinline]] std::vector<std::int64_t> four_integers() { return std::vector<std::int64_t>{1, 1, 0, 0}; }

}  // namespace

TEST_CASE("toolchain: small constant vectors are compiled correctly (GCC 12.2 AVX-512 wrong code)") {
    std::vector<double> const d = four_doubles();
    REQUIRE(d.size() == 4);
    CHECK(d[0] == 1);
    CHECK(d[1] == 1);
    CHECK(d[2] == 0);
    CHECK(d[3] == 0);
    std::vector<std::int64_t> const i = four_integers();
    REQUIRE(i.size() == 4);
    CHECK(i[2] == 0);
    CHECK(i[3] == 0);
}
