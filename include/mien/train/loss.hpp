// mien/train/loss.hpp -- softmax cross-entropy on logits.
//
//   loss = -(1/n) sum_s sum_k t_sk log softmax(z_s)_k,   dz = (softmax(z) - t) / n
// with t the one-hot label, optionally smoothed: t = (1 - e) onehot + e / K.
//
// With class weights w (K values, e.g. to counter class imbalance), sample s counts w[y_s]
// times and the mean is taken over the weights, as PyTorch's weighted cross-entropy does:
//   loss = -(1/W) sum_s w[y_s] sum_k t_sk log p_sk,   dz_s = w[y_s] (p_s - t_s) / W,  W = sum_s w[y_s]
#pragma once

#include <cmath>
#include <cstddef>
#include <algorithm>
#include <cstdint>

#include "../core/error.hpp"
#include "../core/softmax.hpp"

namespace mien {

// Returns the mean loss over n samples of K logits each and writes dz (n x K). Labels must be
// in [0, K); probabilities (n x K) are written to `probs`. `class_weights` (K values, may be
// null: all 1) weigh each sample by its label's weight.
template <class T>
double softmax_cross_entropy(std::size_t n, std::size_t K, T const* logits, std::int32_t const* labels, T* probs,
                             T* dz, double smoothing = 0.0, T const* class_weights = nullptr) {
    double weight_sum = 0;
    for (std::size_t s = 0; s < n; ++s) {
        if (labels[s] < 0 || std::size_t(labels[s]) >= K)
            fail("softmax_cross_entropy: label %d of sample %zu is outside [0, %zu)", int(labels[s]), s, K);
        weight_sum += class_weights ? double(class_weights[labels[s]]) : 1.0;
    }
    // A batch made only of zero-weight classes teaches nothing: zero loss and gradient.
    if (weight_sum <= 0) weight_sum = 1;
    double total = 0;
    for (std::size_t s = 0; s < n; ++s) {
        double const w = class_weights ? double(class_weights[labels[s]]) : 1.0;
        T const* z = logits + s * K;
        T* p = probs + s * K;
        detail::softmax(K, z, p);
        for (std::size_t k = 0; k < K; ++k) {
            double const target = (1.0 - smoothing) * (std::size_t(labels[s]) == k ? 1.0 : 0.0) + smoothing / double(K);
            if (target > 0 && w > 0) total -= w * target * std::log(std::max(double(p[k]), 1e-30));
            if (dz) dz[s * K + k] = T(w * (double(p[k]) - target) / weight_sum);
        }
    }
    return total / weight_sum;
}

}  // namespace mien
