// max_pool: window maxima per channel, floor on odd sizes, gradient to the first maximum.
#include <mien/layers/max_pool.hpp>

#include <type_traits>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

static_assert(std::is_same_v<bind<max_pool<2>, input<48, 48, 32>, float>::output_shape, shape<24, 24, 32>>);
static_assert(std::is_same_v<bind<max_pool<2>, input<5, 7, 3>, float>::output_shape, shape<2, 3, 3>>);
static_assert(std::is_same_v<bind<max_pool<3, 2>, input<5, 5, 1>, float>::output_shape, shape<2, 2, 1>>);
static_assert(bind<max_pool<2>, input<6, 6, 8>, float>::params == 0 && bind<max_pool<2>, input<6, 6, 8>, float>::macs == 0);

TEST_CASE("max_pool: 2x2 maxima per channel") {
    using L = bind<max_pool<2>, input<2, 4, 2>, double>;
    layer_runner<L> r;
    // channel 0: 1 5 2 0 / 3 4 8 -1; channel 1: the negatives
    std::vector<double> const c0{1, 5, 2, 0, 3, 4, 8, -1};
    std::vector<double> x(16);
    for (std::size_t i = 0; i < 8; ++i) {
        x[2 * i] = c0[i];
        x[2 * i + 1] = -c0[i];
    }
    check_close(r.forward(x), std::vector<double>{5, -1, 8, 1}, 0);
}

TEST_CASE("max_pool: odd sizes drop the last row and column, overlapping windows") {
    using L = bind<max_pool<2>, input<3, 3, 1>, double>;
    layer_runner<L> r;
    check_close(r.forward({1, 2, 100, 3, 4, 100, 100, 100, 100}), std::vector<double>{4}, 0);

    using O = bind<max_pool<3, 2>, input<5, 5, 1>, double>;
    layer_runner<O> o;
    std::vector<double> x(25);
    for (std::size_t i = 0; i < 25; ++i) x[i] = double((i * 7) % 25);  // a permutation of 0..24
    //  0  7 14 21  3
    // 10 17 24  6 13      windows: rows 0-2 x cols 0-2 -> 24, rows 0-2 x cols 2-4 -> 24 (shared),
    // 20  2  9 16 23               rows 2-4 x cols 0-2 -> 22, rows 2-4 x cols 2-4 -> 23
    //  5 12 19  1  8
    // 15 22  4 11 18
    check_close(o.forward(x), std::vector<double>{24, 24, 22, 23}, 0);
}

TEST_CASE("max_pool: backward routes dy to the first maximum of each window only") {
    using L = bind<max_pool<2>, input<2, 2, 1>, double>;
    layer_runner<L> r;
    std::vector<double> const x{1, 3, 3, 2};  // a tie: positions 1 and 2
    std::vector<double> const y = r.forward(x);
    check_close(y, std::vector<double>{3}, 0);
    check_close(r.backward(x, y, {7}), std::vector<double>{0, 7, 0, 0}, 0);
}

TEST_CASE("max_pool: gradient check") {
    check_gradients<bind<max_pool<2>, input<6, 4, 3>, double>>(2);
    check_gradients<bind<max_pool<2>, input<5, 7, 17>, double>>(2);
    check_gradients<bind<max_pool<3, 2>, input<7, 7, 2>, double>>(3);
}
