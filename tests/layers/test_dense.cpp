// dense: y = b + x W on the flattened input, W [In][Out].
#include <mien/layers/dense.hpp>

#include <type_traits>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

// The paper's classifier: 2 * 128 -> 128 -> 7.
using hidden = bind<dense<128>, flat<256>, float>;
static_assert(std::is_same_v<hidden::output_shape, flat<128>>);
static_assert(hidden::params == 256 * 128 + 128 && hidden::macs == 256 * 128);
static_assert(bind<dense<7>, flat<128>, float>::params == 903);
// Any shape is read as a vector; ExpectedIn pins the length, Bias = false drops b.
static_assert(bind<dense<4, 2 * 3 * 5>, input<2, 3, 5>, float>::params == 30 * 4 + 4);
static_assert(bind<dense<4, 0, false>, input<2, 3, 5>, float>::params == 30 * 4);

TEST_CASE("dense: y = b + x W per sample, W stored in x out") {
    using L = bind<dense<2>, flat<3>, double>;
    layer_runner<L> r(2);
    r.set_params(0, {1, 2, 3, 4, 5, 6});  // W = [[1, 2], [3, 4], [5, 6]]
    r.set_params(6, {0.5, -0.5});
    // (1, 0, -1) -> (1 - 5, 2 - 6) + b; (2, 1, 0) -> (2 + 3, 4 + 4) + b
    check_close(r.forward({1, 0, -1, 2, 1, 0}), std::vector<double>{-3.5, -4.5, 5.5, 7.5}, 0);
}

TEST_CASE("dense: backward gives dx = dy W^T and accumulates dW = x^T dy, db = sum dy") {
    using L = bind<dense<2>, flat<3>, double>;
    layer_runner<L> r(2);
    r.set_params(0, {1, 2, 3, 4, 5, 6});
    std::vector<double> const x{1, 0, -1, 2, 1, 0};
    check_close(r.backward(x, {}, {1, 0, 0, 1}), std::vector<double>{1, 3, 5, 2, 4, 6}, 0);
    // dW[i][o] = sum_s x[s][i] dy[s][o]: [[1, 2], [0, 1], [-1, 0]]; db = (1, 1)
    check_close(std::vector<double>(r.grads.begin(), r.grads.begin() + 8), std::vector<double>{1, 2, 0, 1, -1, 0, 1, 1},
                0);
}

TEST_CASE("dense: gradient check") {
    check_gradients<bind<dense<5>, input<2, 3, 3>, double>>(3);
    check_gradients<bind<dense<17, 0, false>, flat<19>, double>>(2);
    check_gradients<bind<dense<1>, flat<40>, double>>(1);
}
