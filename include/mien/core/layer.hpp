// mien/core/layer.hpp -- what every layer is, documented once.
//
// A layer comes in two parts:
//  * a *spec* the user writes in a network, such as conv2d<32, 3>. It has no shape yet; it
//    carries `template <Shape In, class T> using bind = ...` which gives
//  * the *bound layer*: a stateless type that knows its input and output shapes and costs as
//    constants and has static forward/backward functions. It owns no memory: parameters,
//    activations and scratch live in flat arrays owned by the network or trainer, and each
//    layer receives a `frame` that points at its own slice of them.
//
// A bound layer L provides (checked by the Layer concept below):
//   using input_shape, output_shape, scalar;
//   static constexpr std::size_t params;            trainable values
//   static constexpr std::size_t state_size;        non-trainable values (BN running statistics)
//   static constexpr std::size_t macs;              multiply-accumulates per sample
//   static constexpr std::size_t saved_per_sample;  values kept from forward for backward
//   static constexpr std::size_t temp_size;         per-thread scratch, reused by all layers
//   static constexpr std::string_view name;
//   static void init(T* params, T* state, random_generator&);
//   static void forward(frame<T> const&, T const* x, T* y);
//   static void backward(frame<T> const&, T const* x, T const* y, T const* dy, T* dx);
//       backward *adds* the parameter gradients to f.grads and *writes* dx (dx may be null:
//       the first layer of a network need not compute it).
//   template <class F> static constexpr void for_each_tensor(F&& f);  f(tensor_info) per named tensor
//       (constexpr: a network's tensor table is a compile-time constant, core/network.hpp)
//   template <class Self, class F> static void visit(F&&, param_offset, state_offset, depth);
//       visits the leaf layers (leaf_layer gives the leaf's own: itself)
//   static constexpr std::array<double, N> settings;  every template argument that changes what
//       the layer computes beyond its shapes (kernel, stride, padding, bias, ...): the weights
//       file's topology fingerprint hashes them (io/fingerprint.hpp)
// and, for prediction (batch 1, one thread, inference mode), optionally:
//   static constexpr std::size_t infer_size;  scratch values infer() needs besides x and y
//   static constexpr bool in_place;           forward and infer accept y == x
//   static void infer(frame<T> const&, T const* x, T* y, T* scratch);
// A leaf that does not declare them is run by forward() with its saved values and its forward
// scratch (forward_temp_size, else temp_size) placed in `scratch` (see mien::infer below).
// Composite layers plan where their children's outputs live inside the scratch they are given
// (blocks/sequential.hpp: by liveness), so a whole prediction needs one arena whose size is a
// compile-time constant (basic_network::inference_bytes).
//
// Composite layers (sequential, residual, concat) are layers too, so blocks nest freely.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <string_view>

#include "random.hpp"
#include "shape.hpp"
#include "team.hpp"

namespace mien {

// Everything a layer call needs, already offset to this layer's slice.
template <class T>
struct frame {
    T* params = nullptr;   // this layer's trainable parameters
    T* grads = nullptr;    // gradient accumulators for them (thread 0's copy)
    T* state = nullptr;    // non-trainable state
    T* saved = nullptr;    // this layer's saved activations, n * saved_per_sample values
    T* dsaved = nullptr;   // gradients with respect to them, same layout (training only)
    T* temp = nullptr;     // per-thread scratch: thread t owns temp + t * temp_stride
    std::size_t temp_stride = 0;
    std::size_t grad_stride = 0;  // thread t accumulates into grads + t * grad_stride
    std::size_t n = 1;            // samples in the batch
    bool training = false;
    team_base* team = nullptr;    // null: run on the calling thread
    random_generator* rng = nullptr;

    // The frame of a child whose slices start at these offsets (saved offsets are per sample).
    frame child(std::size_t param_offset, std::size_t state_offset, std::size_t saved_offset) const {
        frame f = *this;
        // Prediction's frames have no saved values (and a network without parameters or state
        // may have null arrays): a non-zero offset from a null pointer is undefined behaviour.
        if (params) f.params = params + param_offset;
        if (grads) f.grads = grads + param_offset;
        if (state) f.state = state + state_offset;
        if (saved) f.saved = saved + saved_offset * n;
        if (dsaved) f.dsaved = dsaved + saved_offset * n;
        return f;
    }

    T* temp_of(std::size_t thread) const { return temp + thread * temp_stride; }
    T* grads_of(std::size_t thread) const { return grads + thread * grad_stride; }

    // Runs fn(begin, end, thread) over the samples [0, n), split across the team.
    template <class F>
    void for_samples(F&& fn) const {
        if (team) team->run(n, fn);
        else fn(std::size_t{0}, n, std::size_t{0});
    }
};

// A named tensor of a layer, for the cost table, weights files and NumPy interchange.
struct tensor_info {
    std::string_view layer;      // layer type name, e.g. "conv2d"
    std::string_view name;       // "weight", "bias", "gamma", "running_mean", ...
    std::array<std::size_t, 4> dims{};
    std::size_t rank = 0;
    std::size_t offset = 0;      // into the parameter array, or the state array if !trainable
    bool trainable = true;
    // A non-trainable value that is a setting the user chooses (dropout's rate), not a
    // statistic learnt from data (batch norm's running mean): set_dropout_rate finds the rates
    // by this flag, and the cost table does not count them as statistics.
    bool rate = false;
    std::size_t layer_index = 0; // position of the layer in the network's cost table
    constexpr std::size_t size() const {
        std::size_t s = 1;
        for (std::size_t i = 0; i < rank; ++i) s *= dims[i];
        return s;
    }
};

namespace detail {
// A visitor for the Layer concept's check of visit().
struct layer_probe {
    template <class L>
    constexpr void operator()(std::size_t, std::size_t, std::size_t) const {}
};
}  // namespace detail

template <class L>
concept Layer = requires {
    typename L::input_shape;
    typename L::output_shape;
    typename L::scalar;
    { L::params } -> std::convertible_to<std::size_t>;
    { L::state_size } -> std::convertible_to<std::size_t>;
    { L::macs } -> std::convertible_to<std::size_t>;
    { L::saved_per_sample } -> std::convertible_to<std::size_t>;
    { L::temp_size } -> std::convertible_to<std::size_t>;
    { L::name } -> std::convertible_to<std::string_view>;
    L::settings.size();
} && requires(frame<typename L::scalar> const& f, typename L::scalar* p, typename L::scalar const* c,
              random_generator& rng, void (*on_tensor)(tensor_info), detail::layer_probe probe) {
    L::init(p, p, rng);
    L::forward(f, c, p);
    L::backward(f, c, c, c, p);
    L::for_each_tensor(on_tensor);
    L::template visit<L>(probe, std::size_t{0}, std::size_t{0}, std::size_t{0});
};

// The bound layer of spec S on input shape In with scalar type T.
template <class S, Shape In, class T>
using bind = typename S::template bind<In, T>;

// A leaf layer: no children. Gives the default for_each_layer (visit itself) and no settings.
struct leaf_layer {
    template <class Self, class F>
    static constexpr void visit(F&& f, std::size_t param_offset, std::size_t state_offset, std::size_t depth) {
        f.template operator()<Self>(param_offset, state_offset, depth);
    }
    static constexpr std::array<double, 0> settings{};
};

// A leaf without parameters, state, saved values or scratch (relu, pooling, identity): the
// boilerplate once. A layer that has some of them redeclares just those members.
template <Shape In, class T, Shape Out = plain_shape<In>>
struct parameterless_layer : leaf_layer {
    using input_shape = In;
    using output_shape = Out;
    using scalar = T;
    static constexpr std::size_t params = 0, state_size = 0, macs = 0, saved_per_sample = 0, temp_size = 0;
    static void init(T*, T*, random_generator&) {}
    template <class V>
    static constexpr void for_each_tensor(V&&) {}
};

// Calls f.template operator()<Leaf>(param_offset, state_offset, depth) for every leaf layer of
// L, in order, with offsets into the whole network's parameter and state arrays.
template <class L, class F>
constexpr void for_each_layer(F&& f, std::size_t param_offset = 0, std::size_t state_offset = 0, std::size_t depth = 0) {
    L::template visit<L>(f, param_offset, state_offset, depth);
}

// ---- prediction: scratch sizes, in-place layers, infer() -------------------------------------

namespace detail {
template <class L>
constexpr std::size_t infer_size_of() {
    if constexpr (requires { L::infer_size; }) return L::infer_size;
    else if constexpr (requires { L::forward_temp_size; }) return L::saved_per_sample + L::forward_temp_size;
    else return L::saved_per_sample + L::temp_size;
}
template <class L>
constexpr bool in_place_of() {
    if constexpr (requires { L::in_place; }) return L::in_place;
    else return false;
}
}  // namespace detail

namespace detail {
template <class L>
constexpr std::size_t rate_size_of() {
    if constexpr (requires { L::rate_size; }) return L::rate_size;
    else return 0;
}
}  // namespace detail

// State values of L that are settings (dropout's rate), not statistics: the layer's
// `rate_size` (0 when it declares none). Its tensor_info says so too (`rate`).
template <class L>
inline constexpr std::size_t rate_size = detail::rate_size_of<L>();

// Values of scratch a prediction through L needs besides its input and output.
template <class L>
inline constexpr std::size_t infer_size = detail::infer_size_of<L>();
// Whether L may predict with its output in the same buffer as its input.
template <class L>
inline constexpr bool in_place = detail::in_place_of<L>();

// Buffers inside an arena start on 64-byte boundaries (a cache line, an AVX-512 register) when
// the arena itself does: sizes are rounded up to this many values of T.
template <class T>
constexpr std::size_t arena_round(std::size_t values) {
    constexpr std::size_t step = 64 / sizeof(T) > 0 ? 64 / sizeof(T) : 1;
    return (values + step - 1) / step * step;
}

// One batch-1 inference pass through L: f holds the parameters and state (its saved, temp and
// team are ignored), `scratch` holds infer_size<L> values that nothing else uses meanwhile.
template <class L, class T>
void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
    if constexpr (requires { L::infer(f, x, y, scratch); }) {
        L::infer(f, x, y, scratch);
    } else {
        frame<T> g = f;
        g.saved = scratch;
        g.temp = scratch + L::saved_per_sample;
        g.temp_stride = 0;
        g.n = 1;
        g.training = false;
        g.team = nullptr;
        L::forward(g, x, y);
    }
}

namespace detail {
// Fills a tensor_info (helper for the layers' for_each_tensor).
constexpr tensor_info tensor(std::string_view layer, std::string_view name, std::size_t offset,
                             std::initializer_list<std::size_t> dims, bool trainable = true, bool rate = false) {
    tensor_info t;
    t.layer = layer;
    t.name = name;
    t.offset = offset;
    t.trainable = trainable;
    t.rate = rate;
    for (std::size_t d : dims) t.dims[t.rank++] = d;
    return t;
}
}  // namespace detail

}  // namespace mien
