// fast_math: the vectorised float tanh that additive attention uses, against std::tanh.
#include <mien/core/fast_math.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <mien/core/random.hpp>

TEST_CASE("fast_math: float tanh within 5e-7 of tanh on -12..12 (its saturation included)") {
    using batch = mien::detail::simd_batch<float>;
    double worst = 0;
    float lanes[batch::size], out[batch::size];
    for (int i = -120000; i <= 120000; i += int(batch::size)) {
        for (std::size_t l = 0; l < batch::size; ++l) lanes[l] = float(i + int(l)) * 1e-4f;
        mien::detail::tanh_rational(batch::load_unaligned(lanes)).store_unaligned(out);
        for (std::size_t l = 0; l < batch::size; ++l)
            worst = std::max(worst, std::abs(double(out[l]) - std::tanh(double(lanes[l]))));
    }
    CHECK(worst < 5e-7);
    lanes[0] = 0;
    lanes[1] = 1e-30f;
    lanes[2] = -100;
    for (std::size_t l = 3; l < batch::size; ++l) lanes[l] = 1;
    mien::detail::tanh_rational(batch::load_unaligned(lanes)).store_unaligned(out);
    CHECK(out[0] == 0);     // odd: exactly zero at zero
    CHECK(std::abs(out[2] + 1) < 5e-7);  // clamped: saturates within 5e-7 of -1
}

TEST_CASE("fast_math: tanh_sum_dot writes tanh(a + b) and returns its dot with w (SIMD body and tail)") {
    for (std::size_t const n : {1, 15, 16, 17, 37, 64}) {
        mien::random_generator rng(n);
        std::vector<float> a(n), b(n), w(n), out(n);
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = float(rng.uniform(-3, 3));
            b[i] = float(rng.uniform(-3, 3));
            w[i] = float(rng.uniform(-1, 1));
        }
        float const dot = mien::detail::tanh_sum_dot(n, a.data(), b.data(), w.data(), out.data());
        double expected = 0;
        for (std::size_t i = 0; i < n; ++i) {
            double const t = std::tanh(double(a[i] + b[i]));
            CHECK(out[i] == doctest::Approx(t).epsilon(1e-6));
            expected += t * double(w[i]);
        }
        CHECK(dot == doctest::Approx(expected).epsilon(1e-5));
        // double keeps std::tanh exactly (the gradient checks rely on it)
        std::vector<double> ad(a.begin(), a.end()), bd(b.begin(), b.end()), wd(w.begin(), w.end()), od(n);
        mien::detail::tanh_sum_dot(n, ad.data(), bd.data(), wd.data(), od.data());
        CHECK(od[n - 1] == std::tanh(ad[n - 1] + bd[n - 1]));
    }
}
