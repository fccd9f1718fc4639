// mien/layers/dropout.hpp -- inverted dropout.
//
// Training: each value is zeroed with probability p, survivors are scaled by 1 / (1 - p), so
// inference is the identity. The rate p is a run-time value kept in the layer's state (the
// paper searches p in {0.1, 0.2, 0.3}); the mask comes from the frame's seeded generator and
// is saved for backward. Shape unchanged; macs = 0.
#pragma once

#include <cstddef>
#include <string_view>

#include "../core/layer.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

template <Shape In, class T>
struct dropout_layer : leaf_layer {
    using input_shape = In;
    using output_shape = plain_shape<In>;
    using scalar = T;
    static constexpr std::string_view name = "dropout";
    static constexpr std::size_t params = 0, state_size = 1, macs = 0, temp_size = 0;
    static constexpr std::size_t rate_size = 1;  // the state is the rate, a setting
    static constexpr std::size_t saved_per_sample = In::size;  // the scaled mask
    static constexpr double default_rate = 0.2;
    // Prediction is the identity: in place, and no mask to keep.
    static constexpr bool in_place = true;
    static constexpr std::size_t infer_size = 0;
    static void infer(frame<T> const&, T const* x, T* y, T*) {
        if (x != y) detail::copy(In::size, x, y);
    }

    static void init(T*, T* s, random_generator&) { s[0] = T(default_rate); }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "rate", 0, {1}, false, true));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        std::size_t const n = f.n * In::size;
        double const p = double(f.state[0]);
        if (!f.training || p <= 0.0 || !f.rng) {
            if (x != y) detail::copy(n, x, y);
            if (f.training) detail::fill(n, T(1), f.saved);
            return;
        }
        T const keep = T(1.0 / (1.0 - p));
        for (std::size_t i = 0; i < n; ++i) {
            f.saved[i] = f.rng->uniform() < p ? T(0) : keep;
            y[i] = x[i] * f.saved[i];
        }
    }

    static void backward(frame<T> const& f, T const*, T const*, T const* dy, T* dx) {
        if (!dx) return;
        std::size_t const n = f.n * In::size;
        if (!f.training) {
            detail::copy(n, dy, dx);
            return;
        }
        for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * f.saved[i];
    }
};

struct dropout {
    template <Shape In, class T>
    using bind = dropout_layer<In, T>;
};

}  // namespace mien
