// mien/train/class_weights.hpp -- class weights that undo a training set's imbalance.
//
//   auto w = mien::balanced_class_weights<float, 7>(train.labels);   // FER2013: disgust 436, happy 7,215
//   tr->set_class_weights(w);
//
// "Balanced" weights, as scikit-learn defines them: w_k = n / (C n_k) over the C classes that
// occur, so every class contributes the same total weight and the mean weight per face is 1.
// A class with no face gets 0 (it cannot be learned from this set anyway).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../core/error.hpp"

namespace mien {

template <class T, std::size_t K>
std::array<T, K> balanced_class_weights(std::span<std::int32_t const> labels) {
    std::array<std::size_t, K> counts{};
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || std::size_t(labels[i]) >= K)
            fail("balanced_class_weights: label %d of face %zu is outside [0, %zu)", int(labels[i]), i, K);
        ++counts[std::size_t(labels[i])];
    }
    std::size_t present = 0;
    for (auto c : counts) present += c > 0;
    if (present == 0) fail("balanced_class_weights: no labels (an empty training set)");
    std::array<T, K> w{};
    for (std::size_t k = 0; k < K; ++k)
        if (counts[k] > 0) w[k] = T(double(labels.size()) / (double(present) * double(counts[k])));
    return w;
}

}  // namespace mien
