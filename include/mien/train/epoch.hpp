// mien/train/epoch.hpp -- one seeded training epoch over an in-memory data set.
//
//   auto tr = std::make_unique<mien::trainer<net_t, 32, mien::adam, 2>>(net, {}, seed, 2);
//   for (std::size_t e = 0; e < epochs; ++e) {
//       mien::epoch_options o{.seed = seed, .epoch = e, .total_steps = epochs * mien::batches_per_epoch(*tr, train)};
//       mien::train_epoch(*tr, train, o);
//       std::printf("%f\n", mien::evaluate(*tr, val, true).accuracy);   // evaluate.hpp
//   }
//
// Per batch: the shuffled faces, augmented (data/augment.hpp); the learning rate of the
// one-cycle schedule (or constant); then one trainer step on the faces' targets: hard labels
// (with label smoothing), optionally blended with per-face soft rows (targets.hpp), mixed
// pairwise (mixup), and blended with a teacher's softened predictions on the same augmented
// images (knowledge distillation, distill.hpp).
//
// Determinism: the epoch's shuffle comes from (seed, epoch); every batch draws its augmentation
// and mixup from a generator seeded by (seed, epoch, batch), its dropout masks from one seeded by
// (seed ^ 0xD50, epoch, batch) and its FER+ label draws from one seeded by (seed ^ 0x1ABE1,
// epoch, batch); the trainer sums the threads' gradients in a fixed order, and a teacher is a
// deterministic function of the images. So a seed and a thread count give the same weights on
// every run, and a run resumed at a batch continues exactly as an uninterrupted one.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../data/augment.hpp"
#include "../data/dataset.hpp"
#include "schedule.hpp"
#include "targets.hpp"

namespace mien {

inline std::uint64_t batch_seed(std::uint64_t seed, std::size_t epoch, std::size_t batch) {
    random_generator g(seed * 0x9E3779B97F4A7C15ull ^ (epoch << 32) ^ batch);
    return g.next();
}

// The shuffled order of one epoch (depends only on seed and epoch).
inline std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::size_t epoch) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    random_generator g(batch_seed(seed, epoch, ~std::size_t{0}));
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[g.below(i)]);
    return order;
}

// A teacher for distillation: writes n x K probabilities for n images (n x inputs values).
// It must be a deterministic function of the images (inference mode) for runs to be repeatable.
using teacher_function = std::function<void(std::span<float const> images, std::size_t n, float* out)>;

struct epoch_options {
    std::uint64_t seed = 1;
    std::size_t epoch = 0;        // 0-based
    std::size_t first_batch = 0;  // > 0 when resuming inside the epoch
    std::size_t total_steps = 1;  // of the whole run, for the schedule
    double lr = 3e-3;             // peak (one-cycle, cosine) or constant rate
    lr_schedule schedule = lr_schedule::one_cycle;
    double label_smoothing = 0.0;
    double mixup_alpha = 0.0;  // > 0: mixup (Zhang et al. 2018), lambda ~ Beta(alpha, alpha) per batch
    augment_options augment;
    // Soft rows per face of the data set (targets.hpp), blended into the hard target with
    // soft_weight; with draw_labels, each face's row is replaced by a one-hot class drawn from it
    // (FER+ "probability": a new draw every epoch).
    soft_targets const* soft = nullptr;
    double soft_weight = 0.0;
    bool draw_labels = false;
    // Distillation: target = (1 - teacher_weight) target + teacher_weight teacher(images).
    teacher_function teacher;
    double teacher_weight = 0.0;
};

struct epoch_result {
    enum status_t { done, interrupted, not_finite } status = done;
    std::size_t batch = 0;  // where it stopped (interrupted, not_finite) or the batch count (done)
    double loss = 0;        // of the last step when not_finite
    double mean_loss = 0, accuracy = 0;  // over the batches trained (augmented faces)
    std::size_t seen = 0;
};

// Called after every batch with (batches done, mean loss so far, accuracy so far).
using batch_callback = std::function<void(std::size_t, double, double)>;

template <class Trainer>
std::size_t batches_per_epoch(dataset const& d) {
    return (d.size() + Trainer::batch - 1) / Trainer::batch;
}
template <class Trainer>
std::size_t batches_per_epoch(Trainer const&, dataset const& d) {
    return batches_per_epoch<Trainer>(d);
}

namespace detail {

// Mixup's draws for one batch: lambda folded to >= 0.5 (so that the face's own label
// dominates; labels[s] stays the dominant one) and a seeded partner permutation.
inline double mixup_draw(std::vector<std::size_t>& partner, std::size_t n, double alpha, random_generator& rng) {
    double lambda = rng.beta(alpha, alpha);
    lambda = std::max(lambda, 1 - lambda);
    std::iota(partner.begin(), partner.begin() + std::ptrdiff_t(n), std::size_t{0});
    for (std::size_t i = n; i > 1; --i) std::swap(partner[i - 1], partner[rng.below(i)]);
    return lambda;
}

inline void mix_images(std::vector<float> const& images, std::vector<float>& mixed, std::vector<std::size_t> const& partner,
                       std::size_t n, std::size_t I, double lambda) {
    float const a = float(lambda), b = float(1 - lambda);
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t k = 0; k < I; ++k) mixed[s * I + k] = a * images[s * I + k] + b * images[partner[s] * I + k];
}

// Mixup with hard labels: images and (smoothed) one-hot targets blended alike. Kept as its own
// arithmetic so that runs without soft targets reproduce their earlier results bit for bit.
template <class Trainer>
double mixup_step(Trainer& tr, std::vector<float> const& images, std::vector<float>& mixed, std::vector<float>& targets,
                  std::vector<std::int32_t> const& labels, std::vector<std::size_t>& partner, std::size_t n,
                  epoch_options const& o, random_generator& rng) {
    constexpr std::size_t I = Trainer::inputs, K = Trainer::outputs;
    double const lambda = mixup_draw(partner, n, o.mixup_alpha, rng);
    double const e = o.label_smoothing;
    mix_images(images, mixed, partner, n, I, lambda);
    for (std::size_t s = 0; s < n; ++s) {
        std::size_t const p = partner[s];
        for (std::size_t k = 0; k < K; ++k) {
            double const own = std::size_t(labels[s]) == k ? 1.0 : 0.0, other = std::size_t(labels[p]) == k ? 1.0 : 0.0;
            targets[s * K + k] = float((1 - e) * (lambda * own + (1 - lambda) * other) + e / double(K));
        }
    }
    return tr.step_soft(std::span<float const>(mixed.data(), n * I), std::span<float const>(targets.data(), n * K));
}

}  // namespace detail

// Trains tr on one epoch of d. `interrupted` (may be null) is checked before every batch;
// `on_batch` (may be empty) is called after every batch.
template <class Trainer>
epoch_result train_epoch(Trainer& tr, dataset const& d, epoch_options const& o, std::atomic<bool> const* interrupted = nullptr,
                         batch_callback const& on_batch = {}) {
    constexpr std::size_t B = Trainer::batch, I = Trainer::inputs, K = Trainer::outputs;
    bool const soft_path = o.soft != nullptr || bool(o.teacher);
    if (o.soft && (o.soft->classes != K || o.soft->size() != d.size()))
        fail("train_epoch: soft targets of %zu faces x %zu classes for a data set of %zu faces and a %zu-class network",
             o.soft->size(), o.soft->classes, d.size(), K);
    if (o.draw_labels && !o.soft) fail("train_epoch: draw_labels needs soft targets to draw from");
    if (soft_path && tr.has_class_weights())
        fail("train_epoch: soft targets and distillation carry no class weight; clear the trainer's class weights");
    std::size_t const steps = batches_per_epoch<Trainer>(d);
    auto const order = epoch_order(d.size(), o.seed, o.epoch);
    bool const mixing = o.mixup_alpha > 0;
    std::vector<float> images(B * I), face(I), mixed(mixing ? B * I : 0), targets(B * K);
    std::vector<float> base(soft_path ? B * K : 0), taught(o.teacher ? B * K : 0), drawn(o.draw_labels ? K : 0);
    std::vector<std::int32_t> labels(B);
    std::vector<std::size_t> partner(B), index(B);
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
        random_generator rng(batch_seed(o.seed, o.epoch, b));
        for (std::size_t s = 0; s < n; ++s) {
            std::size_t const i = order[first + s];
            d.to_float(i, face.data());
            augment(face.data(), images.data() + s * I, d.side, o.augment, rng);
            labels[s] = d.labels[i];
            index[s] = i;
        }
        std::size_t const step = o.epoch * steps + b;
        tr.optimizer().set_learning_rate(learning_rate(o.schedule, step, o.total_steps, o.lr));
        tr.rng().set_state(batch_seed(o.seed ^ 0xD50u, o.epoch, b));  // dropout masks
        double loss;
        if (!soft_path) {
            loss = mixing ? detail::mixup_step(tr, images, mixed, targets, labels, partner, n, o, rng)
                          : tr.step(std::span<float const>(images.data(), n * I),
                                    std::span<std::int32_t const>(labels.data(), n), o.label_smoothing);
        } else {
            random_generator draws(batch_seed(o.seed ^ 0x1ABE1u, o.epoch, b));
            for (std::size_t s = 0; s < n; ++s) {
                float const* soft = o.soft && o.soft->has(index[s]) ? o.soft->row(index[s]) : nullptr;
                if (soft && o.draw_labels) {
                    std::fill(drawn.begin(), drawn.end(), 0.0f);
                    drawn[draw_class(soft, K, draws)] = 1.0f;
                    soft = drawn.data();
                }
                face_target(K, labels[s], o.label_smoothing, soft, o.soft_weight, base.data() + s * K);
            }
            float const* input = images.data();
            if (mixing) {
                double const lambda = detail::mixup_draw(partner, n, o.mixup_alpha, rng);
                detail::mix_images(images, mixed, partner, n, I, lambda);
                for (std::size_t s = 0; s < n; ++s)
                    for (std::size_t k = 0; k < K; ++k)
                        targets[s * K + k] = float(lambda * base[s * K + k] + (1 - lambda) * base[partner[s] * K + k]);
                input = mixed.data();
            } else {
                std::copy(base.begin(), base.begin() + std::ptrdiff_t(n * K), targets.begin());
            }
            if (o.teacher) {
                // The teacher sees exactly the images the student sees (augmented, mixed).
                o.teacher(std::span<float const>(input, n * I), n, taught.data());
                double const w = o.teacher_weight;
                for (std::size_t k = 0; k < n * K; ++k) targets[k] = float((1 - w) * targets[k] + w * taught[k]);
            }
            loss = tr.step_soft(std::span<float const>(input, n * I), std::span<float const>(targets.data(), n * K));
        }
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
        if (on_batch) on_batch(b + 1, r.mean_loss, r.accuracy);
    }
    r.batch = steps;
    return r;
}

}  // namespace mien
