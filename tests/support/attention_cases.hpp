// tests/support/attention_cases.hpp -- the PyTorch attention cases (tests/golden/) as values,
// and their parameters laid out the way qk_projection and additive_attention store them.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <span>
#include <vector>

#include <mien/core/shape.hpp>

#include "golden/torch_reference.hpp"

namespace mien::testing {

struct attention_case {
    std::span<double const> x, wq, bq, wk, bk, w1, w2, b, v, qkv, o_dot, o_add, z;

    // qk_projection's parameters: Wq [C][D], bq [D], Wk [C][D], bk [D].
    template <class T>
    std::vector<T> projection_params() const {
        return join<T>({wq, bq, wk, bk});
    }
    // additive_attention's parameters: W1 [D][D], W2 [D][D], b [D], v [D].
    template <class T>
    std::vector<T> additive_params() const {
        return join<T>({w1, w2, b, v});
    }
    template <class T>
    static std::vector<T> join(std::initializer_list<std::span<double const>> parts) {
        std::vector<T> out;
        for (auto part : parts) out.insert(out.end(), part.begin(), part.end());
        return out;
    }
};

// 2x3x5 map (6 tokens), D = 3.
inline attention_case small_attention() {
    namespace g = golden::attention;
    return {g::x, g::wq, g::bq, g::wk, g::bk, g::w1, g::w2, g::b, g::v, g::qkv, g::o_dot, g::o_add, g::z};
}
// 3x3x6 map (9 tokens), D = 20: the float tanh runs one full AVX-512 register and a tail.
inline attention_case wide_attention() {
    namespace g = golden::attention_wide;
    return {g::x, g::wq, g::bq, g::wk, g::bk, g::w1, g::w2, g::b, g::v, g::qkv, g::o_dot, g::o_add, g::z};
}

// Calls check.template operator()<T, Map, D>(case, tolerance) for both cases in double and in
// float, where Map is the case's input map (shape<H, W, C>) and D its projection width.
template <class Check>
void for_each_attention_case(Check&& check) {
    check.template operator()<double, shape<2, 3, 5>, 3>(small_attention(), 1e-12);
    check.template operator()<float, shape<2, 3, 5>, 3>(small_attention(), 2e-6);
    check.template operator()<double, shape<3, 3, 6>, 20>(wide_attention(), 1e-12);
    check.template operator()<float, shape<3, 3, 6>, 20>(wide_attention(), 1e-5);
}

// The [Q | K | V] tokens a qk_projection<D> makes of Map.
template <class Map, std::size_t D>
using tokens_of = qkv_shape<Map::height, Map::width, D, D, Map::channels>;

}  // namespace mien::testing
