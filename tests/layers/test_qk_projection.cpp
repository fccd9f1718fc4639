// qk_projection: per token [Q = X Wq + bq | K = X Wk + bk | V = X].
#include <mien/layers/qk_projection.hpp>

#include <type_traits>

#include "support/attention_cases.hpp"
#include "support/layer_test.hpp"

using namespace mien;
using namespace mien::testing;

// The paper: 6x6x128 map, D = 64: 36 tokens of 64 + 64 + 128 values.
using paper_qk = bind<qk_projection<64>, input<6, 6, 128>, float>;
static_assert(std::is_same_v<paper_qk::output_shape, qkv_shape<6, 6, 64, 64, 128>>);
static_assert(paper_qk::output_shape::channels == 256);
static_assert(paper_qk::params == 2 * (128 * 64 + 64));
static_assert(paper_qk::macs == 36 * 128 * 128);
static_assert(std::is_same_v<bind<qk_projection<3, 5>, input<2, 2, 4>, float>::output_shape, qkv_shape<2, 2, 3, 5, 4>>);

TEST_CASE("qk_projection: Q | K | V per token, weights C x D") {
    using L = bind<qk_projection<1>, input<1, 2, 2>, double>;
    static_assert(L::params == 2 + 1 + 2 + 1);
    layer_runner<L> r;
    r.set_params(0, {1, 2, 0.5, -1, 1, 0});  // Wq = (1, 2), bq = 0.5, Wk = (-1, 1), bk = 0
    // token (1, 2): q = 1 + 4 + 0.5, k = -1 + 2; token (3, -1): q = 3 - 2 + 0.5, k = -3 - 1
    check_close(r.forward({1, 2, 3, -1}), std::vector<double>{5.5, 1, 1, 2, 1.5, -4, 3, -1}, 0);
}

TEST_CASE("qk_projection: matches PyTorch (ARCHITECTURE.md section 2)") {
    for_each_attention_case([]<class T, class Map, std::size_t D>(attention_case const& c, double tolerance) {
        layer_runner<bind<qk_projection<D>, Map, T>> r;
        r.set_params(0, c.projection_params<T>());
        check_close(r.forward(as<T>(c.x)), c.qkv, tolerance);
    });
}

TEST_CASE("qk_projection: gradient check") {
    check_gradients<bind<qk_projection<3>, input<2, 3, 5>, double>>(2);
    check_gradients<bind<qk_projection<4, 17>, input<3, 3, 6>, double>>(2);
    check_gradients<bind<qk_projection<20>, input<1, 5, 19>, double>>(1);
}
