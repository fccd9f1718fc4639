// Checkpoints resume training exactly: network, optimizer moments and step count, learning
// rate and the trainer's generator (dropout masks) all come back, so the resumed trajectory
// is bit-identical to the uninterrupted one.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <mien/io/checkpoint.hpp>
#include <mien/models/paper.hpp>
#include <mien/train/trainer.hpp>

#include "support/io_test.hpp"

namespace {

using mien::testing::error_of;
using mien::testing::same_tensors;

// Batch norm (state), dropout (uses the generator) and trainable layers.
using net_t = mien::network<mien::input<6, 6, 1>, mien::conv2d<4, 3>, mien::batch_norm, mien::relu, mien::max_pool<2>,
                            mien::dense<8>, mien::relu, mien::dropout, mien::dense<3>>;
constexpr std::size_t batch = 4;

// Batch s of a fixed little data set.
struct batch_data {
    std::vector<float> images;
    std::vector<std::int32_t> labels;
};
batch_data batch_for(std::size_t s) {
    batch_data b{std::vector<float>(batch * net_t::inputs), std::vector<std::int32_t>(batch)};
    for (std::size_t i = 0; i < b.images.size(); ++i) b.images[i] = float((i * 13 + s * 7) % 29) / 29.0f;
    for (std::size_t i = 0; i < batch; ++i) b.labels[i] = std::int32_t((i + s) % 3);
    return b;
}

template <class Trainer>
void train(Trainer& t, std::size_t first, std::size_t steps) {
    for (std::size_t s = first; s < first + steps; ++s) {
        auto const b = batch_for(s);
        t.step(b.images, b.labels);
    }
}

// Train 3 steps, checkpoint, train 3 more; then resume fresh objects from the checkpoint and
// train the same 3: the parameters must agree to the bit.
template <template <class, std::size_t> class Optimizer>
void check_resume(typename Optimizer<float, net_t::params>::options options) {
    mien::testing::temp_dir dir;
    auto const path = dir / "run.ckpt";
    auto net = std::make_unique<net_t>();
    net->init(1);
    net->set_dropout_rate(0.3);
    auto trainer = std::make_unique<mien::trainer<net_t, batch, Optimizer>>(*net, options, 5);
    train(*trainer, 0, 3);
    trainer->optimizer().set_learning_rate(options.learning_rate / 2);  // as a schedule would
    mien::save_checkpoint(*trainer, path, {{"epoch", "3"}, {"best_accuracy", "0.5"}});
    train(*trainer, 3, 3);

    auto resumed_net = std::make_unique<net_t>();
    resumed_net->init(99);  // different everything: the checkpoint must restore it all
    auto resumed = std::make_unique<mien::trainer<net_t, batch, Optimizer>>(*resumed_net, options, 77);
    mien::load_result const r = mien::load_checkpoint(*resumed, path);
    CHECK(r.topology_matches);
    CHECK(r.metadata.size() == 2);  // the library's own keys are not reported
    CHECK(r.metadata.at("epoch") == "3");
    CHECK(r.metadata.at("best_accuracy") == "0.5");
    CHECK(resumed->optimizer().steps() == 3);
    CHECK(resumed->optimizer().learning_rate() == options.learning_rate / 2);
    train(*resumed, 3, 3);

    CHECK(same_tensors(*net, *resumed_net));
    CHECK(resumed->optimizer().steps() == trainer->optimizer().steps());
    CHECK(resumed->rng().state() == trainer->rng().state());
}

}  // namespace

TEST_CASE("checkpoint: Adam resumes an identical trajectory") {
    mien::adam_options o;
    o.learning_rate = 0.01;
    check_resume<mien::adam>(o);
}

TEST_CASE("checkpoint: SGD with momentum resumes an identical trajectory") {
    mien::sgd_options o;
    o.learning_rate = 0.05;
    check_resume<mien::sgd>(o);
}

TEST_CASE("checkpoint: without the optimizer state the trajectory differs (the test can fail)") {
    auto net = std::make_unique<net_t>();
    net->init(1);
    mien::trainer<net_t, batch> trainer(*net, {}, 5);
    train(trainer, 0, 3);
    auto const weights = mien::encode_weights(*net);
    train(trainer, 3, 3);

    auto other = std::make_unique<net_t>();
    mien::trainer<net_t, batch> fresh(*other, {}, 5);
    mien::decode_weights(*other, weights);  // weights only: moments and step count restart
    train(fresh, 3, 3);
    CHECK_FALSE(same_tensors(*net, *other));
}

TEST_CASE("checkpoint: wrong optimizer, weights file, corruption -> errors, nothing changed") {
    auto net = std::make_unique<net_t>();
    net->init(1);
    mien::trainer<net_t, batch> adam_trainer(*net, {}, 5);
    train(adam_trainer, 0, 2);
    auto const checkpoint = mien::encode_checkpoint(adam_trainer);

    auto other = std::make_unique<net_t>();
    other->init(2);
    auto const before = mien::encode_checkpoint(*other, adam_trainer.optimizer(), mien::random_generator(9));
    mien::trainer<net_t, batch, mien::sgd> sgd_trainer(*other, {}, 9);
    CHECK(error_of([&] { mien::decode_checkpoint(sgd_trainer, checkpoint, "a.ckpt"); }) ==
          "a.ckpt: checkpoint optimizer 'adam' != trainer optimizer 'sgd'");
    CHECK(error_of([&] { mien::decode_checkpoint(sgd_trainer, mien::encode_weights(*net), "w.mien"); }) ==
          "w.mien: a weights file, not a checkpoint (it has no optimizer state)");
    auto corrupted = checkpoint;
    corrupted[corrupted.size() - 100] ^= std::byte{1};
    mien::trainer<net_t, batch> adam_other(*other, {}, 9);
    CHECK(error_of([&] { mien::decode_checkpoint(adam_other, corrupted); }).find("checksum mismatch") != std::string::npos);
    CHECK(adam_other.optimizer().steps() == 0);
    CHECK(adam_other.rng().state() == 9);
    CHECK(mien::encode_checkpoint(*other, adam_trainer.optimizer(), mien::random_generator(9)) == before);

    // Another network: the exact topology is required.
    auto fast = std::make_unique<mien::models::fast>();
    mien::trainer<mien::models::fast, 1> fast_trainer(*fast);
    CHECK(error_of([&] { mien::decode_checkpoint(fast_trainer, checkpoint); }).find("00.conv2d.weight: file shape (3,3,1,4) != model shape (3,3,1,16)") !=
          std::string::npos);

    // The network part of a checkpoint loads as weights.
    auto deploy = std::make_unique<net_t>();
    mien::decode_weights(*deploy, checkpoint);
    CHECK(same_tensors(*deploy, *net));
}
