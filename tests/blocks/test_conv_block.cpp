// conv_block: the paper's normal block as one spec; the same layers and costs as the sequential,
// and a row-wise prediction that gives exactly the same values as the full forward pass.
#include <mien/blocks/conv_block.hpp>
#include <mien/core/network.hpp>
#include <mien/layers/dense.hpp>
#include <mien/layers/global_avg_pool.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

namespace {
template <Shape In, std::size_t F>
using block = bind<conv_block<F>, In, float>;
template <Shape In, std::size_t F>
using plain = bind<sequential<conv2d<F, 3>, batch_norm, relu, max_pool<2>>, In, float>;

// Everything but prediction is the sequential's.
static_assert(std::is_same_v<block<input<48, 48, 1>, 32>::output_shape, shape<24, 24, 32>>);
static_assert(block<input<48, 48, 1>, 32>::params == plain<input<48, 48, 1>, 32>::params);
static_assert(block<input<48, 48, 1>, 32>::macs == plain<input<48, 48, 1>, 32>::macs);
static_assert(block<input<48, 48, 1>, 32>::saved_per_sample == plain<input<48, 48, 1>, 32>::saved_per_sample);
// Prediction's scratch: 4 bordered input rows (4 x 50, rounded to 208), 2 convolved rows
// (2 x 48 x 32) and batch norm's 3 x 32 factors -- against 48x48x32 + 50x50 for the plain plan.
static_assert(block<input<48, 48, 1>, 32>::infer_size == 208 + 3072 + 96);
static_assert(plain<input<48, 48, 1>, 32>::infer_size == 73'728 + 2'512);

template <class L>
void check_rows_equal_forward(std::uint64_t seed) {
    layer_runner<L> r(1, seed);
    random_generator g(seed + 2);
    for (std::size_t i = 0; i < L::params; ++i) r.params[i] = float(g.uniform(-0.5, 0.5));
    randomize_statistics(r, seed + 1);
    std::vector<float> x(L::input_shape::size);
    for (auto& v : x) v = float(g.uniform(-1, 1));
    auto const expected = r.forward(x);  // the unfused pass: the whole convolved map
    std::vector<float> y(L::output_shape::size), scratch(L::infer_size, 1e30f);
    mien::infer<L>(r.make_frame(false), static_cast<float const*>(x.data()), y.data(), scratch.data());
    CHECK(y == expected);  // bit for bit
}
}  // namespace

TEST_CASE("conv_block: row-wise prediction equals the full forward pass bit for bit") {
    check_rows_equal_forward<block<input<8, 8, 1>, 4>>(1);
    check_rows_equal_forward<block<input<12, 10, 3>, 5>>(2);  // channels that fill no SIMD register
    check_rows_equal_forward<block<input<7, 9, 2>, 17>>(3);   // odd sizes: the last row and column are not pooled
}

TEST_CASE("conv_block: gradient check (training is the sequential's)") {
    check_gradients<bind<conv_block<3>, input<6, 6, 2>, double>>(2);
}

TEST_CASE("conv_block: a network of them predicts as the trainer's forward pass does") {
    using net_t = network<input<10, 10, 1>, conv_block<4>, conv_block<6>, global_avg_pool, dense<3>>;
    auto net = std::make_unique<net_t>();
    net->init(5);
    auto tr = std::make_unique<trainer<net_t, 2>>(*net);
    random_generator g(6);
    std::vector<float> batch(2 * net_t::inputs);
    for (auto& v : batch) v = float(g.uniform());
    std::vector<std::int32_t> const labels{0, 2};
    for (int i = 0; i < 3; ++i) tr->step(batch, labels);  // running statistics off (0, 1)
    auto const probs = tr->predict_batch(batch);
    for (std::size_t s = 0; s < 2; ++s) {
        auto const& p = net->predict(std::span<float const>(batch).subspan(s * net_t::inputs, net_t::inputs));
        for (std::size_t k = 0; k < 3; ++k) CHECK(p[k] == probs[s * 3 + k]);
    }
}
