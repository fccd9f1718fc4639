// depthwise_conv2d: hand-computed values, PyTorch values (groups = channels), gradients, costs.
#include <mien/layers/depthwise_conv2d.hpp>

#include <type_traits>

#include "golden/torch_reference.hpp"
#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

// The depthwise half of the paper's separable example: 8 * 8 * 5 * 5 * 3 = 4,800.
using paper_dw = bind<depthwise_conv2d<5, valid>, input<12, 12, 3>, float>;
static_assert(std::is_same_v<paper_dw::output_shape, shape<8, 8, 3>>);
static_assert(paper_dw::macs == 4'800);
static_assert(paper_dw::params == 5 * 5 * 3);
using dw_same = bind<depthwise_conv2d<3>, input<48, 48, 32>, float>;
static_assert(std::is_same_v<dw_same::output_shape, shape<48, 48, 32>>);
static_assert(dw_same::params == 288 && dw_same::macs == 48 * 48 * 9 * 32);
static_assert(std::is_same_v<bind<depthwise_conv2d<3, valid, 2>, input<7, 7, 4>, float>::output_shape, shape<3, 3, 4>>);
static_assert(std::is_same_v<bind<depthwise_conv2d<3, same, 2>, input<7, 6, 5>, float>::output_shape, shape<4, 3, 5>>);

TEST_CASE("depthwise_conv2d: one filter per channel, weights (ky, kx, c), tap (0, 0) is offset (-1, -1)") {
    using L = bind<depthwise_conv2d<3>, input<3, 3, 2>, double>;
    layer_runner<L> r;
    // Both channels hold 1..9. Channel 0's kernel is all ones, channel 1's is only tap (0, 0).
    std::vector<double> x(18), w(18, 0.0);
    for (std::size_t i = 0; i < 9; ++i) x[2 * i] = x[2 * i + 1] = double(i + 1);
    for (std::size_t t = 0; t < 9; ++t) w[2 * t] = 1;
    w[1] = 1;
    r.set_params(0, w);
    std::vector<double> const sums{12, 21, 16, 27, 45, 33, 24, 39, 28};  // 3x3 window sums, zero padded
    std::vector<double> const shifted{0, 0, 0, 0, 1, 2, 0, 4, 5};      // x[oy - 1][ox - 1]
    std::vector<double> expected(18);
    for (std::size_t i = 0; i < 9; ++i) {
        expected[2 * i] = sums[i];
        expected[2 * i + 1] = shifted[i];
    }
    check_close(r.forward(x), expected, 0);
}

TEST_CASE("depthwise_conv2d: stride 2 valid keeps channels apart") {
    using L = bind<depthwise_conv2d<1, valid, 2>, input<3, 3, 2>, double>;
    layer_runner<L> r;
    r.set_params(0, {2, -1});
    std::vector<double> x(18);
    for (std::size_t i = 0; i < 9; ++i) {
        x[2 * i] = double(i + 1);
        x[2 * i + 1] = 10 * double(i + 1);
    }
    // pixels (0, 0), (0, 2), (2, 0), (2, 2) = 1, 3, 7, 9 and 10, 30, 70, 90
    check_close(r.forward(x), std::vector<double>{2, -10, 6, -30, 14, -70, 18, -90}, 0);
}

namespace {

template <class T>
void depthwise_matches_torch(double tolerance) {
    namespace s = golden::depthwise_same;
    {
        using L = bind<depthwise_conv2d<3>, input<6, 5, 3>, T>;
        layer_runner<L> r(1);
        r.set_params(0, as<T>(s::weight));
        check_close(r.forward(as<T>(s::x)), s::y, tolerance);
    }
    namespace v = golden::depthwise_valid_stride2;
    {
        using L = bind<depthwise_conv2d<3, valid, 2>, input<7, 7, 4>, T>;
        layer_runner<L> r(2);
        r.set_params(0, as<T>(v::weight));
        check_close(r.forward(as<T>(v::x)), v::y, tolerance);
    }
}

}  // namespace

TEST_CASE("depthwise_conv2d: matches PyTorch conv2d with groups = channels, double and float") {
    depthwise_matches_torch<double>(1e-12);
    depthwise_matches_torch<float>(2e-6);
}

TEST_CASE("depthwise_conv2d: gradient check, several shapes") {
    check_gradients<bind<depthwise_conv2d<3>, input<7, 5, 3>, double>>(2);
    check_gradients<bind<depthwise_conv2d<3>, input<5, 4, 19>, double>>(2);
    check_gradients<bind<depthwise_conv2d<3, valid, 2>, input<9, 8, 17>, double>>(3);
    check_gradients<bind<depthwise_conv2d<5, same, 2>, input<6, 7, 2>, double>>(1);
}

TEST_CASE("depthwise_conv2d: two threads give the same outputs and the same summed gradients") {
    check_two_threads_agree<bind<depthwise_conv2d<3>, input<5, 6, 18>, double>>(4);
}
