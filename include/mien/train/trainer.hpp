// mien/train/trainer.hpp -- one training step: forward, loss, backward, optimiser update.
//
//   auto tr = std::make_unique<mien::trainer<net_t, 32>>(net);   // sized at compile time
//   double loss = tr->step(images, labels);                      // no allocation per step
//
// The trainer owns everything training needs for a batch of up to B samples: saved
// activations and their gradients, per-thread gradient copies and scratch, the optimiser's
// moments and the thread team (created once). It updates the network it was given.
//
// Determinism: samples are split across threads in fixed contiguous slices, each thread
// accumulates parameter gradients into its own copy, and the copies are summed in thread
// order. For a given seed and thread count, results never depend on timing.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../core/error.hpp"
#include "../core/layer.hpp"
#include "../core/parallel.hpp"
#include "../core/random.hpp"
#include "../core/vector_ops.hpp"
#include "loss.hpp"
#include "optimizer.hpp"

namespace mien {

template <class Net, std::size_t B, template <class, std::size_t> class Optimizer = adam, std::size_t Threads = 1>
class trainer {
public:
    static_assert(B > 0, "trainer: the batch size must be at least 1");
    static_assert(Threads > 0, "trainer: needs at least one thread");
    using T = typename Net::scalar;
    using body = typename Net::body;
    using optimizer_type = Optimizer<T, Net::params>;
    static constexpr std::size_t batch = B;
    static constexpr std::size_t inputs = Net::inputs;
    static constexpr std::size_t outputs = Net::outputs;

    // `threads` (1 to Threads) may use fewer threads than the storage was sized for.
    explicit trainer(Net& net, typename optimizer_type::options o = {}, std::uint64_t seed = 1,
                     std::size_t threads = Threads)
        : net_(net), optimizer_(o), rng_(seed), team_(threads == 0 || threads > Threads ? Threads : threads) {}

    // One step on n <= B samples (inputs n x H*W*C, labels in [0, K)). Returns the mean loss.
    double step(std::span<T const> images, std::span<std::int32_t const> labels, double label_smoothing = 0.0) {
        std::size_t const n = check_batch(images, labels);
        frame<T> f = make_frame(n, true);
        body::forward(f, images.data(), logits_.data());
        double const loss = softmax_cross_entropy(n, outputs, logits_.data(), labels.data(), probs_.data(),
                                                  dlogits_.data(), label_smoothing,
                                                  weighted_ ? class_weights_.data() : nullptr);
        backward_and_update(f, images.data());
        return loss;
    }

    // Weighs each sample of `step` by its class (K values >= 0, not all 0), e.g. from
    // balanced_class_weights; the loss is the weighted mean (see loss.hpp).
    void set_class_weights(std::span<T const> w) {
        if (w.size() != outputs) fail_size("trainer::set_class_weights: class weights", outputs, w.size());
        T sum = 0;
        for (std::size_t k = 0; k < outputs; ++k) {
            if (!(w[k] >= 0) || !std::isfinite(w[k]))
                fail("trainer::set_class_weights: weight %zu is %g; expected a finite value >= 0", k, double(w[k]));
            class_weights_[k] = w[k];
            sum += w[k];
        }
        if (sum <= 0) fail("trainer::set_class_weights: every weight is 0; at least one class must count");
        weighted_ = true;
    }
    void clear_class_weights() { weighted_ = false; }
    bool has_class_weights() const { return weighted_; }

    // Same step with soft targets (n x K rows summing to 1), for mixup and distillation.
    double step_soft(std::span<T const> images, std::span<T const> targets) {
        if (targets.size() % outputs != 0 || images.size() != targets.size() / outputs * inputs)
            fail("trainer::step_soft: %zu input values and %zu target values do not describe the same samples",
                 images.size(), targets.size());
        std::size_t const n = targets.size() / outputs;
        if (n == 0 || n > B) fail("trainer::step_soft: expected 1 to %zu samples, found %zu", B, n);
        frame<T> f = make_frame(n, true);
        body::forward(f, images.data(), logits_.data());
        double loss = 0;
        for (std::size_t s = 0; s < n; ++s) {
            detail::softmax(outputs, logits_.data() + s * outputs, probs_.data() + s * outputs);
            for (std::size_t k = 0; k < outputs; ++k) {
                double const p = double(probs_[s * outputs + k]), t = double(targets[s * outputs + k]);
                if (t > 0) loss -= t * std::log(p > 1e-30 ? p : 1e-30);
                dlogits_[s * outputs + k] = T((p - t) / double(n));
            }
        }
        backward_and_update(f, images.data());
        return loss / double(n);
    }

    // Inference on n <= B samples with the running statistics; returns n x K probabilities.
    std::span<T const> predict_batch(std::span<T const> images) {
        if (images.size() % inputs != 0 || images.size() == 0 || images.size() / inputs > B)
            fail("trainer::predict_batch: expected 1 to %zu inputs of %zu values, found %zu values", B, inputs,
                 images.size());
        std::size_t const n = images.size() / inputs;
        body::forward(make_frame(n, false), images.data(), logits_.data());
        for (std::size_t s = 0; s < n; ++s)
            detail::softmax(outputs, logits_.data() + s * outputs, probs_.data() + s * outputs);
        return std::span<T const>(probs_.data(), n * outputs);
    }

    // Probabilities and gradients of the last step (n x K), e.g. for accuracy bookkeeping.
    std::span<T const> last_probabilities() const { return probs_; }
    std::span<T const> last_gradients() const { return std::span<T const>(grads_.data(), Net::params); }

    optimizer_type& optimizer() { return optimizer_; }
    std::size_t threads() const { return team_.size(); }
    random_generator& rng() { return rng_; }
    Net& network() { return net_; }

    static constexpr std::size_t bytes = sizeof(std::array<T, B * (2 * Net::saved_per_sample + 3 * outputs) +
                                                                 Threads * (Net::temp_size + Net::params)>) +
                                         sizeof(optimizer_type);

private:
    std::size_t check_batch(std::span<T const> images, std::span<std::int32_t const> labels) const {
        std::size_t const n = labels.size();
        if (n == 0 || n > B) fail("trainer::step: expected 1 to %zu labels, found %zu", B, n);
        if (images.size() != n * inputs) fail_size("trainer::step: images (labels x input size)", n * inputs, images.size());
        // Before the forward pass, which moves the running statistics and the dropout generator.
        for (std::size_t s = 0; s < n; ++s)
            if (labels[s] < 0 || std::size_t(labels[s]) >= outputs)
                fail("trainer::step: label %d of sample %zu is outside [0, %zu)", int(labels[s]), s, outputs);
        return n;
    }

    // Gradients of dlogits_ into per-thread copies, summed in thread order (deterministic),
    // then one optimiser update.
    void backward_and_update(frame<T> const& f, T const* images) {
        detail::fill(team_.size() * Net::params, T(0), grads_.data());
        body::backward(f, images, logits_.data(), dlogits_.data(), nullptr);
        for (std::size_t t = 1; t < team_.size(); ++t)
            detail::add_to(Net::params, grads_.data() + t * Net::params, grads_.data());
        optimizer_.step(net_.parameters().data(), grads_.data());
    }

    frame<T> make_frame(std::size_t n, bool training) {
        frame<T> f;
        f.params = net_.parameters().data();
        f.state = net_.state().data();
        f.grads = grads_.data();
        f.grad_stride = Net::params;
        f.saved = saved_.data();
        f.dsaved = dsaved_.data();
        f.temp = temp_.data();
        f.temp_stride = Net::temp_size;
        f.n = n;
        f.training = training;
        f.team = team_.size() > 1 ? &team_ : nullptr;
        f.rng = &rng_;
        return f;
    }

    Net& net_;
    optimizer_type optimizer_;
    random_generator rng_;
    thread_team team_;
    std::array<T, B * Net::saved_per_sample + 1> saved_{}, dsaved_{};
    std::array<T, B * outputs> logits_{}, probs_{}, dlogits_{};
    std::array<T, outputs> class_weights_{};
    bool weighted_ = false;
    std::array<T, Threads * Net::params> grads_{};
    std::array<T, Threads * Net::temp_size + 1> temp_{};
};

}  // namespace mien
