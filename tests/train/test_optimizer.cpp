// Optimisers against values worked out by hand (40-digit decimals; the derivation is below).
#include <mien/train/optimizer.hpp>

#include <doctest/doctest.h>

#include <array>

using namespace mien;

namespace {

// Adam with the paper's Keras defaults: lr 0.001, b1 0.9, b2 0.999, eps 1e-7.
// p0 = (1, -0.5, 0), g1 = (0.5, -2, 0), g2 = (0.1, 1, -0.3).
// Step 1: m = 0.1 g1, v = 0.001 g1^2, so m_hat = g1, v_hat = g1^2 and
//   p1 = p0 - lr g1 / (|g1| + eps) = (1 - 0.001 * 0.5 / 0.5000001, -0.5 + 0.001 * 2 / 2.0000001, 0)
// (a zero gradient leaves its parameter alone).
// Step 2: m = 0.09 g1 + 0.1 g2 = (0.055, -0.08, -0.03), v = 0.000999 g1^2 + 0.001 g2^2 =
//   (0.00025975, 0.004996, 0.00009); m_hat = m / 0.19, v_hat = v / 0.001999,
//   p2 = p1 - lr m_hat / (sqrt(v_hat) + eps).
constexpr std::array<double, 3> p0{1, -0.5, 0}, g1{0.5, -2, 0}, g2{0.1, 1, -0.3};
constexpr std::array<double, 3> adam_p1{0.99900000019999996000, -0.49900000004999999750, 0};
constexpr std::array<double, 3> adam_p2{0.99819695944434385319, -0.49873366302718675579, 0.00074413647286539823899};

template <class T>
void adam_two_steps(double tolerance) {
    adam<T, 3> opt;  // default options are the paper's
    std::array<T, 3> p{T(p0[0]), T(p0[1]), T(p0[2])};
    std::array<T, 3> const a{T(g1[0]), T(g1[1]), T(g1[2])}, b{T(g2[0]), T(g2[1]), T(g2[2])};
    opt.step(p.data(), a.data());
    CHECK(opt.steps() == 1);
    for (std::size_t i = 0; i < 3; ++i) CHECK(double(p[i]) == doctest::Approx(adam_p1[i]).epsilon(tolerance));
    CHECK(p[2] == 0);
    CHECK(double(opt.first_moment()[1]) == doctest::Approx(-0.2).epsilon(tolerance));
    CHECK(double(opt.second_moment()[1]) == doctest::Approx(0.004).epsilon(tolerance));
    opt.step(p.data(), b.data());
    for (std::size_t i = 0; i < 3; ++i) CHECK(double(p[i]) == doctest::Approx(adam_p2[i]).epsilon(tolerance));
    // reset: the next step is a first step again
    opt.reset();
    std::array<T, 3> q{T(p0[0]), T(p0[1]), T(p0[2])};
    opt.step(q.data(), a.data());
    CHECK(opt.steps() == 1);
    CHECK(double(q[0]) == doctest::Approx(adam_p1[0]).epsilon(tolerance));
}

}  // namespace

TEST_CASE("adam: one and two steps match the hand-computed values") {
    adam_two_steps<double>(1e-15);
    adam_two_steps<float>(1e-7);
}

TEST_CASE("adam: learning rate and decoupled weight decay") {
    adam<double, 2> opt({.learning_rate = 0.01, .weight_decay = 0.1});
    std::array<double, 2> p{1, 2};
    std::array<double, 2> const g{0, 1};
    opt.step(p.data(), g.data());
    // p0: no gradient, only decay lr * wd * p = 0.001; p1: lr g / (|g| + eps) + 0.001 * 2
    CHECK(p[0] == doctest::Approx(0.999).epsilon(1e-15));
    CHECK(p[1] == doctest::Approx(2 - 0.01 / (1 + 1e-7) - 0.002).epsilon(1e-15));
    opt.set_learning_rate(0.5);
    CHECK(opt.learning_rate() == 0.5);
}

TEST_CASE("sgd: momentum and weight decay match the hand-computed values") {
    // lr 0.1, momentum 0.9: u1 = g1, p1 = p0 - 0.1 u1; u2 = 0.9 u1 + g2, p2 = p1 - 0.1 u2.
    sgd<double, 2> opt({.learning_rate = 0.1, .momentum = 0.9});
    std::array<double, 2> p{1, -0.5};
    std::array<double, 2> const a{0.5, -2}, b{0.1, 1};
    opt.step(p.data(), a.data());
    CHECK(p[0] == doctest::Approx(0.95).epsilon(1e-15));
    CHECK(p[1] == doctest::Approx(-0.3).epsilon(1e-15));
    opt.step(p.data(), b.data());
    CHECK(opt.velocity()[0] == doctest::Approx(0.55).epsilon(1e-15));
    CHECK(opt.velocity()[1] == doctest::Approx(-0.8).epsilon(1e-15));
    CHECK(p[0] == doctest::Approx(0.895).epsilon(1e-15));
    CHECK(p[1] == doctest::Approx(-0.22).epsilon(1e-15));
    CHECK(opt.steps() == 2);

    // weight decay 0.01 joins the gradient: u1 = g1 + 0.01 p0 = (0.51, -2.005)
    sgd<float, 2> wd({.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 0.01});
    std::array<float, 2> q{1, -0.5f};
    std::array<float, 2> const af{0.5f, -2};
    wd.step(q.data(), af.data());
    CHECK(q[0] == doctest::Approx(0.949).epsilon(1e-6));
    CHECK(q[1] == doctest::Approx(-0.2995).epsilon(1e-6));
}

TEST_CASE("sgd: Nesterov momentum matches the hand-computed values") {
    // lr 0.1, momentum 0.9, p0 = (1, -0.5), g1 = (0.5, -2), g2 = (0.1, 1):
    //   u1 = g1,               p1 = p0 - 0.1 (g1 + 0.9 u1) = p0 - 0.19 g1 = (0.905, -0.12)
    //   u2 = 0.9 u1 + g2 = (0.55, -0.8),  p2 = p1 - 0.1 (g2 + 0.9 u2) = p1 - (0.0595, 0.028) = (0.8455, -0.148)
    sgd<double, 2> opt({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
    std::array<double, 2> p{1, -0.5};
    std::array<double, 2> const a{0.5, -2}, b{0.1, 1};
    opt.step(p.data(), a.data());
    CHECK(p[0] == doctest::Approx(0.905).epsilon(1e-15));
    CHECK(p[1] == doctest::Approx(-0.12).epsilon(1e-15));
    opt.step(p.data(), b.data());
    CHECK(opt.velocity()[0] == doctest::Approx(0.55).epsilon(1e-15));
    CHECK(opt.velocity()[1] == doctest::Approx(-0.8).epsilon(1e-15));
    CHECK(p[0] == doctest::Approx(0.8455).epsilon(1e-15));
    CHECK(p[1] == doctest::Approx(-0.148).epsilon(1e-15));

    // weight decay joins the gradient before both the velocity and the look-ahead:
    // g = 0.5 + 0.01 * 1 = 0.51, u1 = 0.51, p1 = 1 - 0.1 * 1.9 * 0.51 = 0.9031
    sgd<double, 1> wd({.learning_rate = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true});
    std::array<double, 1> q{1};
    std::array<double, 1> const g{0.5};
    wd.step(q.data(), g.data());
    CHECK(q[0] == doctest::Approx(0.9031).epsilon(1e-15));
}
