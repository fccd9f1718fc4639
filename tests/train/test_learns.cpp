// "It learns": the fast preset of the paper network, trained from scratch on a generated 7-class
// image set (tests/support/shapes_dataset.hpp), classifies held-out images.
#include <mien/models/paper.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <numeric>
#include <vector>

#include "support/shapes_dataset.hpp"

using namespace mien;

namespace {

constexpr std::size_t batch = 32, epochs = 3;
using net_t = models::fast;
using trainer_t = trainer<net_t, batch, adam, 2>;

// Fraction of `set` whose most probable class is the label, in batches through predict_batch.
double accuracy(trainer_t& tr, testing::shape_set const& set) {
    std::size_t correct = 0;
    for (std::size_t first = 0; first < set.size(); first += batch) {
        std::size_t const n = std::min(batch, set.size() - first);
        auto const probs =
            tr.predict_batch(std::span<float const>(set.images).subspan(first * testing::shape_pixels, n * testing::shape_pixels));
        for (std::size_t s = 0; s < n; ++s) {
            auto const row = probs.subspan(s * 7, 7);
            correct += std::size_t(std::max_element(row.begin(), row.end()) - row.begin()) == std::size_t(set.labels[first + s]);
        }
    }
    return double(correct) / double(set.size());
}

}  // namespace

TEST_CASE("learns: the fast network reaches >= 90 % held-out accuracy on generated shapes") {
    auto const t0 = std::chrono::steady_clock::now();
    testing::shape_set const train = testing::make_shape_set(1120, 1), held_out = testing::make_shape_set(350, 2);
    auto net = std::make_unique<net_t>();
    net->init(1);
    auto tr = std::make_unique<trainer_t>(*net, adam_options{.learning_rate = 2e-3}, 1);

    std::vector<std::size_t> order(train.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    random_generator shuffle(3);
    std::vector<float> images;
    std::vector<std::int32_t> labels;
    std::vector<double> epoch_loss;
    double first_steps_loss = 0;
    std::size_t step = 0;
    for (std::size_t e = 0; e < epochs; ++e) {
        for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[shuffle.below(i + 1)]);
        double sum = 0;
        std::size_t steps = 0;
        for (std::size_t first = 0; first + batch <= order.size(); first += batch, ++steps, ++step) {
            testing::gather_batch(train, order, first, batch, images, labels);
            double const loss = tr->step(images, labels);
            sum += loss;
            if (step < 5) first_steps_loss += loss / 5;
        }
        epoch_loss.push_back(sum / double(steps));
    }
    double const acc = accuracy(*tr, held_out);
    double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("learns: first steps loss ", first_steps_loss, ", epoch losses ", epoch_loss[0], " ... ", epoch_loss.back(),
            ", held-out accuracy ", acc, ", ", seconds, " s");
    // Untrained, the loss is near ln 7 = 1.95; it falls epoch over epoch.
    CHECK(first_steps_loss > 1.5);
    CHECK(first_steps_loss < 3.0);
    for (std::size_t e = 1; e < epoch_loss.size(); ++e) CHECK(epoch_loss[e] < epoch_loss[e - 1]);
    CHECK(epoch_loss.back() < 0.3 * first_steps_loss);
    CHECK(acc >= 0.9);
}
