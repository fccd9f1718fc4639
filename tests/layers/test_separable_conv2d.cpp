// separable_conv2d: depthwise then pointwise; the paper's 4,800 + 49,152 = 53,952.
#include <mien/layers/separable_conv2d.hpp>

#include <type_traits>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

// The paper's example (section III): same input and output as its normal convolution.
using paper_sep = bind<separable_conv2d<256, 5, valid>, input<12, 12, 3>, float>;
static_assert(std::is_same_v<paper_sep::output_shape, shape<8, 8, 256>>);
static_assert(paper_sep::count == 2);
static_assert(paper_sep::layer<0>::name == "depthwise_conv2d" && paper_sep::layer<1>::name == "pointwise");
static_assert(std::is_same_v<paper_sep::layer<0>::output_shape, shape<8, 8, 3>>);
static_assert(paper_sep::layer<0>::macs == 4'800);   // 8 * 8 * 5 * 5 * 3
static_assert(paper_sep::layer<1>::macs == 49'152);  // 8 * 8 * 3 * 256
static_assert(paper_sep::macs == 53'952);
static_assert(paper_sep::params == 5 * 5 * 3 + 3 * 256);
// ... 22.8 times fewer multiplications than the normal convolution's 1,228,800.
static_assert(bind<conv2d<256, 5, valid>, input<12, 12, 3>, float>::macs == 1'228'800);
using strided_sep = bind<separable_conv2d<10, 3, same, 2>, input<9, 7, 4>, float>;
static_assert(std::is_same_v<strided_sep::output_shape, shape<5, 4, 10>>);
static_assert(strided_sep::macs == 5 * 4 * 9 * 4 + 5 * 4 * 4 * 10);

TEST_CASE("separable_conv2d: depthwise parameters first, then the pointwise matrix") {
    using L = bind<separable_conv2d<2, 1, valid>, input<1, 2, 2>, double>;
    static_assert(L::params == 2 + 4);
    layer_runner<L> r;
    r.set_params(0, {2, 3});         // depthwise 1x1: channel 0 x2, channel 1 x3
    r.set_params(2, {1, 1, 1, -1});  // pointwise [[1, 1], [1, -1]]
    // pixel (1, 2) -> (2, 6) -> (8, -4); pixel (0, -1) -> (0, -3) -> (-3, 3)
    check_close(r.forward({1, 2, 0, -1}), std::vector<double>{8, -4, -3, 3}, 0);
}

TEST_CASE("separable_conv2d: gradient check") {
    check_gradients<bind<separable_conv2d<5, 3>, input<6, 5, 3>, double>>(2);
    check_gradients<bind<separable_conv2d<17, 3, valid, 2>, input<7, 8, 18>, double>>(2);
}
