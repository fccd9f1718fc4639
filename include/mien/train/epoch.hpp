// examples/common/train_epoch.hpp -- one seeded training epoch over an in-memory data set.
//
// Shared by mien-train (a whole FER2013 run) and mien-crossval (one fine-tuning per fold).
//
// Determinism: the epoch's shuffle comes from (seed, epoch); every batch draws its augmentation
// from a generator seeded by (seed, epoch, batch) and its dropout masks from one seeded by
// (seed ^ 0xD50, epoch, batch); the trainer sums the threads' gradients in a fixed order. So a
// seed and a thread count give the same weights on every run, and a run resumed at a batch
// continues exactly as an uninterrupted one.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include <mien/core/random.hpp>
#include <mien/data/augment.hpp>
#include <mien/data/dataset.hpp>
#include <mien/train/schedule.hpp>

#include "progress.hpp"

inline std::uint64_t batch_seed(std::uint64_t seed, std::size_t epoch, std::size_t batch) {
    mien::random_generator g(seed * 0x9E3779B97F4A7C15ull ^ (epoch << 32) ^ batch);
    return g.next();
}

// The shuffled order of one epoch (depends only on seed and epoch).
inline std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::size_t epoch) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    mien::random_generator g(batch_seed(seed, epoch, ~std::size_t{0}));
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[g.below(i)]);
    return order;
}

struct epoch_options {
    std::uint64_t seed = 1;
    std::size_t epoch = 0;        // 0-based
    std::size_t first_batch = 0;  // > 0 when resuming inside the epoch
    std::size_t total_steps = 1;  // of the whole run, for the one-cycle schedule
    double lr = 3e-3;             // peak (one-cycle) or constant rate
    bool one_cycle = true;
    double label_smoothing = 0.0;
    double mixup_alpha = 0.0;  // > 0: mixup (Zhang et al. 2018), lambda ~ Beta(alpha, alpha) per batch
    mien::augment_options augment;
};

struct epoch_result {
    enum status_t { done, interrupted, not_finite } status = done;
    std::size_t batch = 0;  // where it stopped (interrupted, not_finite) or the batch count (done)
    double loss = 0;        // of the last step when not_finite
    double mean_loss = 0, accuracy = 0;  // over the batches trained (augmented faces)
    std::size_t seen = 0;
};

template <class Trainer>
std::size_t batches_per_epoch(mien::dataset const& d) {
    return (d.size() + Trainer::batch - 1) / Trainer::batch;
}

// Mixup: each face of the batch is blended with a partner from the same batch (a seeded
// permutation), images and (smoothed) one-hot targets alike, with one lambda per batch folded to
// >= 0.5 so that the face's own label dominates (labels[s] is left as the dominant one).
template <class Trainer>
double mixup_step(Trainer& tr, std::vector<float> const& images, std::vector<float>& mixed, std::vector<float>& targets,
                  std::vector<std::int32_t> const& labels, std::vector<std::size_t>& partner, std::size_t n,
                  epoch_options const& o, mien::random_generator& rng) {
    constexpr std::size_t I = Trainer::inputs, K = Trainer::outputs;
    double lambda = rng.beta(o.mixup_alpha, o.mixup_alpha);
    lambda = std::max(lambda, 1 - lambda);
    std::iota(partner.begin(), partner.begin() + std::ptrdiff_t(n), std::size_t{0});
    for (std::size_t i = n; i > 1; --i) std::swap(partner[i - 1], partner[rng.below(i)]);
    double const e = o.label_smoothing;
    float const a = float(lambda), b = float(1 - lambda);
    for (std::size_t s = 0; s < n; ++s) {
        std::size_t const p = partner[s];
        for (std::size_t k = 0; k < I; ++k) mixed[s * I + k] = a * images[s * I + k] + b * images[p * I + k];
        for (std::size_t k = 0; k < K; ++k) {
            double const own = std::size_t(labels[s]) == k ? 1.0 : 0.0, other = std::size_t(labels[p]) == k ? 1.0 : 0.0;
            targets[s * K + k] = float((1 - e) * (lambda * own + (1 - lambda) * other) + e / double(K));
        }
    }
    return tr.step_soft(std::span<float const>(mixed.data(), n * I), std::span<float const>(targets.data(), n * K));
}

// Trains tr on one epoch of d. `interrupted` (may be null) is checked before every batch;
// `bar` (may be null) is updated after every batch.
template <class Trainer>
epoch_result train_epoch(Trainer& tr, mien::dataset const& d, epoch_options const& o,
                         std::atomic<bool> const* interrupted = nullptr, progress* bar = nullptr) {
    constexpr std::size_t B = Trainer::batch, I = Trainer::inputs, K = Trainer::outputs;
    std::size_t const steps = batches_per_epoch<Trainer>(d);
    auto const order = epoch_order(d.size(), o.seed, o.epoch);
    std::vector<float> images(B * I), face(I), mixed(o.mixup_alpha > 0 ? B * I : 0), targets(B * K);
    std::vector<std::int32_t> labels(B);
    std::vector<std::size_t> partner(B);
    double loss_sum = 0;
    std::size_t correct = 0;
    epoch_result r;
    for (std::size_t b = o.first_batch; b < steps; ++b) {
        if (interrupted && *interrupted) {
            r.status = epoch_result::interrupted;
            r.batch = b;
            return r;
        }
        std::size_t const first = b * B, n = std::min<std::size_t>(B, d.size() - first);
        mien::random_generator rng(batch_seed(o.seed, o.epoch, b));
        for (std::size_t s = 0; s < n; ++s) {
            std::size_t const i = order[first + s];
            d.to_float(i, face.data());
            mien::augment(face.data(), images.data() + s * I, d.side, o.augment, rng);
            labels[s] = d.labels[i];
        }
        std::size_t const step = o.epoch * steps + b;
        tr.optimizer().set_learning_rate(o.one_cycle ? mien::one_cycle_rate(step, o.total_steps, o.lr) : o.lr);
        tr.rng().set_state(batch_seed(o.seed ^ 0xD50u, o.epoch, b));  // dropout masks
        double const loss = o.mixup_alpha > 0 ? mixup_step(tr, images, mixed, targets, labels, partner, n, o, rng)
                                              : tr.step(std::span<float const>(images.data(), n * I),
                                                        std::span<std::int32_t const>(labels.data(), n), o.label_smoothing);
        if (!std::isfinite(loss)) {
            r.status = epoch_result::not_finite;
            r.batch = b;
            r.loss = loss;
            return r;
        }
        auto probs = tr.last_probabilities();
        for (std::size_t s = 0; s < n; ++s) {
            auto row = probs.subspan(s * K, K);
            correct += std::size_t(std::max_element(row.begin(), row.end()) - row.begin()) == std::size_t(labels[s]);
        }
        loss_sum += loss * double(n);
        r.seen += n;
        r.mean_loss = loss_sum / double(r.seen);
        r.accuracy = double(correct) / double(r.seen);
        if (bar) bar->update(b + 1, r.mean_loss, r.accuracy);
    }
    r.batch = steps;
    return r;
}
