// mien-train -- train a mien network on a folder data set (FER2013, CK+, ...).
//
//   mien-train --data ../shared/data/fer2013 --model paper --epochs 30 --out runs/paper
//
// Reads <data>/<train-split>/<label>/* and <data>/<val-split>/<label>/*, trains with Adam and a
// one-cycle schedule (or the paper's constant rate), keeps the best weights by validation
// accuracy (<out>/best.mien), a resumable checkpoint (<out>/last.ckpt) and a per-epoch CSV log
// (<out>/log.csv). Ctrl-C saves the checkpoint and exits; `--resume` continues from it. A NaN
// loss stops the run and leaves the last good files in place.
//
// Determinism: every batch draws its shuffle position, augmentation and dropout from
// generators seeded by (seed, epoch, batch), and the gradient sum over threads has a fixed
// order, so a seed and a thread count give the same weights on every run (and on resume); the
// epoch loop is common/train_epoch.hpp, shared with mien-crossval.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <mien/data/augment.hpp>
#include <mien/data/image_folder.hpp>
#include <mien/io/checkpoint.hpp>
#include <mien/io/npz.hpp>
#include <mien/io/weights.hpp>
#include <mien/mien.hpp>
#include <mien/train/schedule.hpp>

#include "common/balance_flags.hpp"
#include "common/evaluate.hpp"
#include "common/progress.hpp"
#include "common/train_epoch.hpp"

namespace fs = std::filesystem;

namespace {

std::atomic<bool> interrupted{false};
extern "C" void on_sigint(int) { interrupted = true; }

struct config {
    std::string data, train_split = "train", val_split = "val", model = "paper", out = "runs/train";
    std::string init, schedule = "onecycle";
    int epochs = 30, batch = 32, threads = 2;
    double lr = 3e-3, dropout = 0.2, label_smoothing = 0.0, weight_decay = 0.0;
    std::uint64_t seed = 1;
    bool augment = true, resume = false, flip_test = false;
    mien::augment_options aug;
    balance_flags balance;
    std::vector<double> dropout_search;
};

template <class Net, std::size_t B>
int train(config const& c) {
    using trainer_t = mien::trainer<Net, B, mien::adam, 2>;
    fs::create_directories(c.out);
    std::fprintf(stderr, "loading %s/{%s,%s} ...\n", c.data.c_str(), c.train_split.c_str(), c.val_split.c_str());
    mien::dataset const train_set = mien::load_image_folder(fs::path(c.data) / c.train_split);
    mien::dataset const val_set = mien::load_image_folder(fs::path(c.data) / c.val_split);
    std::fprintf(stderr, "train %zu faces, val %zu faces; model %s (%zu params, %zu MACs), batch %zu, %d threads\n",
                 train_set.size(), val_set.size(), c.model.c_str(), Net::params, Net::macs, B, c.threads);

    auto net = std::make_unique<Net>();
    net->init(c.seed);
    if (!c.init.empty()) mien::load_weights(*net, c.init);
    net->set_dropout_rate(c.dropout);
    mien::adam_options opt;
    opt.learning_rate = c.lr;
    opt.weight_decay = c.weight_decay;
    auto tr = std::make_unique<trainer_t>(*net, opt, c.seed, std::size_t(c.threads));
    std::fprintf(stderr, "%s\n", c.balance.apply(*tr, train_set).c_str());

    std::size_t const steps_per_epoch = batches_per_epoch<trainer_t>(train_set);
    std::size_t const total_steps = steps_per_epoch * std::size_t(c.epochs);
    std::size_t start_epoch = 0, start_batch = 0;
    double best_accuracy = -1;
    fs::path const checkpoint = fs::path(c.out) / "last.ckpt", best = fs::path(c.out) / "best.mien";
    fs::path const log_path = fs::path(c.out) / "log.csv";
    if (c.resume && fs::exists(checkpoint)) {
        auto const meta = mien::load_checkpoint(*tr, checkpoint).metadata;
        start_epoch = std::stoul(meta.at("epoch"));
        start_batch = std::stoul(meta.at("batch"));
        best_accuracy = std::stod(meta.at("best_accuracy"));
        std::fprintf(stderr, "resumed from %s at epoch %zu, batch %zu (best val %.4f)\n", checkpoint.string().c_str(),
                     start_epoch + 1, start_batch, best_accuracy);
    } else if (!fs::exists(log_path) || !c.resume) {
        std::ofstream(log_path) << "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,seconds\n";
    }
    auto save_checkpoint = [&](std::size_t epoch, std::size_t batch) {
        mien::save_checkpoint(*tr, checkpoint,
                              {{"epoch", std::to_string(epoch)},
                               {"batch", std::to_string(batch)},
                               {"best_accuracy", std::to_string(best_accuracy)},
                               {"model", c.model},
                               {"seed", std::to_string(c.seed)}});
    };

    mien::augment_options const aug = c.augment ? c.aug : mien::augment_options::none();
    for (std::size_t epoch = start_epoch; epoch < std::size_t(c.epochs); ++epoch) {
        auto const started = std::chrono::steady_clock::now();
        progress bar(steps_per_epoch, "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(c.epochs));
        epoch_options eo;
        eo.seed = c.seed;
        eo.epoch = epoch;
        eo.first_batch = epoch == start_epoch ? start_batch : 0;
        eo.total_steps = total_steps;
        eo.lr = c.lr;
        eo.one_cycle = c.schedule == "onecycle";
        eo.label_smoothing = c.label_smoothing;
        eo.mixup_alpha = c.balance.mixup;
        eo.augment = aug;
        epoch_result const er = train_epoch(*tr, train_set, eo, &interrupted, &bar);
        if (er.status == epoch_result::interrupted) {
            save_checkpoint(epoch, er.batch);
            std::fprintf(stderr, "\ninterrupted: checkpoint saved to %s (continue with --resume)\n",
                         checkpoint.string().c_str());
            return 130;
        }
        if (er.status == epoch_result::not_finite) {
            std::fprintf(stderr, "\nloss is %f at epoch %zu, batch %zu: stopping. The last good weights are in %s "
                                 "and %s.\n", er.loss, epoch + 1, er.batch, best.string().c_str(), checkpoint.string().c_str());
            return 3;
        }
        bar.finish();
        auto const val = evaluate(*tr, val_set, c.flip_test);
        double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        double const lr_now = tr->optimizer().learning_rate();
        bool const improved = val.accuracy > best_accuracy;
        if (improved) {
            best_accuracy = val.accuracy;
            mien::save_weights(*net, best, {{"epoch", std::to_string(epoch + 1)},
                                            {"val_accuracy", std::to_string(val.accuracy)},
                                            {"seed", std::to_string(c.seed)}});
            mien::save_npz(*net, fs::path(c.out) / "best.npz");  // the same weights for NumPy / PyTorch
        }
        save_checkpoint(epoch + 1, 0);
        std::ofstream(log_path, std::ios::app) << epoch + 1 << ',' << lr_now << ',' << er.mean_loss << ','
                                               << er.accuracy << ',' << val.loss << ','
                                               << val.accuracy << ',' << seconds << '\n';
        std::fprintf(stderr, "epoch %zu: train loss %.4f acc %.4f | val loss %.4f acc %.4f%s | %.0f s\n", epoch + 1,
                     er.mean_loss, er.accuracy, val.loss, val.accuracy,
                     improved ? " (best)" : "", seconds);
    }
    std::printf("best validation accuracy %.4f, weights in %s\n", best_accuracy, best.string().c_str());
    return 0;
}

template <class Net>
int train_batch(config const& c) {
    switch (c.batch) {
        case 16: return train<Net, 16>(c);
        case 32: return train<Net, 32>(c);
        case 64: return train<Net, 64>(c);
        default: std::fprintf(stderr, "mien-train: --batch must be 16, 32 or 64 (found %d)\n", c.batch); return 2;
    }
}

int run(config const& c) {
    if (c.model == "paper") return train_batch<mien::models::paper<>>(c);
    if (c.model == "fast") return train_batch<mien::models::fast>(c);
    std::fprintf(stderr, "mien-train: --model must be paper or fast (found %s)\n", c.model.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    char const* env = std::getenv("MIEN_DATA");
    c.data = (fs::path(env ? env : "../shared/data") / "fer2013").string();
    CLI::App app{"mien-train: train a mien facial-expression network"};
    app.add_option("--data", c.data, "data set root holding <split>/<label>/<image>")->capture_default_str();
    app.add_option("--train-split", c.train_split, "training split folder")->capture_default_str();
    app.add_option("--val-split", c.val_split, "validation split folder (selects the best epoch)")->capture_default_str();
    app.add_option("--model", c.model, "paper or fast")->capture_default_str();
    app.add_option("--epochs", c.epochs, "epochs")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--batch", c.batch, "batch size: 16, 32 or 64")->capture_default_str();
    app.add_option("--lr", c.lr, "learning rate (the peak of the one-cycle schedule)")->capture_default_str();
    app.add_option("--schedule", c.schedule, "onecycle or constant (the paper: constant 0.001)")
        ->capture_default_str()->check(CLI::IsMember({"onecycle", "constant"}));
    app.add_option("--dropout", c.dropout, "dropout rate before the last layer")->capture_default_str()->check(CLI::Range(0.0, 0.95));
    app.add_option("--dropout-search", c.dropout_search, "train once per rate (the paper: 0.1 0.2 0.3), each in <out>/dropout-<p>");
    app.add_option("--label-smoothing", c.label_smoothing, "label smoothing epsilon")->capture_default_str();
    app.add_option("--weight-decay", c.weight_decay, "decoupled weight decay (AdamW)")->capture_default_str();
    app.add_option("--seed", c.seed, "random seed (initialisation, shuffling, augmentation, dropout)")->capture_default_str();
    app.add_option("--threads", c.threads, "training threads (1 or 2)")->capture_default_str()->check(CLI::Range(1, 2));
    app.add_option("--init", c.init, "start from these weights (.mien) for fine-tuning");
    app.add_option("--out", c.out, "output folder: best.mien, last.ckpt, log.csv")->capture_default_str();
    app.add_flag("--resume", c.resume, "continue from <out>/last.ckpt");
    app.add_flag("!--no-augment", c.augment, "train without augmentation (the paper's recipe)");
    app.add_option("--max-shift", c.aug.max_shift, "augmentation: shift in pixels")->capture_default_str();
    app.add_option("--max-rotation", c.aug.max_rotation, "augmentation: rotation in degrees")->capture_default_str();
    app.add_flag("--flip-test", c.flip_test, "average predictions of each face and its mirror image when validating");
    c.balance.add_to(app);
    CLI11_PARSE(app, argc, argv);
    std::signal(SIGINT, on_sigint);
    try {
        if (c.dropout_search.empty()) return run(c);
        std::vector<std::pair<double, int>> results;
        for (double p : c.dropout_search) {
            config one = c;
            one.dropout = p;
            one.out = (fs::path(c.out) / ("dropout-" + std::to_string(p).substr(0, 4))).string();
            int const rc = run(one);
            if (rc != 0) return rc;
        }
        std::printf("dropout search done: see %s/dropout-*/log.csv\n", c.out.c_str());
        return 0;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-train: %s\n", e.what());
        return 1;
    }
}
