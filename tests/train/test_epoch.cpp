// mien/train/epoch.hpp: the seeded epoch loop. Hard labels written as soft rows train the same
// weights bit for bit; a run interrupted inside an epoch and resumed from a checkpoint ends
// bit-identical to an uninterrupted one, with soft targets, label draws, mixup and a teacher.
#include <mien/io/checkpoint.hpp>
#include <mien/train/distill.hpp>
#include <mien/train/epoch.hpp>
#include <mien/train/evaluate.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <vector>

#include "support/io_test.hpp"
#include "support/tiny_training.hpp"

using namespace mien;
using testing::tiny_net;

namespace {

constexpr std::size_t batch = 16;
using trainer_t = trainer<tiny_net, batch, adam, 2>;

dataset const& data() {
    static dataset const d = testing::shapes_as_dataset(100, 11);  // 7 batches, the last one short
    return d;
}

// Rows for every other face: a 0.6 / 0.4 split between its label and the next class.
soft_targets const& soft() {
    static soft_targets const t = [] {
        std::vector<std::optional<std::array<float, 7>>> rows(data().size());
        for (std::size_t i = 0; i < rows.size(); i += 2) {
            std::array<float, 7> r{};
            r[std::size_t(data().labels[i])] = 0.6f;
            r[std::size_t(data().labels[i] + 1) % 7] = 0.4f;
            rows[i] = r;
        }
        return soft_targets::from(rows);
    }();
    return t;
}

std::vector<float> weights_of(tiny_net const& net) {
    std::vector<float> w(net.parameters().begin(), net.parameters().end());
    w.insert(w.end(), net.state().begin(), net.state().end());
    return w;
}

epoch_options options(std::size_t epoch, std::size_t epochs) {
    epoch_options o;
    o.seed = 5;
    o.epoch = epoch;
    o.total_steps = epochs * batches_per_epoch<trainer_t>(data());
    o.lr = 3e-3;
    return o;
}

}  // namespace

TEST_CASE("epoch: one-hot soft rows at weight 1 train exactly the weights of hard labels") {
    std::vector<std::vector<float>> results;
    std::vector<std::array<float, 7>> one_hot(data().size());
    for (std::size_t i = 0; i < data().size(); ++i) one_hot[i][std::size_t(data().labels[i])] = 1.0f;
    soft_targets const rows = soft_targets::from(one_hot);
    for (bool as_soft : {false, true}) {
        auto net = std::make_unique<tiny_net>();
        net->init(3);
        auto tr = std::make_unique<trainer_t>(*net, adam_options{}, 1, 2);
        epoch_options o = options(0, 1);
        if (as_soft) {
            o.soft = &rows;
            o.soft_weight = 1.0;
        }
        CHECK(train_epoch(*tr, data(), o).status == epoch_result::done);
        results.push_back(weights_of(*net));
    }
    CHECK(results[0] == results[1]);
}

TEST_CASE("epoch: soft targets change training, and their weight matters") {
    std::vector<std::vector<float>> results;
    for (double w : {0.0, 0.5, 1.0}) {
        auto net = std::make_unique<tiny_net>();
        net->init(3);
        auto tr = std::make_unique<trainer_t>(*net, adam_options{}, 1, 2);
        epoch_options o = options(0, 1);
        o.soft = &soft();
        o.soft_weight = w;
        train_epoch(*tr, data(), o);
        results.push_back(weights_of(*net));
    }
    CHECK(results[0] != results[1]);
    CHECK(results[1] != results[2]);
}

TEST_CASE("epoch: bad combinations are refused with the reason") {
    auto net = std::make_unique<tiny_net>();
    auto tr = std::make_unique<trainer_t>(*net, adam_options{}, 1, 1);
    epoch_options o = options(0, 1);
    o.draw_labels = true;
    CHECK(testing::error_of([&] { train_epoch(*tr, data(), o); }) == "train_epoch: draw_labels needs soft targets to draw from");
    soft_targets const few = soft_targets::from(std::vector<std::optional<std::array<float, 7>>>(3));
    o.draw_labels = false;
    o.soft = &few;
    CHECK(testing::error_of([&] { train_epoch(*tr, data(), o); }) ==
          "train_epoch: soft targets of 3 faces x 7 classes for a data set of 100 faces and a 7-class network");
    o.soft = &soft();
    tr->set_class_weights(std::vector<float>(7, 1.0f));
    CHECK(testing::error_of([&] { train_epoch(*tr, data(), o); }) ==
          "train_epoch: soft targets and distillation carry no class weight; clear the trainer's class weights");
}

namespace {

// Trains `epochs` epochs with these options; with stop_at, the first epoch is interrupted
// after that many batches, checkpointed, restored into a fresh network and trainer, and
// continued. Returns the final weights.
template <class Configure>
std::vector<float> run(std::size_t epochs, std::optional<std::size_t> stop_at, Configure configure) {
    auto net = std::make_unique<tiny_net>();
    net->init(3);
    auto tr = std::make_unique<trainer_t>(*net, adam_options{}, 1, 2);
    std::size_t start_epoch = 0, start_batch = 0;
    if (stop_at) {
        std::atomic<bool> stop{false};
        epoch_options o = options(0, epochs);
        configure(o);
        auto const r = train_epoch(*tr, data(), o, &stop, [&](std::size_t done, double, double) {
            if (done == *stop_at) stop = true;
        });
        REQUIRE(r.status == epoch_result::interrupted);
        REQUIRE(r.batch == *stop_at);
        auto const bytes = encode_checkpoint(*tr);
        net = std::make_unique<tiny_net>();
        tr = std::make_unique<trainer_t>(*net, adam_options{}, 99, 2);  // other seed: the checkpoint restores it
        decode_checkpoint(*tr, bytes);
        start_batch = *stop_at;
    }
    for (std::size_t e = start_epoch; e < epochs; ++e) {
        epoch_options o = options(e, epochs);
        o.first_batch = e == start_epoch ? start_batch : 0;
        configure(o);
        REQUIRE(train_epoch(*tr, data(), o).status == epoch_result::done);
    }
    return weights_of(*net);
}

}  // namespace

TEST_CASE("epoch: resuming inside an epoch is exact with soft targets, label draws, mixup and a teacher") {
    // A teacher: the tiny network trained one epoch on hard labels, saved to a file.
    testing::temp_dir dir;
    {
        auto net = std::make_unique<tiny_net>();
        net->init(8);
        auto tr = std::make_unique<trainer_t>(*net, adam_options{}, 1, 2);
        train_epoch(*tr, data(), options(0, 1));
        save_weights(*net, dir / "teacher.mien");
    }
    teacher_ensemble<tiny_net, 8> teachers(2.0);
    teachers.add(dir / "teacher.mien");

    auto const soft_only = [](epoch_options& o) {
        o.soft = &soft();
        o.soft_weight = 0.5;
        o.label_smoothing = 0.1;
    };
    auto const everything = [&](epoch_options& o) {
        soft_only(o);
        o.draw_labels = true;
        o.mixup_alpha = 0.4;
        o.teacher = teachers.function();
        o.teacher_weight = 0.7;
    };
    auto const straight = run(2, std::nullopt, soft_only);
    CHECK(run(2, 3, soft_only) == straight);
    auto const all_straight = run(2, std::nullopt, everything);
    CHECK(run(2, 3, everything) == all_straight);
    CHECK(all_straight != straight);  // the extra targets did something
}
