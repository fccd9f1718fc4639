// mien/blocks/sequential.hpp -- layers applied one after another.
//
// sequential<conv2d<32, 3>, batch_norm, relu, max_pool<2>> binds each spec to the output shape
// of the one before it, so shapes flow through at compile time. It is a layer itself: params,
// macs and state are the sums of its children; it saves every intermediate output (backward
// needs them) plus what its children save. Its frame is carved into the children's slices by
// compile-time offsets.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <utility>

#include "../core/layer.hpp"

namespace mien {

namespace detail {

template <class... Ts>
struct type_list {};

// Binds Specs... in turn, each to the output shape of the previous one.
template <Shape In, class T, class... Specs>
struct chain {
    using layers = type_list<>;
    using output_shape = In;
};
template <Shape In, class T, class First, class... Rest>
struct chain<In, T, First, Rest...> {
    using head = bind<First, In, T>;
    using tail = chain<typename head::output_shape, T, Rest...>;
    using output_shape = typename tail::output_shape;
    template <class... Ls>
    static type_list<head, Ls...> prepend(type_list<Ls...>);
    using layers = decltype(prepend(typename tail::layers{}));
};

template <std::size_t N>
constexpr std::array<std::size_t, N + 1> prefix_sums(std::array<std::size_t, N> v) {
    std::array<std::size_t, N + 1> out{};
    for (std::size_t i = 0; i < N; ++i) out[i + 1] = out[i] + v[i];
    return out;
}

}  // namespace detail

template <Shape In, class T, class Layers>
struct sequential_layer;

template <Shape In, class T, class... Ls>
struct sequential_layer<In, T, detail::type_list<Ls...>> {
    static_assert(sizeof...(Ls) > 0, "sequential: needs at least one layer");
    static constexpr std::size_t count = sizeof...(Ls);
    using input_shape = In;
    using layer_types = detail::type_list<Ls...>;
    template <std::size_t I>
    using layer = std::tuple_element_t<I, std::tuple<Ls...>>;
    using output_shape = typename layer<count - 1>::output_shape;
    using scalar = T;
    static constexpr std::string_view name = "sequential";

    static constexpr std::size_t params = (Ls::params + ...);
    static constexpr std::size_t state_size = (Ls::state_size + ...);
    static constexpr std::size_t macs = (Ls::macs + ...);
    static constexpr std::size_t temp_size = std::max({Ls::temp_size...});

    // Offsets of each child's parameters and state.
    static constexpr auto param_at = detail::prefix_sums(std::array<std::size_t, count>{Ls::params...});
    static constexpr auto state_at = detail::prefix_sums(std::array<std::size_t, count>{Ls::state_size...});
    // Saved layout per sample: [child 0 saved][output 0][child 1 saved][output 1]...[child N-1 saved]
    // (the last output is the caller's y).
    static constexpr std::array<std::size_t, count> saved_block{
        (Ls::saved_per_sample + Ls::output_shape::size)...};
    static constexpr auto saved_at = detail::prefix_sums(saved_block);
    static constexpr std::size_t saved_per_sample = saved_at[count] - layer<count - 1>::output_shape::size;

    static frame<T> child(frame<T> const& f, std::size_t i) { return f.child(param_at[i], state_at[i], saved_at[i]); }
    template <std::size_t I>
    static T* output_of(frame<T> const& f, T* y) {
        if constexpr (I + 1 == count) return y;
        else return f.saved + f.n * (saved_at[I] + layer<I>::saved_per_sample);
    }
    template <std::size_t I>
    static T* doutput_of(frame<T> const& f) {
        return f.dsaved + f.n * (saved_at[I] + layer<I>::saved_per_sample);
    }

    static void init(T* p, T* s, random_generator& rng) {
        std::size_t i = 0;
        ((Ls::init(p + param_at[i], s + state_at[i], rng), ++i), ...);
    }

    template <class Self, class F>
    static constexpr void visit(F&& f, std::size_t param_offset, std::size_t state_offset, std::size_t depth) {
        std::size_t i = 0;
        ((Ls::template visit<Ls>(f, param_offset + param_at[i], state_offset + state_at[i], depth + 1), ++i), ...);
    }

    template <class V>
    static void for_each_tensor(V&&) {}  // the children describe their own tensors

    static void forward(frame<T> const& f, T const* x, T* y) {
        forward_from<0>(f, x, y);
    }

    static void backward(frame<T> const& f, T const* x, T const* y, T const* dy, T* dx) {
        backward_from<count - 1>(f, x, y, dy, dx);
    }

private:
    template <std::size_t I>
    static void forward_from(frame<T> const& f, T const* in, T* y) {
        T* out = output_of<I>(f, y);
        layer<I>::forward(child(f, I), in, out);
        if constexpr (I + 1 < count) forward_from<I + 1>(f, out, y);
    }

    template <std::size_t I>
    static void backward_from(frame<T> const& f, T const* x, T const* y, T const* dout, T* dx) {
        T const* in = x;
        if constexpr (I > 0) in = output_of<I - 1>(f, nullptr);
        T const* out = I + 1 == count ? y : output_of<I>(f, nullptr);
        if constexpr (I > 0) {
            T* din = doutput_of<I - 1>(f);
            layer<I>::backward(child(f, I), in, out, dout, din);
            backward_from<I - 1>(f, x, y, din, dx);
        } else {
            layer<I>::backward(child(f, I), in, out, dout, dx);
        }
    }
};

// sequential<Specs...>: a spec, like any layer.
template <class... Specs>
struct sequential {
    template <Shape In, class T>
    using bind = sequential_layer<In, T, typename detail::chain<In, T, Specs...>::layers>;
};

}  // namespace mien
