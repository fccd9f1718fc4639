// conv2d and pointwise: hand-computed values, PyTorch values, gradients, costs, threads.
#include <mien/layers/conv2d.hpp>

#include <numeric>
#include <type_traits>

#include "golden/torch_reference.hpp"
#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

// The paper's example (section III): 12x12x3, 256 filters 5x5, valid, stride 1.
using paper_conv = bind<conv2d<256, 5, valid>, input<12, 12, 3>, float>;
static_assert(std::is_same_v<paper_conv::output_shape, shape<8, 8, 256>>);
static_assert(paper_conv::macs == 1'228'800);
static_assert(paper_conv::params == 5 * 5 * 3 * 256);
static_assert(bind<conv2d<256, 5, valid, 1, with_bias>, input<12, 12, 3>, float>::params == 5 * 5 * 3 * 256 + 256);
// Same padding keeps the size; stride 2 halves it, rounding up (7 -> 4).
static_assert(std::is_same_v<bind<conv2d<8, 3>, input<7, 5, 3>, float>::output_shape, shape<7, 5, 8>>);
using strided = bind<conv2d<8, 3, same, 2>, input<7, 7, 3>, float>;
static_assert(std::is_same_v<strided::output_shape, shape<4, 4, 8>>);
static_assert(strided::macs == 4 * 4 * 3 * 3 * 3 * 8);
static_assert(std::is_same_v<bind<conv2d<2, 3, valid, 2>, input<9, 8, 1>, float>::output_shape, shape<4, 3, 2>>);
// Pointwise: 1x1, every pixel times a Cin x F matrix.
using pw = bind<pointwise<16>, input<5, 5, 3>, float>;
static_assert(std::is_same_v<pw::output_shape, shape<5, 5, 16>>);
static_assert(pw::params == 3 * 16 && pw::macs == 5 * 5 * 3 * 16 && pw::direct);
static_assert(pw::name == "pointwise" && paper_conv::name == "conv2d");
static_assert(!bind<conv2d<4, 1, valid, 2>, input<5, 5, 3>, float>::direct);

namespace {

std::vector<double> one_to(std::size_t n) {
    std::vector<double> v(n);
    std::iota(v.begin(), v.end(), 1.0);
    return v;
}

}  // namespace

TEST_CASE("conv2d: 3x3 same padding sums each neighbourhood, zero outside") {
    using L = bind<conv2d<1, 3>, input<3, 3, 1>, double>;
    layer_runner<L> r;
    r.set_params(0, std::vector<double>(9, 1.0));
    // 1 2 3 / 4 5 6 / 7 8 9: each output is the sum of the in-bounds 3x3 window.
    check_close(r.forward(one_to(9)), std::vector<double>{12, 21, 16, 27, 45, 33, 24, 39, 28}, 0);
}

TEST_CASE("conv2d: weights are (ky, kx, cin, filter), correlation (not flipped)") {
    using L = bind<conv2d<2, 2, valid>, input<2, 3, 2>, double>;
    static_assert(std::is_same_v<L::output_shape, shape<1, 2, 2>>);
    layer_runner<L> r;
    // channel 0: 1 2 3 / 4 5 6, channel 1: 0 1 0 / 2 0 1 (HWC interleaved)
    std::vector<double> const x{1, 0, 2, 1, 3, 0, 4, 2, 5, 0, 6, 1};
    std::vector<double> w(2 * 2 * 2 * 2, 0.0);
    auto at = [](std::size_t ky, std::size_t kx, std::size_t ci, std::size_t f) { return ((ky * 2 + kx) * 2 + ci) * 2 + f; };
    w[at(0, 0, 0, 0)] = 1;   // filter 0: the window's top-left value of channel 0
    w[at(1, 1, 1, 1)] = 2;   // filter 1: 2 * bottom-right of channel 1 ...
    w[at(0, 1, 0, 1)] = -1;  // ... minus top-right of channel 0
    r.set_params(0, w);
    // window at ox = 0: f0 = 1, f1 = 2 * 0 - 2 = -2; at ox = 1: f0 = 2, f1 = 2 * 1 - 3 = -1
    check_close(r.forward(x), std::vector<double>{1, -2, 2, -1}, 0);

    using LB = bind<conv2d<2, 2, valid, 1, with_bias>, input<2, 3, 2>, double>;
    layer_runner<LB> rb;
    rb.set_params(0, w);
    rb.set_params(LB::weights, {0.5, -1});
    check_close(rb.forward(x), std::vector<double>{1.5, -3, 2.5, -2}, 0);
}

TEST_CASE("conv2d: stride 2 samples every other window") {
    using one_by_one = bind<conv2d<1, 1, valid, 2>, input<3, 3, 1>, double>;
    layer_runner<one_by_one> a;
    a.set_params(0, {2});
    check_close(a.forward(one_to(9)), std::vector<double>{2, 6, 14, 18}, 0);

    using three = bind<conv2d<1, 3, same, 2>, input<3, 3, 1>, double>;
    layer_runner<three> b;
    b.set_params(0, std::vector<double>(9, 1.0));
    check_close(b.forward(one_to(9)), std::vector<double>{12, 16, 24, 28}, 0);
}

TEST_CASE("pointwise: every pixel times the cin x filter matrix, plus bias") {
    using L = bind<pointwise<2, with_bias>, input<1, 2, 3>, double>;
    layer_runner<L> r;
    r.set_params(0, {1, 0, 0, 1, 2, -1});  // W = [[1, 0], [0, 1], [2, -1]]
    r.set_params(6, {10, 20});
    // pixel (1, 2, 3): [1 + 6, 2 - 3] + b; pixel (-1, 0, 1): [-1 + 2, -1] + b
    check_close(r.forward({1, 2, 3, -1, 0, 1}), std::vector<double>{17, 19, 11, 19}, 0);
}

namespace {

template <class Spec, Shape In, class T>
void check_against_torch(std::size_t n, std::span<double const> x, std::span<double const> w, std::span<double const> b,
                         std::span<double const> y, double tolerance) {
    using L = bind<Spec, In, T>;
    REQUIRE(w.size() == L::weights);
    REQUIRE(w.size() + b.size() == L::params);
    layer_runner<L> r(n);
    r.set_params(0, as<T>(w));
    if (!b.empty()) r.set_params(L::weights, as<T>(b));
    check_close(r.forward(as<T>(x)), y, tolerance);
}

template <class T>
void conv2d_matches_torch(double tolerance) {
    namespace g = golden;
    check_against_torch<conv2d<4, 3>, input<5, 5, 3>, T>(1, g::conv2d_same::x, g::conv2d_same::weight, {},
                                                          g::conv2d_same::y, tolerance);
    namespace v = g::conv2d_valid_stride2_bias;
    check_against_torch<conv2d<5, 3, valid, 2, with_bias>, input<7, 6, 3>, T>(2, v::x, v::weight, v::bias, v::y, tolerance);
    namespace s = g::conv2d_same_stride2_bias;
    check_against_torch<conv2d<3, 3, same, 2, with_bias>, input<6, 5, 2>, T>(1, s::x, s::weight, s::bias, s::y, tolerance);
}

}  // namespace

TEST_CASE("conv2d: matches PyTorch (same, valid, stride 2, bias), double and float") {
    conv2d_matches_torch<double>(1e-12);
    conv2d_matches_torch<float>(2e-6);
}

TEST_CASE("conv2d: gradient check, several shapes") {
    check_gradients<bind<conv2d<5, 3>, input<7, 5, 3>, double>>(2);
    check_gradients<bind<conv2d<17, 3, valid, 2, with_bias>, input<9, 8, 3>, double>>(2);
    check_gradients<bind<conv2d<4, 5, same, 2>, input<6, 7, 2>, double>>(3);
    check_gradients<bind<conv2d<3, 1, valid, 2, with_bias>, input<5, 5, 3>, double>>(2);
    check_gradients<bind<conv2d<3, 2, valid>, input<4, 3, 19>, double>>(1);
}

TEST_CASE("pointwise: gradient check, channels not a multiple of the SIMD width") {
    check_gradients<bind<pointwise<20>, input<4, 3, 18>, double>>(2);
    check_gradients<bind<pointwise<3, with_bias>, input<3, 5, 7>, double>>(3);
}

TEST_CASE("conv2d: two threads give the same outputs and the same summed gradients") {
    check_two_threads_agree<bind<conv2d<6, 3, same, 1, with_bias>, input<6, 5, 4>, double>>(3);
}
