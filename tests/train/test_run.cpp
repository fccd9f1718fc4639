// mien/train/run.hpp: a run's folder. A run stopped inside an epoch (Ctrl-C) and resumed ends
// with the same best.mien, best.npz, last.ckpt and log.csv bytes as an uninterrupted run; the
// log has one row per epoch; best.mien holds the best epoch. (SIGKILL at random moments, through
// mien-train: tests/reliability/kill_resume.sh.)
#include <mien/io/weights.hpp>
#include <mien/train/run.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <string>
#include <vector>

#include "support/io_test.hpp"
#include "support/tiny_training.hpp"

using namespace mien;
using testing::tiny_net;

namespace {

constexpr std::size_t batch = 16;
using trainer_t = trainer<tiny_net, batch, adam, 2>;
constexpr std::size_t epochs = 3;

dataset const& train_data() {
    static dataset const d = testing::shapes_as_dataset(70, 21);  // 5 batches, the last one short
    return d;
}
dataset const& val_data() {
    static dataset const d = testing::shapes_as_dataset(30, 22);
    return d;
}

run_settings settings() { return run_settings::of({{"seed", "5"}, {"batch_size", "16"}}); }

std::vector<std::byte> bytes_of(std::filesystem::path const& p) { return detail::read_file(p, "test"); }
std::vector<std::string> split(std::string const& text, char by) {
    std::vector<std::string> parts;
    std::size_t at = 0;
    for (std::size_t next; (next = text.find(by, at)) != std::string::npos; at = next + 1) parts.push_back(text.substr(at, next - at));
    if (at < text.size()) parts.push_back(text.substr(at));
    return parts;
}
std::vector<std::string> lines_of(std::filesystem::path const& p) {
    auto const bytes = bytes_of(p);
    return split(std::string(reinterpret_cast<char const*>(bytes.data()), bytes.size()), '\n');
}
std::vector<std::string> fields_of(std::string const& line) { return split(line, ','); }
file_metadata metadata_of(std::filesystem::path const& p) { return detail::parse_file(bytes_of(p), "test").metadata; }

// Trains the run in `dir` to the end, or stops (returns false) after batch `stop_batch` of
// epoch `stop_epoch` (0-based) as Ctrl-C would.
bool train_run(std::filesystem::path const& dir, bool resume, std::size_t stop_epoch = ~std::size_t{0}, std::size_t stop_batch = 0) {
    auto net = std::make_unique<tiny_net>();
    net->init(5);
    auto tr = std::make_unique<trainer_t>(*net, adam_options{}, 5, 2);
    run_folder run(dir, settings(), {{"model", "tiny"}});
    run_position const at = run.start(*tr, resume);
    std::atomic<bool> stop{false};
    for (std::size_t e = at.epoch; e < epochs; ++e) {
        epoch_options o;
        o.seed = 5;
        o.epoch = e;
        o.first_batch = e == at.epoch ? at.batch : 0;
        o.total_steps = epochs * batches_per_epoch<trainer_t>(train_data());
        auto const r = train_epoch(*tr, train_data(), o, &stop, [&](std::size_t done, double, double) {
            if (e == stop_epoch && done == stop_batch) stop = true;
        });
        if (r.status == epoch_result::interrupted) {
            run.save(*tr, e, r.batch);
            return false;
        }
        REQUIRE(r.status == epoch_result::done);
        run.finish_epoch(*tr, e, r, evaluate(*tr, val_data()), 1.0);
    }
    return true;
}

}  // namespace

TEST_CASE("run folder: stopped inside an epoch and resumed, the files end as an uninterrupted run's") {
    testing::temp_dir dir;
    CHECK(train_run(dir / "reference", false));
    for (char const* f : {"best.mien", "best.npz", "last.ckpt", "log.csv"}) CHECK(std::filesystem::exists(dir / "reference" / f));

    CHECK_FALSE(train_run(dir / "stopped", false, 1, 2));  // Ctrl-C after batch 2 of epoch 2
    auto const stopped = metadata_of(dir / "stopped" / "last.ckpt");
    CHECK(stopped.at("epoch") == "1");
    CHECK(stopped.at("batch") == "2");
    CHECK(train_run(dir / "stopped", true));
    for (char const* f : {"best.mien", "best.npz", "last.ckpt"})
        CHECK_MESSAGE(bytes_of(dir / "stopped" / f) == bytes_of(dir / "reference" / f), f);
    // The log: the same rows, but for the train loss and accuracy of the epoch that was resumed
    // (they average the batches trained after the resume only).
    auto const a = lines_of(dir / "reference" / "log.csv"), b = lines_of(dir / "stopped" / "log.csv");
    REQUIRE(a.size() == 1 + epochs);
    REQUIRE(b.size() == a.size());
    CHECK(a[0] == b[0]);
    CHECK(a[1] == b[1]);
    CHECK(a[3] == b[3]);
    auto const ra = fields_of(a[2]), rb = fields_of(b[2]);  // epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds
    REQUIRE(ra.size() == 7);
    REQUIRE(rb.size() == 7);
    for (std::size_t i : {0, 1, 4, 5, 6}) CHECK(ra[i] == rb[i]);
}

TEST_CASE("run folder: the log has a row per epoch, best.mien the best epoch, last.ckpt the end") {
    testing::temp_dir dir;
    REQUIRE(train_run(dir.path(), false));
    auto const log = bytes_of(dir / "log.csv");
    std::string const text(reinterpret_cast<char const*>(log.data()), log.size());
    CHECK(text.starts_with("epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n1,"));
    CHECK(std::count(text.begin(), text.end(), '\n') == 1 + epochs);
    auto const ckpt = metadata_of(dir / "last.ckpt");
    CHECK(ckpt.at("epoch") == std::to_string(epochs));
    CHECK(ckpt.at("batch") == "0");
    CHECK(ckpt.at("model") == "tiny");
    CHECK(ckpt.at("seed") == "5");
    auto const best = metadata_of(dir / "best.mien");
    CHECK_FALSE(best.contains("model"));  // checkpoint_extra is for the checkpoint only
    CHECK(best.at("seed") == "5");
    // best.mien holds the epoch of the highest validation accuracy, which last.ckpt records exactly.
    CHECK(std::stod(best.at("val_accuracy")) == doctest::Approx(std::stod(ckpt.at("best_accuracy"))).epsilon(1e-6));

    // A run asked to resume with no checkpoint starts afresh.
    testing::temp_dir empty;
    auto net = std::make_unique<tiny_net>();
    auto tr = std::make_unique<trainer_t>(*net, adam_options{}, 5, 2);
    run_folder fresh(empty.path(), settings());
    CHECK(fresh.start(*tr, true).epoch == 0);
    CHECK_FALSE(fresh.resumed());
    CHECK(fresh.best_accuracy() == -1);
}
