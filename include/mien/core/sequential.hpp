// mien/core/sequential.hpp -- layers applied one after another.
//
// sequential<conv2d<32, 3>, batch_norm, relu, max_pool<2>> binds each spec to the output shape
// of the one before it, so shapes flow through at compile time. It is a layer itself: params,
// macs and state are the sums of its children; it saves every intermediate output (backward
// needs them) plus what its children save. Its frame is carved into the children's slices by
// compile-time offsets.
//
// Prediction does not keep what backward needs: infer() plans the children's outputs inside
// the scratch it is given, by liveness. Output i lives from child i (which writes it) to child
// i + 1 (which reads it), so at most two outputs are alive at once; they alternate between the
// low end of the scratch and the high end, and each child's own scratch sits between them. A
// child that works in place (relu, batch norm, dropout) keeps its input's buffer, and the last
// children write straight into the caller's y. The size is the largest (input + output +
// scratch) over the children: a compile-time constant.
//
// It lives in core/ because a network is one: basic_network binds its specs as a sequential.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "layer.hpp"

namespace mien {

namespace detail {

template <class... Ts>
struct type_list {};

// Binds Specs... in turn, each to the output shape of the previous one.
template <class S, class In, class T>
struct bind_lazy {
    using type = typename S::template bind<In, T>;
};
template <std::size_t I, Shape In, class T, class... Specs>
struct chain_at;

template <Shape In, class T, class... Specs>
struct chain {
    using layers = type_list<>;
    using output_shape = In;
};
// A spec binds: it has `template <Shape In, class T> using bind = ...`.
template <class S, class In, class T>
concept binds_to = requires { typename S::template bind<In, T>; };

// Where a layer's spec is checked: when it fails, g++ and clang name this template with the
// layer's position in its sequential (0-based) and the offending type.
template <std::size_t Index, class Spec, Shape In, class T>
struct sequential_child {
    static_assert(binds_to<Spec, In, T>,
                  "sequential: this layer is not a layer spec (no `template <Shape In, class T> using bind`); "
                  "its position and type are the first arguments of sequential_child<...>");
    // Stands in for the bad layer so that the static_assert above is the only error.
    struct not_a_layer : parameterless_layer<In, T> {
        static constexpr std::string_view name = "(not a layer)";
        static void forward(frame<T> const&, T const*, T*) {}
        static void backward(frame<T> const&, T const*, T const*, T const*, T*) {}
    };
    using type = typename std::conditional_t<binds_to<Spec, In, T>, bind_lazy<Spec, In, T>, std::type_identity<not_a_layer>>::type;
    static_assert(!binds_to<Spec, In, T> || Layer<type>,
                  "sequential: this layer's bound type is not a Layer (see the unsatisfied requirement below); "
                  "its position and type are the first arguments of sequential_child<...>");
};

template <Shape In, class T, class First, class... Rest>
struct chain<In, T, First, Rest...> : chain_at<0, In, T, First, Rest...> {};

template <std::size_t I, Shape In, class T, class... Specs>
struct chain_at {
    using layers = type_list<>;
    using output_shape = In;
};
template <std::size_t I, Shape In, class T, class First, class... Rest>
struct chain_at<I, In, T, First, Rest...> {
    using head = typename sequential_child<I, First, In, T>::type;
    using tail = chain_at<I + 1, typename head::output_shape, T, Rest...>;
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
    static constexpr std::array<double, 0> settings{};

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
    static constexpr void for_each_tensor(V&&) {}  // the children describe their own tensors

    static void forward(frame<T> const& f, T const* x, T* y) {
        forward_from<0>(f, x, y);
    }

    // ---- prediction in planned scratch (see the top of this file) ---------------------------

    enum class place : unsigned char { x, y, low, high };  // where an output lives
    struct plan_type {
        std::array<place, count> output{};        // of child i
        std::array<std::size_t, count> low{};      // values of the low buffer alive at child i
        std::array<std::size_t, count> rounded{};  // output sizes, rounded for alignment
        std::size_t size = 0;
    };
    static constexpr plan_type make_plan() {
        plan_type p;
        std::array<bool, count> const inplace{mien::in_place<Ls>...};
        std::array<std::size_t, count> const scratch{arena_round<T>(mien::infer_size<Ls>)...};
        p.rounded = {arena_round<T>(Ls::output_shape::size)...};
        // The trailing run of in-place children works on y, so the child before it writes y.
        std::size_t tail = count;
        while (tail > 0 && inplace[tail - 1]) --tail;
        std::size_t const first_y = tail == 0 ? 0 : tail - 1;
        place prev = place::x;
        for (std::size_t i = 0; i < count; ++i) {
            place out;
            if (i >= first_y) out = place::y;
            else if (inplace[i] && (prev == place::low || prev == place::high)) out = prev;
            else out = prev == place::low ? place::high : place::low;
            std::size_t low = 0, high = 0;
            if (prev == place::low) low = p.rounded[i - 1];
            if (prev == place::high) high = p.rounded[i - 1];
            if (out == place::low && p.rounded[i] > low) low = p.rounded[i];
            if (out == place::high && p.rounded[i] > high) high = p.rounded[i];
            p.output[i] = out;
            p.low[i] = low;
            if (low + high + scratch[i] > p.size) p.size = low + high + scratch[i];
            prev = out;
        }
        return p;
    }
    static constexpr plan_type plan = make_plan();
    static constexpr std::size_t infer_size = plan.size;
    static constexpr bool in_place = (mien::in_place<Ls> && ...);

    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) { infer_from<0>(f, x, y, scratch); }

    static void backward(frame<T> const& f, T const* x, T const* y, T const* dy, T* dx) {
        backward_from<count - 1>(f, x, y, dy, dx);
    }

private:
    // The buffer of child I's output inside the scratch (or y).
    template <std::size_t I>
    static T* infer_output(T* y, T* scratch) {
        switch (plan.output[I]) {
            case place::y: return y;
            case place::low: return scratch;
            case place::high: return scratch + plan.size - plan.rounded[I];
            default: return nullptr;  // never: an output is never placed in x
        }
    }

    template <std::size_t I>
    static void infer_from(frame<T> const& f, T const* in, T* y, T* scratch) {
        T* out = infer_output<I>(y, scratch);
        mien::infer<layer<I>>(child(f, I), in, out, scratch + plan.low[I]);
        if constexpr (I + 1 < count) infer_from<I + 1>(f, out, y, scratch);
    }

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
