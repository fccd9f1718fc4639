// examples/common/evaluate.hpp -- accuracy, loss and confusion matrix of a network on a data set.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <vector>

#include <mien/data/augment.hpp>
#include <mien/data/dataset.hpp>

struct evaluation {
    double accuracy = 0, loss = 0;
    std::vector<std::vector<std::size_t>> confusion;  // [true][predicted]
    std::vector<std::int32_t> predictions;
};

// Runs the trainer's batch inference (running BN statistics) over every face of `data`.
// With `flip`, each face's probabilities are averaged with those of its mirror image.
template <class Trainer>
evaluation evaluate(Trainer& tr, mien::dataset const& data, bool flip = false) {
    constexpr std::size_t B = Trainer::batch, I = Trainer::inputs, K = Trainer::outputs;
    evaluation e;
    e.confusion.assign(K, std::vector<std::size_t>(K, 0));
    std::vector<float> images(B * I), mirrored(B * I), face(I), probs(B * K);
    std::size_t correct = 0;
    for (std::size_t first = 0; first < data.size(); first += B) {
        std::size_t const n = std::min(B, data.size() - first);
        for (std::size_t s = 0; s < n; ++s) {
            data.to_float(first + s, images.data() + s * I);
            mien::mirror(images.data() + s * I, mirrored.data() + s * I, data.side);
        }
        auto p = tr.predict_batch(std::span<float const>(images.data(), n * I));
        std::copy(p.begin(), p.end(), probs.begin());
        if (flip) {
            auto q = tr.predict_batch(std::span<float const>(mirrored.data(), n * I));
            for (std::size_t i = 0; i < n * K; ++i) probs[i] = 0.5f * (probs[i] + q[i]);
        }
        for (std::size_t s = 0; s < n; ++s) {
            float const* row = probs.data() + s * K;
            auto const predicted = std::int32_t(std::max_element(row, row + K) - row);
            auto const truth = data.labels[first + s];
            e.loss -= std::log(std::max(double(row[truth]), 1e-30));
            e.confusion[std::size_t(truth)][std::size_t(predicted)]++;
            e.predictions.push_back(predicted);
            correct += predicted == truth;
        }
    }
    e.accuracy = double(correct) / double(data.size());
    e.loss /= double(data.size());
    return e;
}
