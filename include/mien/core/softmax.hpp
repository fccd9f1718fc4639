// mien/core/softmax.hpp -- numerically stable softmax and its backward, row by row.
#pragma once

#include <cmath>
#include <cstddef>

namespace mien::detail {

// p = softmax(z) over n values (max subtracted first, so large logits cannot overflow).
template <class T>
inline void softmax(std::size_t n, T const* z, T* p) {
    T m = z[0];
    for (std::size_t i = 1; i < n; ++i) m = z[i] > m ? z[i] : m;
    T sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += (p[i] = std::exp(z[i] - m));
    for (std::size_t i = 0; i < n; ++i) p[i] /= sum;
}

// dz = p * (dp - sum(dp * p)): the gradient through p = softmax(z).
template <class T>
inline void softmax_backward(std::size_t n, T const* p, T const* dp, T* dz) {
    T dot = 0;
    for (std::size_t i = 0; i < n; ++i) dot += dp[i] * p[i];
    for (std::size_t i = 0; i < n; ++i) dz[i] = p[i] * (dp[i] - dot);
}

}  // namespace mien::detail
