// mien/core/network.hpp -- a whole model: one type, its parameters and its batch-1 workspace.
//
//   using net_t = mien::network<mien::input<48, 48, 1>, mien::conv2d<32, 3>, mien::relu, ...>;
//   static_assert(net_t::macs == ...);      // shapes and costs are compile-time constants
//   net_t net;  net.init(seed);             // every buffer is a member: no heap, ever
//   auto const& p = net.predict(face);      // softmax probabilities
//
// The layer specs are bound in order to the input shape; a mis-wired network does not compile.
// Training state (batch workspace, gradients, optimiser moments) lives in mien::trainer.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <span>
#include <string_view>

#include "../blocks/sequential.hpp"
#include "error.hpp"
#include "layer.hpp"
#include "random.hpp"
#include "softmax.hpp"

namespace mien {

template <class T, Shape In, class... Specs>
class basic_network {
public:
    using body = bind<sequential<Specs...>, In, T>;
    static_assert(Layer<body>);
    using scalar = T;
    using input_shape = In;
    using output_shape_type = typename body::output_shape;
    static constexpr output_shape_type output_shape{};
    static constexpr In input{};

    static constexpr std::size_t inputs = In::size;
    static constexpr std::size_t outputs = output_shape_type::size;
    static constexpr std::size_t params = body::params;
    static constexpr std::size_t state_size = body::state_size;
    static constexpr std::size_t macs = body::macs;
    static constexpr std::size_t saved_per_sample = body::saved_per_sample;
    static constexpr std::size_t temp_size = body::temp_size;

    // Memory, in bytes. Workspace = activations kept for backward, outputs and per-thread scratch.
    static constexpr std::size_t parameter_bytes = (params + state_size) * sizeof(T);
    static constexpr std::size_t workspace_bytes(std::size_t batch, std::size_t threads = 1) {
        return (batch * (saved_per_sample + outputs) + threads * temp_size) * sizeof(T);
    }
    static constexpr std::size_t inference_bytes = workspace_bytes(1, 1) + 2 * outputs * sizeof(T);
    // Training at batch B: activations and their gradients, logits and their gradients,
    // per-thread gradients and scratch, and two optimiser moments (Adam).
    template <std::size_t B, std::size_t Threads = 1>
    static constexpr std::size_t training_bytes =
        (2 * B * (saved_per_sample + outputs) + B * outputs + Threads * (temp_size + params) + 2 * params) * sizeof(T);

    basic_network() { init(0); }

    // Fresh random parameters (deterministic for a seed) and reset running statistics.
    void init(std::uint64_t seed) {
        random_generator rng(seed);
        body::init(params_.data(), state_.data(), rng);
    }

    std::span<T, params> parameters() { return params_; }
    std::span<T const, params> parameters() const { return params_; }
    std::span<T, state_size> state() { return state_; }
    std::span<T const, state_size> state() const { return state_; }

    // Sets the rate of every dropout layer (0 <= rate < 1).
    void set_dropout_rate(double rate) {
        if (!(rate >= 0.0 && rate < 1.0)) fail("set_dropout_rate: expected a rate in [0, 1), found %g", rate);
        for_each_tensor([&](tensor_info const& t) {
            if (t.layer == "dropout" && t.name == "rate") state_[t.offset] = T(rate);
        });
    }

    // Softmax probabilities for one input (H*W*C values, HWC order, pixels scaled to [0, 1]).
    std::array<T, outputs> const& predict(std::span<T const, inputs> x) {
        forward_one(x.data());
        detail::softmax(outputs, logits_.data(), probs_.data());
        return probs_;
    }
    // Same, for a run-time sized buffer: its size is checked.
    std::array<T, outputs> const& predict(std::span<T const> x) {
        if (x.size() != inputs) fail_size("predict: input", inputs, x.size());
        return predict(std::span<T const, inputs>(x.data(), inputs));
    }
    template <class Container>
        requires requires(Container const& c) { c.data(); c.size(); }
    std::array<T, outputs> const& predict(Container const& c) {
        return predict(std::span<T const>(c.data(), c.size()));
    }

    // The raw outputs (logits) of the last forward pass.
    std::array<T, outputs> const& logits() const { return logits_; }

    // Calls f(tensor_info) for every named tensor, with offsets into parameters() / state().
    template <class F>
    void for_each_tensor(F&& f) const {
        std::size_t index = 0;
        for_each_layer<body>([&]<class L>(std::size_t p, std::size_t s, std::size_t) {
            L::for_each_tensor([&](tensor_info t) {
                t.offset += t.trainable ? p : s;
                t.layer_index = index;
                f(t);
            });
            ++index;
        });
    }

    // Prints every layer with its output shape, parameters and MACs, then the totals.
    static void print_cost_table(std::FILE* out = stdout) {
        std::fprintf(out, "%-4s %-24s %-14s %12s %14s\n", "#", "layer", "output", "params", "MACs");
        std::size_t index = 0;
        for_each_layer<body>([&]<class L>(std::size_t, std::size_t, std::size_t) {
            using S = typename L::output_shape;
            char shape_text[48];
            std::snprintf(shape_text, sizeof shape_text, "%zux%zux%zu", S::height, S::width, S::channels);
            std::fprintf(out, "%-4zu %-24.*s %-14s %12zu %14zu\n", index++, int(L::name.size()), L::name.data(),
                         shape_text, std::size_t(L::params), std::size_t(L::macs));
        });
        std::fprintf(out, "total: %zu params (+%zu running statistics), %zu MACs per sample\n", params, state_size - dropout_states(), macs);
        std::fprintf(out, "memory: %zu B parameters, %zu B inference workspace (batch 1)\n", parameter_bytes, inference_bytes);
    }

    // Non-trainable values that are dropout rates rather than statistics.
    static constexpr std::size_t dropout_states() {
        std::size_t count = 0;
        for_each_layer<body>([&]<class L>(std::size_t, std::size_t, std::size_t) {
            if (L::name == "dropout") count += L::state_size;
        });
        return count;
    }

    // The frame of a batch-1 inference pass over this network's own storage.
    frame<T> inference_frame() {
        frame<T> f;
        f.params = params_.data();
        f.state = state_.data();
        f.saved = saved_.data();
        f.temp = temp_.data();
        f.temp_stride = temp_size;
        f.n = 1;
        return f;
    }

private:
    void forward_one(T const* x) { body::forward(inference_frame(), x, logits_.data()); }

    std::array<T, params> params_{};
    std::array<T, state_size> state_{};
    std::array<T, saved_per_sample + 1> saved_{};
    std::array<T, temp_size + 1> temp_{};
    std::array<T, outputs> logits_{}, probs_{};
};

template <Shape In, class... Specs>
using network = basic_network<float, In, Specs...>;

}  // namespace mien
