// tests/support/layer_test.hpp -- what every layer test does: run a bound layer on given
// parameters, compare values, and run the shared gradient check with doctest assertions.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include <mien/core/layer.hpp>
#include <mien/core/parallel.hpp>
#include <mien/core/random.hpp>

#include "gradient_check.hpp"

namespace mien::testing {

// Values of one type (golden doubles, literals) as another.
template <class T, class U>
std::vector<T> as(std::span<U const> values) {
    return std::vector<T>(values.begin(), values.end());
}
template <class T, class U, std::size_t N>
std::vector<T> as(U const (&values)[N]) {
    return as<T>(std::span<U const>(values, N));
}

// A bound layer with buffers of its own: set parameters and state, run forward or backward.
template <class L>
struct layer_runner {
    using T = typename L::scalar;
    static constexpr std::size_t in = L::input_shape::size, out = L::output_shape::size;
    std::size_t n;
    std::vector<T> params, grads, state, saved, dsaved, temp;
    random_generator rng;
    thread_team* team = nullptr;

    explicit layer_runner(std::size_t batch = 1, std::uint64_t seed = 1, std::size_t threads = 1)
        : n(batch), params(L::params + 1), grads(threads * L::params + 1), state(L::state_size + 1),
          saved(batch * L::saved_per_sample + 1), dsaved(batch * L::saved_per_sample + 1),
          temp(threads * L::temp_size + 1), rng(seed) {
        L::init(params.data(), state.data(), rng);
    }

    // Copies `values` into the parameters from `offset` on.
    void set_params(std::size_t offset, std::vector<T> const& values) {
        REQUIRE(offset + values.size() <= L::params);
        std::copy(values.begin(), values.end(), params.begin() + std::ptrdiff_t(offset));
    }

    frame<T> make_frame(bool training) {
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
        f.team = team;
        f.rng = &rng;
        return f;
    }

    std::vector<T> forward(std::vector<T> const& x, bool training = false) {
        REQUIRE(x.size() == n * in);
        std::vector<T> y(n * out);
        L::forward(make_frame(training), x.data(), y.data());
        return y;
    }

    // Input gradient for output gradient dy (parameter gradients land in `grads`, zeroed first).
    std::vector<T> backward(std::vector<T> const& x, std::vector<T> const& y, std::vector<T> const& dy,
                            bool training = false) {
        REQUIRE(dy.size() == n * out);
        std::fill(grads.begin(), grads.end(), T(0));
        std::vector<T> dx(n * in);
        L::backward(make_frame(training), x.data(), y.data(), dy.data(), dx.data());
        return dx;
    }
};

// Running statistics of every batch norm in L away from their initial (0, 1): means in
// [-0.3, 0.3), variances in [0.5, 2), so that inference-mode tests exercise them.
template <class L>
void randomize_statistics(layer_runner<L>& r, std::uint64_t seed) {
    random_generator g(seed);
    for_each_layer<L>([&]<class Leaf>(std::size_t, std::size_t s, std::size_t) {
        if constexpr (Leaf::name == "batch_norm")
            for (std::size_t c = 0; c < Leaf::C; ++c) {
                r.state[s + c] = typename L::scalar(g.uniform(-0.3, 0.3));
                r.state[s + Leaf::C + c] = typename L::scalar(g.uniform(0.5, 2.0));
            }
    });
}

// Every actual[i] within tolerance * max(1, |expected[i]|) of expected[i]; names the first misses.
// Both are anything std::data and std::size accept: vectors, spans, arrays, golden C arrays.
template <class Actual, class Expected>
void check_close(Actual const& actual, Expected const& expected, double tolerance) {
    REQUIRE(std::size(actual) == std::size(expected));
    auto const* a = std::data(actual);
    auto const* e = std::data(expected);
    std::size_t misses = 0;
    for (std::size_t i = 0; i < std::size(actual); ++i) {
        double const ai = double(a[i]), ei = double(e[i]);
        if (std::abs(ai - ei) <= tolerance * std::max(1.0, std::abs(ei))) continue;  // false for NaN too
        if (++misses <= 5) FAIL_CHECK("value " << i << ": " << ai << " != expected " << ei << " (tolerance " << tolerance << ")");
    }
    CHECK(misses == 0);
}

// The central-difference gradient check (gradient_check.hpp) on a double layer, plus: backward
// with dx = nullptr (the first layer of a network) must give the same parameter gradients.
template <class L>
void check_gradients(std::size_t batch, bool training = true, double tolerance = 1e-6, std::size_t max_checks = 200) {
    static_assert(std::is_same_v<typename L::scalar, double>, "gradient checks run in double");
    INFO("layer ", std::string(L::name), ", batch ", batch, ", training ", training);
    layer_harness<L> h(batch, training);
    gradient_report const r = h.check(max_checks);
    CHECK(r.checked_inputs > 0);
    CHECK((L::params == 0 || r.checked_params > 0));
    CHECK(r.max_input_error < tolerance);
    CHECK(r.max_param_error < tolerance);

    h.analytic();
    std::vector<double> const with_dx = h.grads;
    h.loss();
    std::fill(h.grads.begin(), h.grads.end(), 0.0);
    L::backward(h.make_frame(), h.x.data(), h.y.data(), h.w.data(), nullptr);
    check_close(h.grads, with_dx, 1e-12);
}

// A batch split across two threads (frame::team) must give the same outputs and input
// gradients, and per-thread parameter gradients (grads + t * params) that sum to one thread's.
template <class L>
void check_two_threads_agree(std::size_t batch) {
    static_assert(std::is_same_v<typename L::scalar, double>);
    INFO("layer ", std::string(L::name), ", batch ", batch, ", two threads");
    thread_team team(2);
    layer_runner<L> one(batch, 5), two(batch, 5, 2);
    two.team = &team;
    random_generator rng(11);
    std::vector<double> x(batch * L::input_shape::size), dy(batch * L::output_shape::size);
    for (auto& v : x) v = rng.uniform(-1, 1);
    for (auto& v : dy) v = rng.uniform(-1, 1);
    std::vector<double> const y1 = one.forward(x, true), y2 = two.forward(x, true);
    check_close(y2, y1, 0);
    check_close(two.backward(x, y2, dy, true), one.backward(x, y1, dy, true), 0);
    std::vector<double> summed(L::params), single(L::params);
    for (std::size_t i = 0; i < L::params; ++i) {
        summed[i] = two.grads[i] + two.grads[L::params + i];
        single[i] = one.grads[i];
    }
    check_close(summed, single, 1e-12);
}

}  // namespace mien::testing
