// mien/train/evaluate.hpp: probabilities are the trainer's batch predictions (averaged with the
// mirror image under flip), accuracy and confusion follow from them, and a label the model cannot
// output is an error naming the face.
#include <mien/train/evaluate.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <vector>

#include "support/io_test.hpp"
#include "support/tiny_training.hpp"

using namespace mien;

TEST_CASE("evaluate: probabilities, flip averaging, accuracy and confusion agree with predict_batch") {
    dataset const d = testing::shapes_as_dataset(21, 5);  // one full batch of 16 and a short one
    auto net = std::make_unique<testing::tiny_net>();
    net->init(2);
    auto tr = std::make_unique<trainer<testing::tiny_net, 16>>(*net);
    evaluation const plain = evaluate(*tr, d, {.keep_probabilities = true});
    evaluation const flipped = evaluate(*tr, d, {.flip = true, .keep_probabilities = true});
    REQUIRE(plain.probabilities.size() == 21 * 7);
    std::vector<float> face(2304), mirrored(2304);
    std::size_t correct = 0, confusion_total = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        d.to_float(i, face.data());
        mirror(face.data(), mirrored.data(), 48);
        auto const plain_span = tr->predict_batch(face);
        std::vector<float> const p(plain_span.begin(), plain_span.end());
        auto const q = tr->predict_batch(mirrored);
        for (std::size_t k = 0; k < 7; ++k) {
            CHECK(plain.probabilities[i * 7 + k] == doctest::Approx(p[k]).epsilon(1e-5));
            CHECK(flipped.probabilities[i * 7 + k] == doctest::Approx(0.5 * (p[k] + q[k])).epsilon(1e-5));
        }
        correct += plain.predictions[i] == d.labels[i];
    }
    for (auto const& row : plain.confusion)
        for (auto n : row) confusion_total += n;
    CHECK(confusion_total == 21);
    CHECK(plain.accuracy == doctest::Approx(double(correct) / 21));
    CHECK(evaluate(*tr, d).probabilities.empty());
}

TEST_CASE("evaluate: a label outside the model's classes is an error naming the face") {
    dataset d = testing::shapes_as_dataset(3, 5);
    d.labels[2] = 7;
    auto net = std::make_unique<testing::tiny_net>();
    auto tr = std::make_unique<trainer<testing::tiny_net, 16>>(*net);
    CHECK(testing::error_of([&] { evaluate(*tr, d); }) == "evaluate: face 2 (shape2) has label 7, outside the model's 7 classes");
}
