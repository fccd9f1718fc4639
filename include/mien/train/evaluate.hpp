// mien/train/evaluate.hpp -- accuracy, loss and confusion matrix of a network on a data set.
//
//   auto tr = std::make_unique<mien::trainer<net_t, 32>>(net);
//   mien::evaluation e = mien::evaluate(*tr, val, {.flip = true});
//   mien::classification_report r = mien::report_from_confusion(e.confusion);   // metrics.hpp
//
// Runs the trainer's batch inference (running batch-norm statistics, no dropout) over every
// face. With `flip`, each face's probabilities are averaged with those of its mirror image
// (test-time flip averaging); with `keep_probabilities`, the (averaged) n x K probabilities
// are returned too, e.g. to write them to a file.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../data/augment.hpp"
#include "../data/dataset.hpp"

namespace mien {

struct evaluation {
    double accuracy = 0, loss = 0;
    std::vector<std::vector<std::size_t>> confusion;  // [true][predicted]
    std::vector<std::int32_t> predictions;
    std::vector<float> probabilities;  // size() x K when asked for, else empty
};

struct evaluate_options {
    bool flip = false;                // average with the mirror image
    bool keep_probabilities = false;  // fill evaluation::probabilities
};

template <class Trainer>
evaluation evaluate(Trainer& tr, dataset const& data, evaluate_options const& o) {
    constexpr std::size_t B = Trainer::batch, I = Trainer::inputs, K = Trainer::outputs;
    if (data.face_size() != I)
        fail("evaluate: the data set's faces have %zu pixels, the network takes %zu inputs", data.face_size(), I);
    // Before any work: a label the model cannot output is a wrong pairing of model and data.
    for (std::size_t i = 0; i < data.size(); ++i)
        if (data.labels[i] < 0 || std::size_t(data.labels[i]) >= K)
            fail("evaluate: face %zu (%s) has label %d, outside the model's %zu classes", i, data.sources[i].c_str(),
                 int(data.labels[i]), K);
    evaluation e;
    e.confusion.assign(K, std::vector<std::size_t>(K, 0));
    if (o.keep_probabilities) e.probabilities.reserve(data.size() * K);
    std::vector<float> images(B * I), mirrored(B * I), probs(B * K);
    std::size_t correct = 0;
    for (std::size_t first = 0; first < data.size(); first += B) {
        std::size_t const n = std::min(B, data.size() - first);
        for (std::size_t s = 0; s < n; ++s) {
            data.to_float(first + s, images.data() + s * I);
            mirror(images.data() + s * I, mirrored.data() + s * I, data.side);
        }
        auto p = tr.predict_batch(std::span<float const>(images.data(), n * I));
        std::copy(p.begin(), p.end(), probs.begin());
        if (o.flip) {
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
        if (o.keep_probabilities) e.probabilities.insert(e.probabilities.end(), probs.begin(), probs.begin() + std::ptrdiff_t(n * K));
    }
    if (data.size()) {
        e.accuracy = double(correct) / double(data.size());
        e.loss /= double(data.size());
    }
    return e;
}

template <class Trainer>
evaluation evaluate(Trainer& tr, dataset const& data, bool flip = false) {
    return evaluate(tr, data, evaluate_options{.flip = flip});
}

}  // namespace mien
