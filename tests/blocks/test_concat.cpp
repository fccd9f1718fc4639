// concat: branches on the same input, outputs joined along channels pixel by pixel.
#include <mien/blocks/concat.hpp>
#include <mien/blocks/residual.hpp>
#include <mien/layers/conv2d.hpp>
#include <mien/layers/depthwise_conv2d.hpp>
#include <mien/layers/relu.hpp>

#include <type_traits>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

using two = bind<concat<pointwise<3>, depthwise_conv2d<3>>, input<4, 5, 2>, float>;
static_assert(std::is_same_v<two::output_shape, shape<4, 5, 5>>);
static_assert(two::params == 2 * 3 + 9 * 2);
static_assert(two::macs == 20 * 2 * 3 + 20 * 9 * 2);
static_assert(two::param_at[1] == 6 && two::channel_at[1] == 3);

TEST_CASE("concat: channels of each branch in order, per pixel") {
    using L = bind<concat<relu, identity>, input<1, 2, 2>, double>;
    layer_runner<L> r;
    std::vector<double> const x{-1, 2, 3, -4};
    std::vector<double> const y = r.forward(x, true);
    check_close(y, std::vector<double>{0, 2, -1, 2, 3, 0, 3, -4}, 0);
    // dx sums the branches' input gradients: relu passes where positive, identity always.
    check_close(r.backward(x, y, {1, 2, 3, 4, 5, 6, 7, 8}, true), std::vector<double>{3, 2 + 4, 5 + 7, 8}, 0);
}

TEST_CASE("concat: each branch reads its own parameters") {
    using L = bind<concat<pointwise<1>, pointwise<2>>, input<1, 1, 2>, double>;
    layer_runner<L> r;
    r.set_params(0, {1, 1});           // branch 0: x0 + x1
    r.set_params(2, {1, 0, 0, -1});    // branch 1: (x0, -x1)
    check_close(r.forward({3, 5}), std::vector<double>{8, 3, -5}, 0);
}

TEST_CASE("concat: gradient check") {
    check_gradients<bind<concat<pointwise<3>, depthwise_conv2d<3>>, input<4, 5, 2>, double>>(2);
    check_gradients<bind<concat<conv2d<7, 3>, relu, pointwise<2, with_bias>>, input<3, 3, 17>, double>>(3);
}
