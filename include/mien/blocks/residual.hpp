// mien/blocks/residual.hpp -- a branch plus a shortcut: y = shortcut(x) + branch(x).
//
// residual<Branch> uses the identity shortcut (the paper's separable blocks:
// y = x + BN(PW(DW(x))), the ReLU follows outside). residual<Branch, Shortcut> projects the
// shortcut (for example sequential<pointwise<64>, batch_norm>) when the branch changes the
// shape. Both paths must end in the same shape; the check names the differing dimension.
// params, macs, state: those of branch and shortcut. Backward: dx = dbranch(dy) + dshortcut(dy).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "../core/layer.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

// The identity shortcut (a layer of its own, so residual has one code path).
template <Shape In, class T>
struct identity_layer : parameterless_layer<In, T, In> {
    static constexpr std::string_view name = "identity";
    static constexpr bool in_place = true;
    static void forward(frame<T> const& f, T const* x, T* y) {
        if (x != y) detail::copy(f.n * In::size, x, y);
    }
    static void backward(frame<T> const& f, T const*, T const*, T const* dy, T* dx) {
        if (dx) detail::copy(f.n * In::size, dy, dx);
    }
};

struct identity {
    template <Shape In, class T>
    using bind = identity_layer<In, T>;
};

template <Shape In, class T, class B, class S>
struct residual_layer {
    static_assert(Layer<B>, "residual: the branch is not a Layer (see the unsatisfied requirement below)");
    static_assert(Layer<S>, "residual: the shortcut is not a Layer (see the unsatisfied requirement below)");
    static_assert(B::output_shape::height == S::output_shape::height, "residual: branch output height != shortcut height");
    static_assert(B::output_shape::width == S::output_shape::width, "residual: branch output width != shortcut width");
    static_assert(B::output_shape::channels == S::output_shape::channels,
                  "residual: branch output channels != shortcut channels");
    using input_shape = In;
    using output_shape = plain_shape<typename B::output_shape>;
    using scalar = T;
    static constexpr std::string_view name = "residual";
    static constexpr std::array<double, 0> settings{};
    static constexpr std::size_t params = B::params + S::params;
    static constexpr std::size_t state_size = B::state_size + S::state_size;
    static constexpr std::size_t macs = B::macs + S::macs;
    static constexpr std::size_t temp_size = std::max(B::temp_size, S::temp_size);
    // Saved per sample: [branch saved][branch out][shortcut saved][shortcut out][dx of shortcut]
    static constexpr std::size_t out = output_shape::size;
    static constexpr std::size_t shortcut_at = B::saved_per_sample + out;
    static constexpr std::size_t spare_at = shortcut_at + S::saved_per_sample + out;
    static constexpr std::size_t saved_per_sample = spare_at + In::size;

    static frame<T> branch(frame<T> const& f) { return f.child(0, 0, 0); }
    static frame<T> shortcut(frame<T> const& f) { return f.child(B::params, B::state_size, shortcut_at); }
    static T* branch_out(frame<T> const& f) { return f.saved + f.n * B::saved_per_sample; }
    static T* shortcut_out(frame<T> const& f) { return f.saved + f.n * (shortcut_at + S::saved_per_sample); }

    static void init(T* p, T* s, random_generator& rng) {
        B::init(p, s, rng);
        S::init(p + B::params, s + B::state_size, rng);
    }

    template <class Self, class F>
    static constexpr void visit(F&& f, std::size_t param_offset, std::size_t state_offset, std::size_t depth) {
        B::template visit<B>(f, param_offset, state_offset, depth + 1);
        S::template visit<S>(f, param_offset + B::params, state_offset + B::state_size, depth + 1);
    }
    template <class V>
    static constexpr void for_each_tensor(V&&) {}

    static void forward(frame<T> const& f, T const* x, T* y) {
        B::forward(branch(f), x, branch_out(f));
        S::forward(shortcut(f), x, shortcut_out(f));
        detail::add(f.n * out, branch_out(f), shortcut_out(f), y);
    }

    // Prediction: the branch writes y directly; an identity shortcut is added from x, another
    // shortcut's output gets the front of the scratch, its own scratch behind it.
    static constexpr bool identity_shortcut = std::is_same_v<S, identity_layer<In, T>>;
    static constexpr std::size_t infer_size =
        identity_shortcut ? mien::infer_size<B> : std::max(mien::infer_size<B>, arena_round<T>(out) + mien::infer_size<S>);
    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
        mien::infer<B>(branch(f), x, y, scratch);
        if constexpr (identity_shortcut) {
            detail::add_to(out, x, y);
        } else {
            mien::infer<S>(shortcut(f), x, scratch, scratch + arena_round<T>(out));
            detail::add_to(out, scratch, y);
        }
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        // The sum passes dy unchanged to both paths.
        B::backward(branch(f), x, branch_out(f), dy, dx);
        T* spare = dx ? f.dsaved + f.n * spare_at : nullptr;
        S::backward(shortcut(f), x, shortcut_out(f), dy, spare);
        if (dx) detail::add_to(f.n * In::size, spare, dx);
    }
};

// residual<Branch, Shortcut = identity>
template <class Branch, class Shortcut = identity>
struct residual {
    template <Shape In, class T>
    using bind = residual_layer<In, T, mien::bind<Branch, In, T>, mien::bind<Shortcut, In, T>>;
};

}  // namespace mien
