// additive_attention: E_ij = v^T tanh(Q_i W1 + K_j W2 + b), softmax_rows(E) V (the paper's eq. 2).
#include <mien/layers/additive_attention.hpp>

#include <cmath>
#include <type_traits>

#include "support/attention_cases.hpp"
#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

using paper_add = bind<additive_attention, qkv_shape<6, 6, 64, 64, 128>, float>;
static_assert(std::is_same_v<paper_add::output_shape, shape<6, 6, 128>>);
static_assert(paper_add::params == 2 * 64 * 64 + 2 * 64);  // W1, W2, b, v: 8,320
static_assert(paper_add::macs == 2 * 36 * 64 * 64 + 36 * 36 * 64 + 36 * 36 * 128);
static_assert(paper_add::saved_per_sample == 36 * 36 * 64 + 36 * 36);

TEST_CASE("additive_attention: v^T tanh(Q W1 + K W2 + b), softmax over keys, times V") {
    // D = 1, one value channel; rows are [q | k | v]. W1 = 2, W2 = 0.5, b = 0.5, v = ln 3.
    using L = bind<additive_attention, qkv_shape<1, 2, 1, 1, 1>, double>;
    layer_runner<L> r;
    double const ln3 = std::log(3.0);
    r.set_params(0, {2, 0.5, 0.5, ln3});
    std::vector<double> const x{0, -1, 2, 10, 40, 6};
    // Q W1 = (0, 20), K W2 + b = (0, 20.5): E row 0 = ln3 * tanh(0, 20.5) = (0, ln3) -> (1/4, 3/4);
    // row 1 = ln3 * tanh(20, 40.5) = (ln3, ln3) -> (1/2, 1/2). Outputs 0.5 + 4.5 and 1 + 3.
    check_close(r.forward(x), std::vector<double>{5, 4}, 1e-15);
}

TEST_CASE("additive_attention: matches PyTorch (ARCHITECTURE.md section 2), incl. the float SIMD tanh") {
    for_each_attention_case([]<class T, class Map, std::size_t D>(attention_case const& c, double tolerance) {
        layer_runner<bind<additive_attention, tokens_of<Map, D>, T>> r;
        r.set_params(0, c.additive_params<T>());
        check_close(r.forward(as<T>(c.qkv)), c.o_add, tolerance);
    });
}

TEST_CASE("additive_attention: gradient check") {
    check_gradients<bind<additive_attention, qkv_shape<2, 3, 3, 3, 5>, double>>(2);
    check_gradients<bind<additive_attention, qkv_shape<3, 3, 17, 17, 6>, double>>(2);
    check_gradients<bind<additive_attention, qkv_shape<1, 7, 2, 2, 19>, double>>(1);
}
