// The gradient-check harness itself: it must catch a wrong backward, not only pass right ones.
#include <doctest/doctest.h>

#include <mien/layers/dense.hpp>

#include "support/gradient_check.hpp"

using namespace mien;

namespace {

// dense<3> with deliberate mistakes: its input gradient scaled by InputScale / 1000 (1000: right),
// and with ForgetBias its bias gradient dropped.
template <std::size_t InputScale, bool ForgetBias = false>
struct broken_dense {
    template <Shape In, class T>
    struct bind : dense_layer<In, T, 3, 0, true> {
        using base = dense_layer<In, T, 3, 0, true>;
        static void backward(frame<T> const& f, T const* x, T const* y, T const* dy, T* dx) {
            base::backward(f, x, y, dy, dx);
            if (dx)
                for (std::size_t i = 0; i < f.n * In::size; ++i) dx[i] *= T(InputScale) / T(1000);
            if (ForgetBias)
                for (std::size_t o = 0; o < 3; ++o) f.grads[base::weights + o] = 0;
        }
    };
};

}  // namespace

TEST_CASE("gradient_check: passes a correct layer, catches wrong input and parameter gradients") {
    auto const right = testing::layer_harness<bind<broken_dense<1000>, flat<5>, double>>(2).check();
    CHECK(right.max_input_error < 1e-8);
    CHECK(right.max_param_error < 1e-8);
    auto const off = testing::layer_harness<bind<broken_dense<1010>, flat<5>, double>>(2).check();  // 1 % off
    CHECK(off.max_input_error > 5e-3);
    auto const forgot = testing::layer_harness<bind<broken_dense<1000, true>, flat<5>, double>>(2).check();
    CHECK(forgot.max_input_error < 1e-8);
    CHECK(forgot.max_param_error > 0.5);
    CHECK(forgot.checked_params == 5 * 3 + 3);
}
