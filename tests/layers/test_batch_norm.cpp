// batch_norm: batch statistics in training, running statistics (PyTorch's conventions) after.
#include <mien/layers/batch_norm.hpp>

#include <cmath>
#include <type_traits>

#include "golden/torch_reference.hpp"
#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

using bn = bind<batch_norm, input<6, 6, 128>, float>;
static_assert(std::is_same_v<bn::output_shape, shape<6, 6, 128>>);
static_assert(bn::params == 256 && bn::state_size == 256 && bn::macs == 0);

namespace {
// Two samples of 1x1x2: channel 0 holds 1 and 3 (mean 2, biased variance 1, unbiased 2),
// channel 1 holds -1 and -1 (variance 0: the output is beta).
using small_bn = bind<batch_norm, input<1, 1, 2>, double>;
std::vector<double> const two_samples{1, -1, 3, -1};
}  // namespace

TEST_CASE("batch_norm: initial gamma 1, beta 0, running mean 0, running variance 1") {
    layer_runner<small_bn> r;
    // One value at a time: a braced {1, 1, 0, 0} here is what GCC 12.2 miscompiles with AVX-512
    // (tests/core/test_toolchain.cpp).
    CHECK(r.params[0] == 1);
    CHECK(r.params[1] == 1);
    CHECK(r.params[2] == 0);
    CHECK(r.params[3] == 0);
    CHECK(r.state[0] == 0);
    CHECK(r.state[1] == 0);
    CHECK(r.state[2] == 1);
    CHECK(r.state[3] == 1);
}

TEST_CASE("batch_norm: training normalises with the batch statistics over samples and pixels") {
    layer_runner<small_bn> r(2);
    r.set_params(0, {2, 3, 0.5, 0.25});  // gamma, beta
    double const s = 1 / std::sqrt(1 + 1e-5);
    check_close(r.forward(two_samples, true), std::vector<double>{0.5 - 2 * s, 0.25, 0.5 + 2 * s, 0.25}, 1e-15);
    // running = 0.9 running + 0.1 batch, with the unbiased variance (2 for channel 0)
    check_close(std::vector<double>(r.state.begin(), r.state.begin() + 4), std::vector<double>{0.2, -0.1, 1.1, 0.9},
                1e-15);
    // A second pass moves them again: 0.9 * 0.2 + 0.1 * 2 = 0.38, 0.9 * 1.1 + 0.1 * 2 = 1.19
    r.forward(two_samples, true);
    check_close(std::vector<double>(r.state.begin(), r.state.begin() + 4), std::vector<double>{0.38, -0.19, 1.19, 0.81},
                1e-15);
}

TEST_CASE("batch_norm: inference uses the running statistics and leaves them alone") {
    layer_runner<small_bn> r(2);
    r.set_params(0, {2, 3, 0.5, 0.25});
    r.state[0] = 0.2;
    r.state[1] = -0.1;
    r.state[2] = 1.1;
    r.state[3] = 0.9;
    double const a = 2 / std::sqrt(1.1 + 1e-5), b = 3 / std::sqrt(0.9 + 1e-5);
    check_close(r.forward(two_samples, false),
                std::vector<double>{0.5 + a * 0.8, 0.25 - b * 0.9, 0.5 + a * 2.8, 0.25 - b * 0.9}, 1e-15);
    check_close(std::vector<double>(r.state.begin(), r.state.begin() + 4), std::vector<double>{0.2, -0.1, 1.1, 0.9}, 0);
}

namespace {

template <class T>
void batch_norm_matches_torch(double tolerance) {
    namespace g = golden::batch_norm;
    using L = bind<batch_norm, input<3, 2, 3>, T>;
    layer_runner<L> r(2);
    r.set_params(0, as<T>(g::gamma));
    r.set_params(3, as<T>(g::beta));
    std::copy(std::begin(g::running_mean0), std::end(g::running_mean0), r.state.begin());
    std::copy(std::begin(g::running_var0), std::end(g::running_var0), r.state.begin() + 3);
    std::vector<T> const x = as<T>(g::x);
    check_close(r.forward(x, true), g::y_train, tolerance);
    check_close(std::span<T const>(r.state.data(), 3), g::running_mean1, tolerance);
    check_close(std::span<T const>(r.state.data() + 3, 3), g::running_var1, tolerance);
    check_close(r.forward(x, false), g::y_infer, tolerance);
}

}  // namespace

TEST_CASE("batch_norm: matches PyTorch in training (incl. running statistics) and inference") {
    batch_norm_matches_torch<double>(1e-12);
    batch_norm_matches_torch<float>(2e-6);
}

TEST_CASE("batch_norm: gradient check, training and inference") {
    check_gradients<bind<batch_norm, input<3, 4, 5>, double>>(3, true);
    check_gradients<bind<batch_norm, input<5, 3, 17>, double>>(2, true);
    check_gradients<bind<batch_norm, input<3, 4, 5>, double>>(3, false);
    check_gradients<bind<batch_norm, input<1, 1, 7>, double>>(4, true);
}
