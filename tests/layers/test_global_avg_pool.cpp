// global_avg_pool: the mean of each channel over all pixels.
#include <mien/layers/global_avg_pool.hpp>

#include <type_traits>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

static_assert(std::is_same_v<bind<global_avg_pool, input<6, 6, 256>, float>::output_shape, flat<256>>);
static_assert(bind<global_avg_pool, input<6, 6, 256>, float>::params == 0);

TEST_CASE("global_avg_pool: per-channel means, per sample") {
    using L = bind<global_avg_pool, input<1, 3, 2>, double>;
    layer_runner<L> r(2);
    // sample 0: channel 0 = 1, 2, 6, channel 1 = -3, 0, 0; sample 1: 10, 20, 30 and 1, 1, 1
    std::vector<double> const x{1, -3, 2, 0, 6, 0, 10, 1, 20, 1, 30, 1};
    check_close(r.forward(x), std::vector<double>{3, -1, 20, 1}, 1e-15);
    // backward spreads dy / pixels over every pixel of its channel
    check_close(r.backward(x, {}, {3, 6, 0, -3}), std::vector<double>{1, 2, 1, 2, 1, 2, 0, -1, 0, -1, 0, -1}, 1e-15);
}

TEST_CASE("global_avg_pool: gradient check") {
    check_gradients<bind<global_avg_pool, input<3, 5, 7>, double>>(2);
    check_gradients<bind<global_avg_pool, input<6, 6, 17>, double>>(3);
}
