// The float SIMD kernels of conv2d, pointwise, depthwise_conv2d and dense against plain loops, on
// shapes chosen to hit every edge of the kernels: channel and filter counts one below, at and
// one above the SIMD width (and 2-3 registers plus a tail), odd and non-square maps, stride 1
// (the implicit-GEMM path) and stride 2 (im2col), same and valid padding, batches above one,
// and the paper network's own layer shapes. Forward, input gradient and parameter gradients.
//
// Tolerance: every value is a sum of `terms` products (plus a bias); in float, whatever the
// order, |computed - exact| <= terms * u * sum |products| with u = 2^-24. We allow 2 (terms + 1)
// u sum |products| against a reference accumulated in double from the same float inputs.
#include <mien/layers/conv2d.hpp>
#include <mien/layers/dense.hpp>
#include <mien/layers/depthwise_conv2d.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include <mien/core/simd.hpp>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

namespace {

constexpr std::size_t V = detail::simd_width<float>;  // 16 with AVX-512, 8 with AVX2, 4 with SSE

// Exact values (double) and the magnitude each one's rounding error is bounded by.
struct reference {
    std::vector<double> value, magnitude;
    std::size_t terms = 0;
    explicit reference(std::size_t n, std::size_t t) : value(n, 0.0), magnitude(n, 0.0), terms(t) {}
    void add(std::size_t i, double a, double b) {
        value[i] += a * b;
        magnitude[i] += std::abs(a * b);
    }
};

void check_bounded(std::vector<float> const& actual, reference const& r, char const* what) {
    REQUIRE(actual.size() == r.value.size());
    double const u = std::numeric_limits<float>::epsilon() / 2;
    std::size_t misses = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        double const bound = 2.0 * double(r.terms + 1) * u * (r.magnitude[i] + 1e-30);
        if (std::abs(double(actual[i]) - r.value[i]) <= bound) continue;
        if (++misses <= 5)
            FAIL_CHECK(what << " value " << i << ": " << actual[i] << " != " << r.value[i] << " (bound " << bound << ")");
    }
    CHECK(misses == 0);
}

// What one product x[i] * w[k] feeding y[o] contributes to: y, the input gradient and the weight
// gradient (dy given).
struct sums {
    reference y, dx, dw;
    void add(std::size_t o, std::size_t i, std::size_t k, float x, float w, float dy) {
        y.add(o, x, w);
        dx.add(i, dy, w);
        dw.add(k, x, dy);
    }
};

// Forward (training), backward, and every result against the reference sums; db when given
// (bias gradients follow the weights in the parameters).
template <class R>
void check_layer(R& r, std::vector<float> const& x, std::vector<float> const& dy, sums const& want, std::size_t weights,
                 reference const* db = nullptr) {
    std::vector<float> const out = r.forward(x, true);
    check_bounded(out, want.y, "y");
    check_bounded(r.backward(x, out, dy, true), want.dx, "dx");
    auto const g = r.grads.begin();
    check_bounded(std::vector<float>(g, g + std::ptrdiff_t(weights)), want.dw, "dW");
    if (db)
        check_bounded(std::vector<float>(g + std::ptrdiff_t(weights), g + std::ptrdiff_t(weights + db->value.size())), *db, "db");
}

// Calls f(oy, ox, iy, ix, ky, kx) for every tap of a KxK window at stride S, padding P, that
// falls inside the H x W input.
template <std::size_t H, std::size_t W, std::size_t OH, std::size_t OW, std::size_t K, std::size_t S, std::size_t P, class Fn>
void for_each_tap(Fn&& f) {
    for (std::size_t oy = 0; oy < OH; ++oy)
        for (std::size_t ox = 0; ox < OW; ++ox)
            for (std::size_t ky = 0; ky < K; ++ky)
                for (std::size_t kx = 0; kx < K; ++kx) {
                    std::size_t const iy = oy * S + ky, ix = ox * S + kx;  // + P: padded coordinates
                    if (iy < P || ix < P || iy - P >= H || ix - P >= W) continue;
                    f(oy, ox, iy - P, ix - P, ky, kx);
                }
}

std::vector<float> random_values(std::size_t n, random_generator& rng, double scale = 1.0) {
    std::vector<float> v(n);
    for (auto& x : v) x = float(rng.uniform(-scale, scale));
    return v;
}

// conv2d / pointwise (Spec) on In at batch n: forward, dx, dW and db against the plain loops.
template <class Spec, class In, std::size_t K, std::size_t S, bool Same, bool Bias>
void conv_case(std::size_t n, std::uint64_t seed) {
    using L = bind<Spec, In, float>;
    using Out = typename L::output_shape;
    constexpr std::size_t H = In::height, W = In::width, Ci = In::channels, F = Out::channels;
    constexpr std::size_t OH = Out::height, OW = Out::width, P = Same ? (K - 1) / 2 : 0;
    INFO(std::string(L::name), " ", H, "x", W, "x", Ci, " -> ", OH, "x", OW, "x", F, ", kernel ", K, ", stride ", S,
         Same ? ", same" : ", valid", Bias ? ", bias" : "", ", batch ", n);
    random_generator rng(seed);
    layer_runner<L> r(n, seed);
    r.params = random_values(L::params + 1, rng, 0.5);
    std::vector<float> const x = random_values(n * In::size, rng), dy = random_values(n * Out::size, rng);
    auto const* w = r.params.data();
    auto const* b = w + L::weights;

    sums want{reference(n * Out::size, K * K * Ci + 1), reference(n * In::size, K * K * F), reference(L::weights, n * OH * OW)};
    reference db(F, n * OH * OW);
    for (std::size_t s = 0; s < n; ++s) {
        if constexpr (Bias)
            for (std::size_t p = 0; p < OH * OW; ++p)
                for (std::size_t f = 0; f < F; ++f) {
                    want.y.add((s * OH * OW + p) * F + f, b[f], 1.0);
                    db.add(f, dy[(s * OH * OW + p) * F + f], 1.0);
                }
        for_each_tap<H, W, OH, OW, K, S, P>([&](std::size_t oy, std::size_t ox, std::size_t iy, std::size_t ix,
                                               std::size_t ky, std::size_t kx) {
            for (std::size_t c = 0; c < Ci; ++c)
                for (std::size_t f = 0; f < F; ++f) {
                    std::size_t const o = ((s * OH + oy) * OW + ox) * F + f, i = ((s * H + iy) * W + ix) * Ci + c;
                    std::size_t const k = ((ky * K + kx) * Ci + c) * F + f;
                    want.add(o, i, k, x[i], w[k], dy[o]);
                }
        });
    }
    check_layer(r, x, dy, want, L::weights, Bias ? &db : nullptr);
}

template <class In, std::size_t K, std::size_t S, bool Same>
void depthwise_case(std::size_t n, std::uint64_t seed) {
    using L = bind<depthwise_conv2d<K, Same ? same : valid, S>, In, float>;
    using Out = typename L::output_shape;
    constexpr std::size_t H = In::height, W = In::width, C = In::channels, OH = Out::height, OW = Out::width;
    constexpr std::size_t P = Same ? (K - 1) / 2 : 0;
    INFO("depthwise_conv2d ", H, "x", W, "x", C, " -> ", OH, "x", OW, ", kernel ", K, ", stride ", S,
         Same ? ", same" : ", valid", ", batch ", n);
    random_generator rng(seed);
    layer_runner<L> r(n, seed);
    r.params = random_values(L::params + 1, rng, 0.5);
    std::vector<float> const x = random_values(n * In::size, rng), dy = random_values(n * Out::size, rng);
    auto const* w = r.params.data();
    sums want{reference(n * Out::size, K * K), reference(n * In::size, K * K), reference(L::params, n * OH * OW)};
    for (std::size_t s = 0; s < n; ++s)
        for_each_tap<H, W, OH, OW, K, S, P>([&](std::size_t oy, std::size_t ox, std::size_t iy, std::size_t ix,
                                               std::size_t ky, std::size_t kx) {
            for (std::size_t c = 0; c < C; ++c) {
                std::size_t const o = ((s * OH + oy) * OW + ox) * C + c, i = ((s * H + iy) * W + ix) * C + c;
                std::size_t const k = (ky * K + kx) * C + c;
                want.add(o, i, k, x[i], w[k], dy[o]);
            }
        });
    check_layer(r, x, dy, want, L::params);
}

template <std::size_t N, std::size_t Out>
void dense_case(std::size_t n, std::uint64_t seed) {
    using L = bind<dense<Out>, flat<N>, float>;
    INFO("dense ", N, " -> ", Out, ", batch ", n);
    random_generator rng(seed);
    layer_runner<L> r(n, seed);
    r.params = random_values(L::params + 1, rng, 0.5);
    std::vector<float> const x = random_values(n * N, rng), dy = random_values(n * Out, rng);
    auto const* w = r.params.data();
    auto const* b = w + L::weights;
    sums want{reference(n * Out, N + 1), reference(n * N, Out), reference(N * Out, n)};
    reference db(Out, n);
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t j = 0; j < Out; ++j) {
            want.y.add(s * Out + j, b[j], 1.0);
            db.add(j, dy[s * Out + j], 1.0);
            for (std::size_t i = 0; i < N; ++i)
                want.add(s * Out + j, s * N + i, i * Out + j, x[s * N + i], w[i * Out + j], dy[s * Out + j]);
        }
    check_layer(r, x, dy, want, N * Out, &db);
}

}  // namespace

TEST_CASE("kernels: conv2d 3x3 stride 1 (implicit GEMM), filters around the SIMD width, odd maps, float") {
    conv_case<conv2d<V - 1, 3>, input<7, 9, 3>, 3, 1, true, false>(2, 1);
    conv_case<conv2d<V, 3>, input<5, 11, 1>, 3, 1, true, false>(1, 2);
    conv_case<conv2d<V + 1, 3, same, 1, with_bias>, input<6, 5, V + 1>, 3, 1, true, true>(2, 3);
    conv_case<conv2d<2 * V + 3, 3>, input<9, 7, 5>, 3, 1, true, false>(1, 4);
    conv_case<conv2d<3 * V, 3, valid>, input<8, 10, 2 * V - 1>, 3, 1, false, false>(2, 5);
    conv_case<conv2d<4 * V + 1, 3, valid, 1, with_bias>, input<5, 6, 7>, 3, 1, false, true>(1, 6);
    conv_case<conv2d<7, 5>, input<9, 8, 3>, 5, 1, true, false>(2, 7);
}

TEST_CASE("kernels: conv2d stride 2 (im2col), float") {
    conv_case<conv2d<V + 1, 3, same, 2>, input<9, 7, 3>, 3, 2, true, false>(2, 11);
    conv_case<conv2d<V - 1, 3, valid, 2, with_bias>, input<8, 11, V>, 3, 2, false, true>(1, 12);
    conv_case<conv2d<2 * V, 5, same, 2>, input<10, 9, 2>, 5, 2, true, false>(2, 13);
}

TEST_CASE("kernels: pointwise 1x1 (direct GEMM), channels and filters around the SIMD width, float") {
    conv_case<pointwise<V - 1>, input<5, 3, V + 1>, 1, 1, false, false>(2, 21);
    conv_case<pointwise<V, with_bias>, input<3, 7, V - 1>, 1, 1, false, true>(3, 22);
    conv_case<pointwise<2 * V + 1>, input<4, 5, 3 * V>, 1, 1, false, false>(1, 23);
    conv_case<pointwise<1>, input<7, 7, 2 * V + 5>, 1, 1, false, false>(2, 24);
}

TEST_CASE("kernels: depthwise 3x3, channels around the SIMD width, strides 1 and 2, float") {
    depthwise_case<input<7, 9, V - 1>, 3, 1, true>(2, 31);
    depthwise_case<input<5, 6, V>, 3, 1, true>(1, 32);
    depthwise_case<input<6, 5, V + 1>, 3, 1, false>(2, 33);
    depthwise_case<input<9, 7, 2 * V + 3>, 3, 2, true>(2, 34);
    depthwise_case<input<8, 8, 3>, 5, 2, false>(1, 35);
    depthwise_case<input<4, 11, 1>, 3, 1, true>(3, 36);
}

TEST_CASE("kernels: dense, lengths around the SIMD width, float") {
    dense_case<V - 1, V + 1>(3, 41);
    dense_case<2 * V + 3, 7>(2, 42);
    dense_case<1, 3 * V>(5, 43);
    dense_case<4 * V + 1, 2 * V - 1>(1, 44);
}

TEST_CASE("kernels: the paper network's convolution shapes, float") {
    conv_case<conv2d<32, 3>, input<48, 48, 1>, 3, 1, true, false>(2, 51);
    conv_case<conv2d<64, 3>, input<24, 24, 32>, 3, 1, true, false>(2, 52);
    conv_case<conv2d<128, 3>, input<12, 12, 64>, 3, 1, true, false>(2, 53);
    conv_case<pointwise<32>, input<24, 24, 32>, 1, 1, false, false>(2, 54);
    conv_case<pointwise<128>, input<6, 6, 128>, 1, 1, false, false>(2, 55);
    depthwise_case<input<24, 24, 32>, 3, 1, true>(2, 56);
    depthwise_case<input<6, 6, 128>, 3, 1, true>(2, 57);
    dense_case<256, 128>(4, 58);
}
