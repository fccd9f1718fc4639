// residual: y = shortcut(x) + branch(x), identity or projected shortcut.
#include <mien/blocks/residual.hpp>
#include <mien/blocks/sequential.hpp>
#include <mien/layers/batch_norm.hpp>
#include <mien/layers/conv2d.hpp>
#include <mien/layers/depthwise_conv2d.hpp>
#include <mien/layers/relu.hpp>

#include <type_traits>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

// The paper's separable block body: DW 3x3, PW, BN, plus the identity.
using sep_body = bind<residual<sequential<depthwise_conv2d<3>, pointwise<32>, batch_norm>>, input<24, 24, 32>, float>;
static_assert(std::is_same_v<sep_body::output_shape, shape<24, 24, 32>>);
static_assert(sep_body::params == 9 * 32 + 32 * 32 + 2 * 32);
static_assert(sep_body::state_size == 2 * 32);
static_assert(sep_body::macs == 24 * 24 * 9 * 32 + 24 * 24 * 32 * 32);
// A projected shortcut lets the branch change the channel count; its costs are added.
using projected = bind<residual<conv2d<8, 3, same, 2>, conv2d<8, 1, valid, 2>>, input<6, 6, 4>, float>;
static_assert(std::is_same_v<projected::output_shape, shape<3, 3, 8>>);
static_assert(projected::params == 3 * 3 * 4 * 8 + 4 * 8);
static_assert(projected::macs == 9 * (3 * 3 * 4 * 8) + 9 * (4 * 8));

TEST_CASE("residual: identity shortcut adds the input to the branch") {
    // 8 values: one full AVX-512 register of doubles. (With fewer, g++ 12 raises a false
    // -Warray-bounds on relu's SIMD loop, which never runs for them, and -Werror fails the build.)
    using L = bind<residual<relu>, input<1, 2, 4>, double>;
    layer_runner<L> r;
    std::vector<double> const x{-1, 2, 3, -4, 0.5, 0, -2, 1};
    std::vector<double> const y = r.forward(x, true);
    check_close(y, std::vector<double>{-1, 4, 6, -4, 1, 0, -2, 2}, 0);
    // dx = dy (shortcut) + dy where relu passed (branch)
    check_close(r.backward(x, y, {1, 1, 1, 1, 1, 1, 1, 1}, true), std::vector<double>{1, 2, 2, 1, 2, 1, 1, 2}, 0);
}

TEST_CASE("residual: projected shortcut, branch parameters first") {
    using L = bind<residual<pointwise<2>, pointwise<2>>, input<1, 1, 2>, double>;
    static_assert(L::params == 8);
    layer_runner<L> r;
    r.set_params(0, {1, 0, 0, 1});  // branch: identity matrix
    r.set_params(4, {0, 1, 1, 0});  // shortcut: swap
    check_close(r.forward({3, 5}), std::vector<double>{8, 8}, 0);
    r.set_params(4, {2, 0, 0, 0});  // shortcut: (2 x0, 0)
    check_close(r.forward({3, 5}), std::vector<double>{9, 5}, 0);
}

TEST_CASE("residual: gradient check, identity and projected") {
    check_gradients<bind<residual<sequential<depthwise_conv2d<3>, pointwise<5>, batch_norm>>, input<5, 4, 5>, double>>(2);
    check_gradients<bind<residual<sequential<conv2d<17, 3, same, 2>, batch_norm, relu>, sequential<conv2d<17, 1, valid, 2>, batch_norm>>,
                         input<5, 6, 3>, double>>(2);
}
