// dropout: inverted dropout with a seeded mask; identity at inference.
#include <mien/layers/dropout.hpp>

#include <cmath>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

using d128 = bind<dropout, flat<128>, float>;
static_assert(d128::params == 0 && d128::state_size == 1 && d128::macs == 0);
static_assert(d128::saved_per_sample == 128);

namespace {
using L = bind<dropout, flat<1000>, double>;
constexpr std::size_t batch = 4;  // 4,000 values

std::vector<double> ramp() {
    std::vector<double> x(batch * 1000);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0 + double(i % 17);
    return x;
}
}  // namespace

TEST_CASE("dropout: the rate lives in the state, 0.2 by default") {
    layer_runner<L> r;
    CHECK(r.state[0] == doctest::Approx(0.2));
}

TEST_CASE("dropout: drops about p of the values and scales survivors by 1 / (1 - p)") {
    for (double const p : {0.1, 0.25, 0.5}) {
        INFO("p = ", p);
        layer_runner<L> r(batch, 42);
        r.state[0] = p;
        std::vector<double> const x = ramp();
        std::vector<double> const y = r.forward(x, true);
        std::size_t dropped = 0, scaled = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (y[i] == 0) ++dropped;
            else if (std::abs(y[i] - x[i] / (1 - p)) < 1e-12) ++scaled;
        }
        CHECK(dropped + scaled == x.size());
        // 4,000 Bernoulli(p) draws: standard deviation at most 0.008, so 0.03 is ~4 sigma.
        CHECK(std::abs(double(dropped) / double(x.size()) - p) < 0.03);
        // Survivors scale up, so the mean is kept in expectation (within ~4 sigma).
        double sum_x = 0, sum_y = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            sum_x += x[i];
            sum_y += y[i];
        }
        CHECK(std::abs(sum_y / sum_x - 1) < 0.06);
    }
}

TEST_CASE("dropout: identity at inference and at rate 0") {
    layer_runner<L> r(batch);
    std::vector<double> const x = ramp();
    check_close(r.forward(x, false), x, 0);
    r.state[0] = 0;
    check_close(r.forward(x, true), x, 0);
}

TEST_CASE("dropout: the mask depends only on the generator's seed, and backward reuses it") {
    std::vector<double> const x = ramp();
    layer_runner<L> a(batch, 7), b(batch, 7), c(batch, 8);
    std::vector<double> const ya = a.forward(x, true), yb = b.forward(x, true), yc = c.forward(x, true);
    check_close(ya, yb, 0);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < x.size(); ++i) differ += ya[i] != yc[i];
    CHECK(differ > 100);  // another seed, another mask (~32 % of positions differ at p = 0.2)
    // dx = dy * mask: with dy = x the input gradient equals the output.
    check_close(a.backward(x, ya, x, true), ya, 1e-15);
}

TEST_CASE("dropout: gradient check (fixed mask)") {
    check_gradients<bind<dropout, input<3, 5, 7>, double>>(2);
    check_gradients<bind<dropout, input<3, 5, 7>, double>>(2, false);
}
