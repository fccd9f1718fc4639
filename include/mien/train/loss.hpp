// mien/train/loss.hpp -- softmax cross-entropy on logits.
//
//   loss = -(1/n) sum_s sum_k t_sk log softmax(z_s)_k,   dz = (softmax(z) - t) / n
// with t the one-hot label, optionally smoothed: t = (1 - e) onehot + e / K.
#pragma once

#include <cmath>
#include <cstddef>
#include <algorithm>
#include <cstdint>

#include "../core/error.hpp"
#include "../core/softmax.hpp"

namespace mien {

// Returns the mean loss over n samples of K logits each and writes dz (n x K). Labels must be
// in [0, K); probabilities (n x K) are written to `probs`.
template <class T>
double softmax_cross_entropy(std::size_t n, std::size_t K, T const* logits, std::int32_t const* labels, T* probs,
                             T* dz, double smoothing = 0.0) {
    double total = 0;
    for (std::size_t s = 0; s < n; ++s) {
        if (labels[s] < 0 || std::size_t(labels[s]) >= K)
            fail("softmax_cross_entropy: label %d of sample %zu is outside [0, %zu)", int(labels[s]), s, K);
        T const* z = logits + s * K;
        T* p = probs + s * K;
        detail::softmax(K, z, p);
        for (std::size_t k = 0; k < K; ++k) {
            double const target = (1.0 - smoothing) * (std::size_t(labels[s]) == k ? 1.0 : 0.0) + smoothing / double(K);
            if (target > 0) total -= target * std::log(std::max(double(p[k]), 1e-30));
            if (dz) dz[s * K + k] = T((double(p[k]) - target) / double(n));
        }
    }
    return total / double(n);
}

}  // namespace mien
