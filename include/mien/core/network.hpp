// mien/core/network.hpp -- a whole model: one type, its parameters and its prediction arena.
//
//   using net_t = mien::network<mien::input<48, 48, 1>, mien::conv2d<32, 3>, mien::relu, ...>;
//   static_assert(net_t::macs == ...);      // shapes and costs are compile-time constants
//   net_t net;  net.init(seed);             // every buffer is a member: no heap, ever
//   auto const& p = net.predict(face);      // softmax probabilities
//
// The layer specs are bound in order to the input shape; a mis-wired network does not compile.
// Prediction runs in one arena of inference_bytes, planned at compile time by liveness (see
// core/sequential.hpp): only the activations still needed are alive. A network_view predicts
// with parameters it does not own (const arrays in flash, say) into an arena the caller owns:
//
//   static_assert(net_t::inference_bytes <= 256 * 1024);   // the RAM budget, checked by the compiler
//   alignas(64) static std::byte arena[net_t::inference_bytes];
//   mien::network_view<net_t> view(params, state);         // std::span<float const, ...> each
//   auto probs = view.predict(face, arena);                // no heap, no copy of the parameters
//
// Training state (batch workspace, gradients, optimiser moments) lives in mien::trainer.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string_view>

#include "error.hpp"
#include "layer.hpp"
#include "random.hpp"
#include "sequential.hpp"
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

    // Memory, in bytes. Workspace (training, saliency) = activations kept for backward, outputs
    // and per-thread scratch.
    static constexpr std::size_t parameter_bytes = (params + state_size) * sizeof(T);
    static constexpr std::size_t workspace_bytes(std::size_t batch, std::size_t threads = 1) {
        return (batch * (saved_per_sample + outputs) + threads * temp_size) * sizeof(T);
    }
    // Prediction's arena: [logits][probabilities][the body's planned scratch], each part starting
    // on a 64-byte boundary. This is all the memory a prediction writes.
    static constexpr std::size_t logits_at = 0;
    static constexpr std::size_t probs_at = arena_round<T>(outputs);
    static constexpr std::size_t body_at = 2 * arena_round<T>(outputs);
    static constexpr std::size_t inference_values = body_at + infer_size<body>;
    static constexpr std::size_t inference_bytes = inference_values * sizeof(T);
    // What prediction would need if every activation stayed alive (as training keeps them).
    static constexpr std::size_t unplanned_inference_bytes = workspace_bytes(1, 1) + 2 * outputs * sizeof(T);
    // Training at batch B: activations and their gradients, logits and their gradients,
    // per-thread gradients and scratch, and two optimiser moments (Adam).
    template <std::size_t B, std::size_t Threads = 1>
    static constexpr std::size_t training_bytes =
        (2 * B * (saved_per_sample + outputs) + B * outputs + Threads * (temp_size + params) + 2 * params) * sizeof(T);

    // Softmax probabilities of x with the given parameters and state, computed in `arena`
    // (inference_bytes, aligned for T; 64-byte alignment is best). The result lives in the arena.
    static std::span<T const, outputs> predict(std::span<T const, params> p, std::span<T const, state_size> s,
                                               std::span<T const, inputs> x, std::span<std::byte, inference_bytes> arena) {
        if (reinterpret_cast<std::uintptr_t>(arena.data()) % alignof(T) != 0)
            fail("predict: the arena must be aligned to %zu bytes", alignof(T));
        T* a = reinterpret_cast<T*>(arena.data());
        run(p.data(), s.data(), x.data(), a + logits_at, a + body_at);
        detail::softmax(outputs, a + logits_at, a + probs_at);
        return std::span<T const, outputs>(a + probs_at, outputs);
    }

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
            if (t.rate) state_[t.offset] = T(rate);
        });
    }

    // Softmax probabilities for one input (H*W*C values, HWC order, pixels scaled to [0, 1]).
    std::array<T, outputs> const& predict(std::span<T const, inputs> x) {
        run(params_.data(), state_.data(), x.data(), logits_.data(), arena_.data());
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
    // Static and constexpr: the tensors are facts of the type (tensor_table below).
    template <class F>
    static constexpr void for_each_tensor(F&& f) {
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
        std::fprintf(out, "total: %zu params (+%zu running statistics), %zu MACs per sample\n", params, state_size - rate_states(), macs);
        std::fprintf(out, "memory: %zu B parameters, %zu B prediction arena (batch 1, planned; %zu B if every activation stayed alive)\n",
                     parameter_bytes, inference_bytes, unplanned_inference_bytes);
    }

    // Non-trainable values that are settings (dropout rates) rather than statistics.
    static constexpr std::size_t rate_states() {
        std::size_t count = 0;
        for_each_layer<body>([&]<class L>(std::size_t, std::size_t, std::size_t) { count += rate_size<L>; });
        return count;
    }

    // A frame over this network's parameters and state (no activations: the caller brings
    // saved values and scratch, as the trainer and saliency do).
    frame<T> parameter_frame() {
        frame<T> f;
        f.params = params_.data();
        f.state = state_.data();
        return f;
    }

private:
    // One prediction's logits; `scratch` holds infer_size<body> values.
    static void run(T const* p, T const* s, T const* x, T* logits, T* scratch) {
        frame<T> f;
        // Prediction never writes parameters or state (batch norm updates its statistics only when
        // training), so const arrays -- in flash, say -- are safe behind these pointers.
        f.params = const_cast<T*>(p);
        f.state = const_cast<T*>(s);
        mien::infer<body>(f, x, logits, scratch);
    }

    std::array<T, params> params_{};
    std::array<T, state_size> state_{};
    alignas(64) std::array<T, infer_size<body> + 1> arena_{};
    std::array<T, outputs> logits_{}, probs_{};
};

// A network that holds only pointers to its parameters and state: for parameters that live
// elsewhere (const arrays the linker puts in flash, a memory-mapped file) and an arena the
// caller owns. Net is a basic_network type.
template <class Net>
class network_view {
public:
    using T = typename Net::scalar;
    network_view(std::span<T const, Net::params> params, std::span<T const, Net::state_size> state)
        : params_(params), state_(state) {}
    // Probabilities of x, computed in (and living in) the arena.
    std::span<T const, Net::outputs> predict(std::span<T const, Net::inputs> x,
                                             std::span<std::byte, Net::inference_bytes> arena) const {
        return Net::predict(params_, state_, x, arena);
    }

private:
    std::span<T const, Net::params> params_;
    std::span<T const, Net::state_size> state_;
};

template <Shape In, class... Specs>
using network = basic_network<float, In, Specs...>;

// Every named tensor of a network type (a basic_network), in file order (for each layer: its
// parameters, then its state), as a compile-time table: layer and tensor name, dims, rank,
// offset into parameters() or state(), trainable. What the xtensor interop needs to give each
// tensor a view whose shape is a constant of its type (interop/xtensor.hpp).
template <class Net>
inline constexpr std::size_t tensor_count = [] {
    std::size_t n = 0;
    Net::for_each_tensor([&](tensor_info const&) { ++n; });
    return n;
}();
template <class Net>
inline constexpr std::array<tensor_info, tensor_count<Net>> tensor_table = [] {
    std::array<tensor_info, tensor_count<Net>> table{};
    std::size_t i = 0;
    Net::for_each_tensor([&](tensor_info const& t) { table[i++] = t; });
    return table;
}();

}  // namespace mien
