// mien/core/fast_math.hpp -- a vectorised tanh for float.
//
// Additive attention evaluates tanh N*N*D times per face (82,944 for the paper network), so a
// scalar std::tanh would cost more than all the convolutions. This is a rational minimax
// approximation x * P(x^2) / Q(x^2) on [-7.9, 7.9] (beyond that tanh is +-1 in float), with a
// maximum error of a few float ulps. Double precision keeps std::tanh: the gradient checks
// run in double and need tanh and its derivative 1 - tanh^2 to agree exactly.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "simd.hpp"

namespace mien::detail {

template <class B>
inline B tanh_rational(B x) {
    using T = typename B::value_type;
    B const limit(T(7.90531110763549805));
    x = detail::select(x > limit, limit, detail::select(x < -limit, -limit, x));
    B const x2 = x * x;
    B p(T(-2.76076847742355e-16));
    p = detail::fma(p, x2, B(T(2.00018790482477e-13)));
    p = detail::fma(p, x2, B(T(-8.60467152213735e-11)));
    p = detail::fma(p, x2, B(T(5.12229709037114e-08)));
    p = detail::fma(p, x2, B(T(1.48572235717979e-05)));
    p = detail::fma(p, x2, B(T(6.37261928875436e-04)));
    p = detail::fma(p, x2, B(T(4.89352455891786e-03)));
    B q(T(1.19825839466702e-06));
    q = detail::fma(q, x2, B(T(1.18534705686654e-04)));
    q = detail::fma(q, x2, B(T(2.26843463243900e-03)));
    q = detail::fma(q, x2, B(T(4.89352518554385e-03)));
    return x * p / q;
}

// out[i] = tanh(a[i] + b[i]); returns sum_i out[i] * w[i].
template <class T>
inline T tanh_sum_dot(std::size_t n, T const* a, T const* b, T const* w, T* out) {
    std::size_t i = 0;
    T sum = 0;
    if constexpr (std::is_same_v<T, float>) {
        using batch = simd_batch<T>;
        batch acc(T(0));
        for (std::size_t const full = n - n % batch::size; i < full; i += batch::size) {
            batch const h = tanh_rational(batch::load_unaligned(a + i) + batch::load_unaligned(b + i));
            h.store_unaligned(out + i);
            acc = detail::fma(h, batch::load_unaligned(w + i), acc);
        }
        alignas(64) T lanes[batch::size];
        acc.store_aligned(lanes);
        for (std::size_t l = 0; l < batch::size; ++l) sum += lanes[l];
    }
    for (; i < n; ++i) {
        out[i] = std::tanh(a[i] + b[i]);
        sum += out[i] * w[i];
    }
    return sum;
}

}  // namespace mien::detail
