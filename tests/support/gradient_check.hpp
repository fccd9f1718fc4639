// tests/support/gradient_check.hpp -- the one numerical gradient check every layer passes.
//
// For a bound layer L (in double): random input x, parameters and output weights w, loss
// l = sum(y * w). Backward gives dl/dx and dl/dparams; central differences
// (l(v + h) - l(v - h)) / 2h give them again. The check reports the largest relative error.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include <mien/core/layer.hpp>
#include <mien/core/random.hpp>

namespace mien::testing {

struct gradient_report {
    double max_input_error = 0;
    double max_param_error = 0;
    std::size_t checked_inputs = 0;
    std::size_t checked_params = 0;
};

// Relative error; below 1e-4 in magnitude it becomes an absolute error (a gradient that is
// exactly zero, such as a key bias under softmax, shows only rounding noise numerically).
inline double relative_error(double a, double b) {
    return std::abs(a - b) / std::max({1e-4, std::abs(a), std::abs(b)});
}

template <class L>
struct layer_harness {
    using T = typename L::scalar;
    static constexpr std::size_t in = L::input_shape::size, out = L::output_shape::size;
    std::size_t n;
    bool training;
    std::vector<T> x, y, w, dx, params, grads, state, state0, saved, dsaved, temp;
    random_generator rng{7};
    std::uint64_t dropout_seed = 99;
    random_generator dropout_rng{99};

    explicit layer_harness(std::size_t batch, bool train = true, std::uint64_t seed = 7)
        : n(batch), training(train), x(batch * in), y(batch * out), w(batch * out), dx(batch * in),
          params(L::params + 1), grads(L::params + 1), state(L::state_size + 1), state0(L::state_size + 1),
          saved(batch * L::saved_per_sample + 1), dsaved(batch * L::saved_per_sample + 1), temp(L::temp_size + 1),
          rng(seed) {
        L::init(params.data(), state.data(), rng);
        // Perturb parameters away from their initial values (e.g. BN's gamma = 1, beta = 0).
        for (std::size_t i = 0; i < L::params; ++i) params[i] += T(rng.uniform(-0.3, 0.3));
        for (auto& v : x) v = T(rng.uniform(-1, 1));
        for (auto& v : w) v = T(rng.uniform(-1, 1));
        state0 = state;
    }

    frame<T> make_frame() {
        frame<T> f;
        f.params = params.data();
        f.grads = grads.data();
        f.state = state.data();
        f.saved = saved.data();
        f.dsaved = dsaved.data();
        f.temp = temp.data();
        f.temp_stride = L::temp_size;
        f.grad_stride = L::params;
        f.n = n;
        f.training = training;
        f.rng = &dropout_rng;
        return f;
    }

    double loss() {
        state = state0;  // running statistics must not drift between evaluations
        dropout_rng = random_generator(dropout_seed);
        L::forward(make_frame(), x.data(), y.data());
        double l = 0;
        for (std::size_t i = 0; i < y.size(); ++i) l += double(y[i]) * double(w[i]);
        return l;
    }

    void analytic() {
        loss();
        std::fill(grads.begin(), grads.end(), T(0));
        L::backward(make_frame(), x.data(), y.data(), w.data(), dx.data());
    }

    // Checks up to `max_checks` inputs and parameters each (spread evenly).
    gradient_report check(std::size_t max_checks = 200, double h = 1e-5) {
        analytic();
        std::vector<T> const dx0 = dx, g0 = grads;
        gradient_report r;
        auto numeric = [&](T& v) {
            T const keep = v;
            v = keep + T(h);
            double const up = loss();
            v = keep - T(h);
            double const down = loss();
            v = keep;
            return (up - down) / (2 * h);
        };
        std::size_t const in_step = std::max<std::size_t>(1, x.size() / max_checks);
        for (std::size_t i = 0; i < x.size(); i += in_step, ++r.checked_inputs)
            r.max_input_error = std::max(r.max_input_error, relative_error(numeric(x[i]), double(dx0[i])));
        std::size_t const p_step = std::max<std::size_t>(1, L::params / max_checks);
        for (std::size_t i = 0; i < L::params; i += p_step, ++r.checked_params)
            r.max_param_error = std::max(r.max_param_error, relative_error(numeric(params[i]), double(g0[i])));
        return r;
    }
};

}  // namespace mien::testing
