// random_generator: seeded and portable; gamma and beta draws have the right moments.
#include <mien/core/random.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <utility>

namespace {

struct moments {
    double mean = 0, variance = 0, low = 1e300, high = -1e300;
};

template <class Draw>
moments sample(Draw draw, int n) {
    double sum = 0, sum2 = 0;
    moments m;
    for (int i = 0; i < n; ++i) {
        double const x = draw();
        sum += x;
        sum2 += x * x;
        m.low = std::min(m.low, x);
        m.high = std::max(m.high, x);
    }
    m.mean = sum / n;
    m.variance = sum2 / n - m.mean * m.mean;
    return m;
}

}  // namespace

TEST_CASE("random: the same seed gives the same sequence, another seed another one") {
    mien::random_generator a(42), b(42), c(43);
    for (int i = 0; i < 100; ++i) {
        double const x = a.beta(0.2, 0.2);
        CHECK(x == b.beta(0.2, 0.2));
        if (i == 0) CHECK(x != c.beta(0.2, 0.2));
    }
}

TEST_CASE("random: gamma(k) has mean k and variance k, also for k < 1") {
    for (double k : {0.2, 1.0, 3.5}) {
        CAPTURE(k);
        mien::random_generator g(7);
        moments const m = sample([&] { return g.gamma(k); }, 200000);
        CHECK(m.low >= 0.0);
        CHECK(m.mean == doctest::Approx(k).epsilon(0.02));
        CHECK(m.variance == doctest::Approx(k).epsilon(0.05));
    }
}

TEST_CASE("random: beta(a, b) lies in [0, 1] with mean a / (a + b) and the beta variance") {
    for (auto const& shapes : {std::pair{0.2, 0.2}, std::pair{2.0, 3.0}, std::pair{1.0, 1.0}}) {
        double const a = shapes.first, b = shapes.second;  // clang 14 cannot capture structured bindings
        CAPTURE(a);
        CAPTURE(b);
        mien::random_generator g(11);
        moments const m = sample([&] { return g.beta(a, b); }, 200000);
        CHECK(m.low >= 0.0);
        CHECK(m.high <= 1.0);
        double const mean = a / (a + b), variance = a * b / ((a + b) * (a + b) * (a + b + 1));
        CHECK(m.mean == doctest::Approx(mean).epsilon(0.01));
        CHECK(m.variance == doctest::Approx(variance).epsilon(0.03));
    }
}
