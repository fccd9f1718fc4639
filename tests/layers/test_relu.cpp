// relu: max(x, 0) on any length (SIMD body and scalar tail), gradient where the output is positive.
#include <mien/layers/relu.hpp>

#include <type_traits>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

using r48 = bind<relu, input<48, 48, 32>, float>;
static_assert(std::is_same_v<r48::output_shape, shape<48, 48, 32>>);
static_assert(r48::params == 0 && r48::macs == 0 && r48::state_size == 0);
// A qkv_shape input gives a plain shape of the same extents.
static_assert(std::is_same_v<bind<relu, qkv_shape<2, 3, 4, 4, 5>, float>::output_shape, shape<2, 3, 13>>);

TEST_CASE("relu: forward clamps negatives, float and double, lengths past the SIMD width") {
    // 37 values: two full AVX-512 float registers and a tail of 5.
    std::vector<double> x(37), expected(37);
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = (i % 3 == 0 ? -1.0 : 1.0) * (0.5 + double(i));
        expected[i] = i % 3 == 0 ? 0.0 : 0.5 + double(i);
    }
    layer_runner<bind<relu, input<1, 1, 37>, double>> d;
    check_close(d.forward(x), expected, 0);
    layer_runner<bind<relu, input<1, 1, 37>, float>> f;
    check_close(f.forward(std::vector<float>(x.begin(), x.end())), expected, 0);
}

TEST_CASE("relu: backward passes dy only where the output is positive") {
    using L = bind<relu, input<1, 2, 3>, double>;
    layer_runner<L> r;
    std::vector<double> const x{-2, 3, 0, 1, -0.5, 4};
    std::vector<double> const y = r.forward(x);
    check_close(r.backward(x, y, {10, 20, 30, 40, 50, 60}), std::vector<double>{0, 20, 0, 40, 0, 60}, 0);
}

TEST_CASE("relu: gradient check") {
    check_gradients<bind<relu, input<3, 5, 7>, double>>(2);
    check_gradients<bind<relu, input<1, 1, 33>, double>>(3);
}
