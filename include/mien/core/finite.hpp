// mien/core/finite.hpp -- checking inputs for NaN and infinity before they reach a network.
//
// mien does not scan inputs on every call (predict must stay cheap and allocation-free), and
// the network cannot be relied on to pass a NaN through to its output: ReLU and max-pool
// compare, and a comparison with NaN is false, so a NaN pixel can come out as an ordinary-
// looking probability. A caller that takes data from outside checks it first:
//
//   if (!mien::all_finite(face)) reject(face);                  // or
//   if (auto i = mien::first_non_finite(face); i < face.size()) report(i);
//
// Built with -ffast-math (-ffinite-math-only), the compiler may assume there is no NaN or
// infinity and fold these checks to "finite": do not use that flag where inputs are untrusted.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

namespace mien {

// The index of the first NaN or infinite value, or values.size() if there is none.
template <class T>
std::size_t first_non_finite(std::span<T const> values) {
    for (std::size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(values[i])) return i;
    return values.size();
}

// The same for any contiguous container: std::vector, std::array, std::span<T>, a network's output.
template <class Container>
    requires requires(Container const& c) { std::span(c.data(), c.size()); }
std::size_t first_non_finite(Container const& c) {
    using T = std::remove_cvref_t<decltype(*c.data())>;
    return first_non_finite(std::span<T const>(c.data(), c.size()));
}

// True when no value is NaN or infinite (an empty input is finite).
template <class Values>
bool all_finite(Values const& values) {
    return first_non_finite(values) == values.size();
}

}  // namespace mien
