// mien/blocks/concat.hpp -- several branches on the same input, outputs joined along channels.
//
// concat<dot_product_attention, additive_attention> runs both attentions on the same tokens and
// gives an HxWx(C1 + C2 + ...) map. Every branch must produce the same height and width.
// params, macs, state: the sums over branches. Backward adds the branches' input gradients.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>

#include "../core/layer.hpp"
#include "../core/vector_ops.hpp"
#include "../core/sequential.hpp"

namespace mien {

template <Shape In, class T, class... Bs>
struct concat_layer {
    static_assert(sizeof...(Bs) > 0, "concat: needs at least one branch");
    static_assert((Layer<Bs> && ...), "concat: a branch is not a Layer (see the unsatisfied requirement below)");
    static constexpr std::size_t count = sizeof...(Bs);
    template <std::size_t I>
    using branch = std::tuple_element_t<I, std::tuple<Bs...>>;
    using first = typename branch<0>::output_shape;
    static_assert(((Bs::output_shape::height == first::height) && ...), "concat: branch output heights differ");
    static_assert(((Bs::output_shape::width == first::width) && ...), "concat: branch output widths differ");

    static constexpr std::size_t channels = (Bs::output_shape::channels + ...);
    using input_shape = In;
    using output_shape = shape<first::height, first::width, channels>;
    using scalar = T;
    static constexpr std::string_view name = "concat";
    static constexpr std::array<double, 0> settings{};
    static constexpr std::size_t params = (Bs::params + ...);
    static constexpr std::size_t state_size = (Bs::state_size + ...);
    static constexpr std::size_t macs = (Bs::macs + ...);
    static constexpr std::size_t temp_size = std::max({Bs::temp_size...});
    static constexpr auto param_at = detail::prefix_sums(std::array<std::size_t, count>{Bs::params...});
    static constexpr auto state_at = detail::prefix_sums(std::array<std::size_t, count>{Bs::state_size...});
    static constexpr auto channel_at = detail::prefix_sums(std::array<std::size_t, count>{Bs::output_shape::channels...});
    // Saved per sample, per branch: [branch saved][branch output][its input gradient]
    static constexpr auto saved_at = detail::prefix_sums(
        std::array<std::size_t, count>{(Bs::saved_per_sample + Bs::output_shape::size + In::size)...});
    static constexpr std::size_t saved_per_sample = saved_at[count];

    static frame<T> child(frame<T> const& f, std::size_t i) { return f.child(param_at[i], state_at[i], saved_at[i]); }
    template <std::size_t I>
    static T* out_of(frame<T> const& f) { return f.saved + f.n * (saved_at[I] + branch<I>::saved_per_sample); }
    template <std::size_t I>
    static T* dout_of(frame<T> const& f) { return f.dsaved + f.n * (saved_at[I] + branch<I>::saved_per_sample); }
    template <std::size_t I>
    static T* din_of(frame<T> const& f) {
        return f.dsaved + f.n * (saved_at[I] + branch<I>::saved_per_sample + branch<I>::output_shape::size);
    }

    static void init(T* p, T* s, random_generator& rng) {
        std::size_t i = 0;
        ((Bs::init(p + param_at[i], s + state_at[i], rng), ++i), ...);
    }

    template <class Self, class F>
    static constexpr void visit(F&& f, std::size_t param_offset, std::size_t state_offset, std::size_t depth) {
        std::size_t i = 0;
        ((Bs::template visit<Bs>(f, param_offset + param_at[i], state_offset + state_at[i], depth + 1), ++i), ...);
    }
    template <class V>
    static constexpr void for_each_tensor(V&&) {}

    static void forward(frame<T> const& f, T const* x, T* y) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((branch<I>::forward(child(f, I), x, out_of<I>(f)), interleave<I>(f.n, out_of<I>(f), y)), ...);
        }(std::make_index_sequence<count>{});
    }

    // Prediction: one branch at a time, its output at the front of the scratch and its own
    // scratch behind it, then its channels go to their place in y.
    static constexpr std::size_t infer_size =
        std::max({(arena_round<T>(Bs::output_shape::size) + mien::infer_size<Bs>)...});
    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((mien::infer<branch<I>>(child(f, I), x, scratch, scratch + arena_round<T>(branch<I>::output_shape::size)),
              interleave<I>(1, scratch, y)),
             ...);
        }(std::make_index_sequence<count>{});
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        if (dx) detail::fill(f.n * In::size, T(0), dx);
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (backward_branch<I>(f, x, dy, dx), ...);
        }(std::make_index_sequence<count>{});
    }

private:
    // Copies branch I's channels into their place in every output pixel.
    template <std::size_t I>
    static void interleave(std::size_t n, T const* src, T* y) {
        constexpr std::size_t c = branch<I>::output_shape::channels;
        for (std::size_t p = 0; p < n * first::pixels; ++p) detail::copy(c, src + p * c, y + p * channels + channel_at[I]);
    }

    template <std::size_t I>
    static void backward_branch(frame<T> const& f, T const* x, T const* dy, T* dx) {
        constexpr std::size_t c = branch<I>::output_shape::channels;
        T* dout = dout_of<I>(f);
        for (std::size_t p = 0; p < f.n * first::pixels; ++p) detail::copy(c, dy + p * channels + channel_at[I], dout + p * c);
        T* din = dx ? din_of<I>(f) : nullptr;
        branch<I>::backward(child(f, I), x, out_of<I>(f), dout, din);
        if (dx) detail::add_to(f.n * In::size, din, dx);
    }
};

// concat<Branches...>
template <class... Branches>
struct concat {
    template <Shape In, class T>
    using bind = concat_layer<In, T, mien::bind<Branches, In, T>...>;
};

}  // namespace mien
