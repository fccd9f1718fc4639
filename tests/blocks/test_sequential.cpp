// sequential: shapes flow at compile time, costs add up, layers nest.
#include <mien/blocks/sequential.hpp>
#include <mien/layers/batch_norm.hpp>
#include <mien/layers/conv2d.hpp>
#include <mien/layers/dense.hpp>
#include <mien/layers/global_avg_pool.hpp>
#include <mien/layers/max_pool.hpp>
#include <mien/layers/relu.hpp>

#include <array>
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
