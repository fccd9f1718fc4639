// sequential: shapes flow at compile time, costs add up, layers nest.
#include <mien/blocks/sequential.hpp>
#include <mien/layers/batch_norm.hpp>
#include <mien/layers/conv2d.hpp>
#include <mien/layers/dense.hpp>
#include <mien/layers/global_avg_pool.hpp>
#include <mien/layers/max_pool.hpp>
#include <mien/layers/relu.hpp>

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

// The paper's normal block on 48x48x1: conv 3x3 (32) -> BN -> ReLU -> pool -> 24x24x32.
using block = bind<sequential<conv2d<32, 3>, batch_norm, relu, max_pool<2>>, input<48, 48, 1>, float>;
static_assert(std::is_same_v<block::output_shape, shape<24, 24, 32>>);
static_assert(block::count == 4);
static_assert(std::is_same_v<block::layer<0>::output_shape, shape<48, 48, 32>>);
static_assert(block::params == 9 * 32 + 64 && block::state_size == 64);
static_assert(block::macs == 48 * 48 * 9 * 32);
static_assert(block::param_at[1] == 288 && block::param_at[2] == 352);
// Nesting: a sequential of sequentials is the same network.
using nested = bind<sequential<sequential<conv2d<32, 3>, batch_norm>, sequential<relu, max_pool<2>>>, input<48, 48, 1>, float>;
static_assert(std::is_same_v<nested::output_shape, block::output_shape>);
static_assert(nested::params == block::params && nested::macs == block::macs);

namespace {
// Leaf layer names in visiting order, with their parameter offsets.
template <class L>
constexpr auto leaves() {
    std::array<std::pair<std::string_view, std::size_t>, 8> out{};
    std::size_t i = 0;
    for_each_layer<L>([&]<class Leaf>(std::size_t p, std::size_t, std::size_t) { out[i++] = {Leaf::name, p}; });
    return out;
}
constexpr auto nested_leaves = leaves<nested>();
static_assert(nested_leaves[0].first == "conv2d" && nested_leaves[1].first == "batch_norm");
static_assert(nested_leaves[1].second == 288 && nested_leaves[3].first == "max_pool");
}  // namespace

TEST_CASE("sequential: each layer feeds the next") {
    using L = bind<sequential<dense<2>, relu, dense<1>>, flat<2>, double>;
    static_assert(L::params == 6 + 3);
    layer_runner<L> r(2);
    r.set_params(0, {1, -1, 1, 1, 0, 0});  // h = relu(x0 + x1, -x0 + x1)
    r.set_params(6, {2, 3, 1});            // y = 2 h0 + 3 h1 + 1
    // x = (1, 2): h = (3, 1) -> 10; x = (2, -1): h = (1, 0) -> 3
    std::vector<double> const x{1, 2, 2, -1};
    std::vector<double> const y = r.forward(x, true);
    check_close(y, std::vector<double>{10, 3}, 0);
    // dy = 1: dh = (2, 3) masked by relu; dx = W1 dh: (2 - 3, 2 + 3) and (2, 2)
    check_close(r.backward(x, y, {1, 1}, true), std::vector<double>{-1, 5, 2, 2}, 0);
}

TEST_CASE("sequential: gradient check through nested blocks") {
    check_gradients<bind<sequential<conv2d<5, 3>, batch_norm, relu, max_pool<2>, sequential<pointwise<3>, global_avg_pool>,
                                    dense<4>>,
                         input<6, 7, 2>, double>>(2);
}

// ---- prediction's plan (core/sequential.hpp) --------------------------------------------------
// conv -> BN -> ReLU -> pool on 8x8x1: the conv writes the low buffer (256 values) next to its
// bordered input (10x10 = 100, rounded to 112); BN and ReLU work in place on it; the pool, the
// last child that is not in place, writes the caller's y.
using planned = bind<sequential<conv2d<4, 3>, batch_norm, relu, max_pool<2>>, input<8, 8, 1>, float>;
using place = planned::place;
static_assert(planned::plan.output == std::array{place::low, place::low, place::low, place::y});
static_assert(planned::infer_size == 256 + 112);
static_assert(!planned::in_place);
// Out-of-place children alternate between the two ends of the scratch.
using chain3 = bind<sequential<dense<8>, dense<8>, dense<3>>, flat<4>, float>;
static_assert(chain3::plan.output == std::array{chain3::place::low, chain3::place::high, chain3::place::y});
static_assert(chain3::infer_size == 16 + 16);
// In-place children at the end work on y; a sequential of in-place layers is in place.
using tail = bind<sequential<dense<8>, relu, relu>, flat<4>, float>;
static_assert(tail::plan.output == std::array{tail::place::y, tail::place::y, tail::place::y} && tail::infer_size == 0);
static_assert(bind<sequential<relu, batch_norm>, flat<4>, float>::in_place);

namespace {
std::vector<float> random_values(std::size_t n, std::uint64_t seed, double low = -1, double high = 1) {
    random_generator g(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = float(g.uniform(low, high));
    return v;
}
}  // namespace

TEST_CASE("sequential: planned prediction equals the forward pass, with y == x for in-place blocks") {
    using L = bind<sequential<conv2d<4, 3>, batch_norm, relu, max_pool<2>, conv2d<3, 1>, relu>, input<8, 8, 2>, float>;
    layer_runner<L> r(1, 21);
    randomize_statistics(r, 22);
    auto const x = random_values(L::input_shape::size, 23);
    auto const y = r.forward(x);
    std::vector<float> planned_y(L::output_shape::size), scratch(L::infer_size, 1e30f);  // stale values must not matter
    mien::infer<L>(r.make_frame(false), x.data(), planned_y.data(), scratch.data());
    CHECK(planned_y == y);

    using R = bind<sequential<relu, batch_norm>, shape<4, 4, 6>, float>;  // 96 values: g++ 12 -Warray-bounds misfires on a 6-value relu
    layer_runner<R> rr(1, 24);
    randomize_statistics(rr, 25);
    auto const rx = random_values(R::input_shape::size, 26);
    auto const ry = rr.forward(rx);
    std::vector<float> inplace = rx, rscratch(R::infer_size, 1e30f);
    mien::infer<R>(rr.make_frame(false), static_cast<float const*>(inplace.data()), inplace.data(), rscratch.data());
    CHECK(inplace == ry);
}
