// all_finite / first_non_finite: how a caller rejects NaN and infinity before predict.
#include <mien/core/finite.hpp>
#include <mien/mien.hpp>

#include <doctest/doctest.h>

#include <array>
#include <limits>
#include <memory>
#include <span>
#include <vector>

namespace {
template <class T>
void finds_every_kind() {
    T const nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
    std::vector<T> v(37, T(0.5));
    CHECK(mien::all_finite(v));
    CHECK(mien::first_non_finite(v) == 37);
    // The extremes of the finite range are finite.
    v[3] = std::numeric_limits<T>::max();
    v[4] = -std::numeric_limits<T>::max();
    v[5] = std::numeric_limits<T>::denorm_min();
    CHECK(mien::all_finite(v));
    for (T const bad : {nan, inf, -inf}) {
        std::vector<T> w = v;
        w[29] = bad;
        w[33] = bad;
        CHECK_FALSE(mien::all_finite(w));
        CHECK(mien::first_non_finite(w) == 29);  // the first one
    }
}
}  // namespace

TEST_CASE("finite: NaN, +inf and -inf are found in float and double, extremes are finite") {
    finds_every_kind<float>();
    finds_every_kind<double>();
}

TEST_CASE("finite: spans, arrays and vectors, empty is finite") {
    std::array<float, 3> a{1, std::numeric_limits<float>::infinity(), 2};
    CHECK(mien::first_non_finite(a) == 1);
    CHECK(mien::first_non_finite(std::span<float>(a)) == 1);          // mutable span
    CHECK(mien::first_non_finite(std::span<float const>(a).last(1)) == 1);  // all finite: the size, 1
    CHECK(mien::all_finite(std::vector<double>{}));
}

// How a caller guards predict: mien does not scan inputs itself, and a NaN pixel need not reach
// the output as NaN (ReLU and max-pool compare, and comparisons with NaN are false), so the
// output cannot serve as the check. Check the input; the output can be checked the same way.
TEST_CASE("finite: guarding predict against a corrupt image") {
    auto net = std::make_unique<mien::models::paper<>>();
    std::vector<float> face(2304, 0.5f);
    REQUIRE(mien::all_finite(face));
    auto const& p = net->predict(face);
    CHECK(mien::all_finite(p));  // std::array of probabilities
    face[1000] = std::numeric_limits<float>::quiet_NaN();
    CHECK(mien::first_non_finite(face) == 1000);
}
