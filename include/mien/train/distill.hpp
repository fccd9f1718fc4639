// mien/train/distill.hpp -- knowledge distillation: an ensemble of trained teachers as targets.
//
//   mien::teacher_ensemble<mien::models::paper<>> teachers(4.0);            // temperature T
//   teachers.add("runs/a/best.mien");  teachers.add("runs/b/best.mien");
//   eo.teacher = teachers.function();  eo.teacher_weight = 0.7;             // epoch.hpp
//   // teachers of two networks: each group's mean weighted by its size
//   eo.teacher = mien::mix_teachers({{large.function(), large.size()}, {teachers.function(), 2}}, 7);
//
// The teachers' target for a face is the mean over teachers of softmax(z / T), z a teacher's
// logits, in inference mode (running batch-norm statistics, no dropout). The epoch loop blends
// it into the student's target, (1 - W) hard + W teacher, and trains the student with its
// ordinary softmax at temperature 1 (trainer::step_soft). On the temperature-squared factor of
// Hinton et al. (2015): it compensates the 1 / T that a student softened at T puts on its own
// gradient (d/dz of CE(q_T, softmax(z / T)) is (p_T - q_T) / T, on a T^2-scaled loss T (p_T -
// q_T)). Here the student is not softened: the gradient of the blended loss is (1 - W)(p - y) +
// W (p - q_T), both terms at the same scale whatever T is, so no T^2 factor is needed and W is
// the teacher's share of the gradient as written. T only flattens the teachers' distribution.
//
// softmax(z / T) is computed from the teachers' probabilities p = softmax(z) as p^(1/T),
// renormalised (log p = z - logsumexp(z)); a probability that underflowed below 1e-30 is taken
// as 1e-30, which only matters for classes the teacher rules out anyway.
//
// Teachers load with topology_check::exact: distilling from a file that only matches by
// shapes would teach whatever that other network computes.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../io/weights.hpp"
#include "epoch.hpp"
#include "evaluate.hpp"
#include "optimizer.hpp"
#include "trainer.hpp"

namespace mien {

// Net: the teachers' network type (all teachers share it); Chunk: images per inference call.
template <class Net, std::size_t Chunk = 16, std::size_t Threads = 2>
class teacher_ensemble {
public:
    static constexpr std::size_t inputs = Net::inputs, outputs = Net::outputs;

    explicit teacher_ensemble(double temperature, std::size_t threads = Threads) : temperature_(temperature), threads_(threads) {
        if (!(temperature > 0) || !std::isfinite(temperature))
            fail("teacher_ensemble: temperature %g; expected a positive number", temperature);
    }

    // Loads one teacher's weights (exact topology).
    void add(std::filesystem::path const& weights) {
        auto net = std::make_unique<Net>();
        load_weights(*net, weights, topology_check::exact);
        runners_.push_back(std::make_unique<runner>(*net, typename runner::optimizer_type::options{}, 1, threads_));
        nets_.push_back(std::move(net));
    }
    std::size_t size() const { return nets_.size(); }
    double temperature() const { return temperature_; }

    // n x outputs softened, averaged probabilities for n images (n x inputs values).
    void soften(std::span<float const> images, std::size_t n, float* out) {
        if (nets_.empty()) fail("teacher_ensemble: no teacher loaded");
        if (images.size() != n * inputs)
            fail("teacher_ensemble: %zu input values for %zu images of %zu values", images.size(), n, inputs);
        std::fill(out, out + n * outputs, 0.0f);
        double const share = 1.0 / double(nets_.size());
        auto& row = row_;
        for (auto& r : runners_)
            for (std::size_t first = 0; first < n; first += Chunk) {
                std::size_t const m = std::min(Chunk, n - first);
                auto const p = r->predict_batch(images.subspan(first * inputs, m * inputs));
                for (std::size_t s = 0; s < m; ++s) {
                    double top = -1e300, sum = 0;
                    for (std::size_t k = 0; k < outputs; ++k) {
                        row[k] = std::log(std::max(double(p[s * outputs + k]), 1e-30)) / temperature_;
                        top = std::max(top, row[k]);
                    }
                    for (std::size_t k = 0; k < outputs; ++k) sum += row[k] = std::exp(row[k] - top);
                    for (std::size_t k = 0; k < outputs; ++k) out[(first + s) * outputs + k] += float(share * row[k] / sum);
                }
            }
    }

    // Each teacher's own accuracy on d (its plain softmax, as mien::evaluate), to report what the
    // student is distilled from.
    std::vector<double> accuracies(dataset const& d, bool flip = false) {
        std::vector<double> a;
        for (auto& r : runners_) a.push_back(evaluate(*r, d, evaluate_options{.flip = flip}).accuracy);
        return a;
    }

    // For epoch_options::teacher (the ensemble must outlive the function).
    teacher_function function() {
        return [this](std::span<float const> images, std::size_t n, float* out) { soften(images, n, out); };
    }

private:
    using runner = trainer<Net, Chunk, adam, Threads>;
    double temperature_;
    std::size_t threads_;
    std::vector<std::unique_ptr<Net>> nets_;
    std::vector<std::unique_ptr<runner>> runners_;
    std::array<double, outputs> row_{};  // one face's softened row (scratch; no allocation per batch)
};

// Teachers of different networks as one ensemble (a large network and a paper one, say: their
// errors differ more than two of a kind, so their mean is the better teacher). Each group is a
// teacher_ensemble's function with its number of teachers; the mix weighs each group's mean by
// that number, so every teacher counts as much as it would in a single ensemble.
struct teacher_group {
    teacher_function soften;
    std::size_t count = 1;
};

inline teacher_function mix_teachers(std::vector<teacher_group> groups, std::size_t outputs) {
    std::size_t total = 0;
    for (auto const& g : groups) {
        if (!g.soften || g.count == 0) fail("mix_teachers: a group without a teacher");
        total += g.count;
    }
    if (total == 0) fail("mix_teachers: no teacher");
    if (groups.size() == 1) return std::move(groups.front().soften);
    // `part` is kept between batches: one allocation for the run, not one per batch.
    return [groups = std::move(groups), outputs, total, part = std::vector<float>()](std::span<float const> images, std::size_t n,
                                                                                   float* out) mutable {
        part.resize(n * outputs);
        std::fill(out, out + n * outputs, 0.0f);
        for (auto const& g : groups) {
            g.soften(images, n, part.data());
            float const share = float(double(g.count) / double(total));
            for (std::size_t i = 0; i < part.size(); ++i) out[i] += share * part[i];
        }
    };
}

}  // namespace mien
