// dot_product_attention: softmax_rows(Q K^T / sqrt(D)) V.
#include <mien/layers/dot_product_attention.hpp>
#include <mien/layers/qk_projection.hpp>

#include <cmath>
#include <type_traits>

#include "support/attention_cases.hpp"
#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

// The paper: 36 tokens, D = 64, values 128 wide.
using paper_dot = bind<dot_product_attention, qkv_shape<6, 6, 64, 64, 128>, float>;
static_assert(std::is_same_v<paper_dot::output_shape, shape<6, 6, 128>>);
static_assert(paper_dot::params == 0);
static_assert(paper_dot::macs == 36 * 36 * 64 + 36 * 36 * 128);
static_assert(paper_dot::saved_per_sample == 36 * 36);

TEST_CASE("dot_product_attention: scores scaled by 1 / sqrt(D), softmax over keys, times V") {
    // D = 4, one value channel; rows are [q (4) | k (4) | v].
    using L = bind<dot_product_attention, qkv_shape<1, 2, 4, 4, 1>, double>;
    layer_runner<L> r;
    double const ln3 = std::log(3.0);
    std::vector<double> const x{2, 0, 0, 0, /* k */ 0, 0, 0, 0, /* v */ 2,
                                0, 0, 0, 0, /* k */ ln3, 0, 0, 0, /* v */ 6};
    // row 0: scores (0, 2 ln3 / 2) -> weights (1/4, 3/4) -> 0.5 + 4.5; row 1: scores (0, 0) -> 4
    check_close(r.forward(x), std::vector<double>{5, 4}, 1e-15);
}

TEST_CASE("dot_product_attention: matches PyTorch (ARCHITECTURE.md section 2)") {
    for_each_attention_case([]<class T, class Map, std::size_t D>(attention_case const& c, double tolerance) {
        layer_runner<bind<dot_product_attention, tokens_of<Map, D>, T>> r;
        check_close(r.forward(as<T>(c.qkv)), c.o_dot, tolerance);
    });
}

TEST_CASE("dot_product_attention: gradient check") {
    check_gradients<bind<dot_product_attention, qkv_shape<2, 3, 3, 3, 5>, double>>(2);
    check_gradients<bind<dot_product_attention, qkv_shape<3, 3, 17, 17, 6>, double>>(2);
    check_gradients<bind<dot_product_attention, qkv_shape<1, 7, 2, 2, 19>, double>>(1);
}
