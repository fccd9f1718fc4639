// mien/train/checkpoint.hpp: a run's checkpoint holds the trainer, where the run stands and its
// settings; its bytes are those mien-train wrote before the library had it (old checkpoints
// resume), and a checkpoint of other settings is refused before anything changes.
#include <mien/io/checkpoint.hpp>
#include <mien/train/checkpoint.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <vector>

#include "support/io_test.hpp"
#include "support/tiny_training.hpp"

using namespace mien;
using testing::error_of;
using testing::tiny_net;

namespace {

using trainer_t = trainer<tiny_net, 8, adam, 1>;

struct run {
    std::unique_ptr<tiny_net> net = std::make_unique<tiny_net>();
    std::unique_ptr<trainer_t> tr;
    explicit run(std::uint64_t seed) {
        net->init(seed);
        tr = std::make_unique<trainer_t>(*net, adam_options{}, seed, 1);
    }
};

// mien-train's settings as it stores them (seed, batch_size, ... compared on resume).
run_settings settings(std::string const& seed) {
    run_settings s;
    s.values = {{"labels", "fer2013"}, {"soft_targets", "none"}, {"teachers", ""}, {"seed", seed}, {"batch_size", "8"},
                {"peak_lr", "0.0030000000000000001"}};
    s.compared = {"labels", "soft_targets", "teachers", "seed", "batch_size", "peak_lr"};
    s.defaults = {{"labels", "fer2013"}, {"soft_targets", "none"}};
    s.added_later = {"batch_size", "peak_lr"};
    return s;
}

// A few steps, so that the optimizer moments and the generator are not at their start.
void train_a_little(trainer_t& tr) {
    auto const data = testing::shapes_as_dataset(16, 3);
    std::vector<float> images(8 * 2304);
    for (std::size_t i = 0; i < 8; ++i) data.to_float(i, images.data() + i * 2304);
    std::vector<std::int32_t> labels(data.labels.begin(), data.labels.begin() + 8);
    for (int s = 0; s < 2; ++s) tr.step(images, labels);
}

}  // namespace

TEST_CASE("run checkpoint: the bytes mien-train wrote before the library had it") {
    run a(4);
    train_a_little(*a.tr);
    // What examples/mien_train.cpp put in last.ckpt's metadata until this header existed.
    file_metadata old = settings("4").values;
    old["epoch"] = "2";
    old["batch"] = "5";
    char best_text[32];
    std::snprintf(best_text, sizeof best_text, "%.17g", 0.1 + 0.2);
    old["best_accuracy"] = best_text;
    old["model"] = "fast";
    old["seed"] = "4";
    auto const before = encode_checkpoint(*a.tr, old);

    testing::temp_dir dir;
    save_run_checkpoint(*a.tr, dir / "last.ckpt", settings("4"), {.epoch = 2, .batch = 5, .best_accuracy = 0.1 + 0.2},
                        {{"model", "fast"}});
    CHECK(detail::read_file(dir / "last.ckpt", "test") == before);
    CHECK_FALSE(std::filesystem::exists(detail::temp_path_for(dir / "last.ckpt")));  // written atomically

    // And it loads: the trainer bit for bit, the position, the best accuracy with all its digits.
    run b(9);
    CHECK_FALSE(testing::same_tensors(*a.net, *b.net));
    run_position const at = load_run_checkpoint(*b.tr, dir / "last.ckpt", settings("4"));
    CHECK(at.epoch == 2);
    CHECK(at.batch == 5);
    CHECK(at.best_accuracy == 0.1 + 0.2);  // not 0.3: six decimals would have lost it
    CHECK(testing::same_tensors(*a.net, *b.net));
    CHECK(b.tr->optimizer().steps() == a.tr->optimizer().steps());
    CHECK(b.tr->rng().state() == a.tr->rng().state());
    CHECK(encode_checkpoint(*b.tr, old) == before);
}

TEST_CASE("run checkpoint: other settings are refused, naming the key, before the trainer changes") {
    run a(4);
    testing::temp_dir dir;
    save_run_checkpoint(*a.tr, dir / "last.ckpt", settings("1"), {.epoch = 1});
    run b(6);
    auto const untouched = testing::snapshot(*b.net);
    std::string const path = (dir / "last.ckpt").string();
    CHECK(error_of([&] { load_run_checkpoint(*b.tr, dir / "last.ckpt", settings("2")); }) ==
          "resume: " + path + " was trained with seed '1', this run asks for '2'; resume with the same settings (or start another run)");
    CHECK(testing::snapshot(*b.net) == untouched);

    run_settings cli = settings("2");  // a command line names its flags
    cli.who = "--resume";
    cli.advice = "resume with the same flags (or start another --out)";
    CHECK(error_of([&] { load_run_checkpoint(*b.tr, dir / "last.ckpt", cli); }) ==
          "--resume: " + path + " was trained with seed '1', this run asks for '2'; resume with the same flags (or start another --out)");

    run_settings soft = settings("1");
    soft.values["soft_targets"] = "ferplus";
    CHECK(error_of([&] { load_run_checkpoint(*b.tr, dir / "last.ckpt", soft); }).find("with soft_targets 'none', this run asks for 'ferplus'") !=
          std::string::npos);
    CHECK(load_run_checkpoint(*b.tr, dir / "last.ckpt", settings("1")).epoch == 1);
}

TEST_CASE("run checkpoint: run_settings::of compares every key it is given") {
    run_settings const s = run_settings::of({{"seed", "1"}, {"epochs", "30"}});
    CHECK(s.compared == std::vector<std::string>{"epochs", "seed"});
    CHECK_NOTHROW(check_run_settings({{"seed", "1"}, {"epochs", "30"}, {"batch", "4"}}, s, "a.ckpt"));
    CHECK(error_of([&] { check_run_settings({{"seed", "1"}}, s, "a.ckpt"); }).starts_with(
        "resume: a.ckpt was trained with epochs '', this run asks for '30'"));
}

TEST_CASE("run checkpoint: keys an older file lacks take their defaults, or are skipped when added later") {
    file_metadata old{{"seed", "3"}, {"teachers", ""}};  // before labels, batch_size and peak_lr were stored
    run_settings now = settings("3");
    CHECK_NOTHROW(check_run_settings(old, now, "old.ckpt"));  // labels: fer2013, soft_targets: none by default
    now.values["labels"] = "ferplus";
    CHECK(error_of([&] { check_run_settings(old, now, "old.ckpt"); }).starts_with(
        "resume: old.ckpt was trained with labels 'fer2013', this run asks for 'ferplus'"));
    now = settings("3");
    old["batch_size"] = "16";  // present: compared
    CHECK(error_of([&] { check_run_settings(old, now, "old.ckpt"); }).starts_with(
        "resume: old.ckpt was trained with batch_size '16', this run asks for '8'"));
    now.compared.push_back("protocol");  // absent from both: "" == ""
    old["batch_size"] = "8";
    CHECK_NOTHROW(check_run_settings(old, now, "old.ckpt"));
}

TEST_CASE("run checkpoint: a weights file or a checkpoint without a position is not a run's") {
    run a(4);
    testing::temp_dir dir;
    save_weights(*a.net, dir / "weights.mien", settings("1").values);
    CHECK(error_of([&] { load_run_checkpoint(*a.tr, dir / "weights.mien", settings("1")); }) ==
          (dir / "weights.mien").string() + ": a weights file, not a checkpoint (it has no optimizer state)");
    save_checkpoint(*a.tr, dir / "plain.ckpt", settings("1").values);
    CHECK(error_of([&] { load_run_checkpoint(*a.tr, dir / "plain.ckpt", settings("1")); }) ==
          (dir / "plain.ckpt").string() + ": not a run's checkpoint: it lacks 'epoch'");
}
