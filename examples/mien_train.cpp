// mien-train -- train a mien network on a folder data set (FER2013, CK+, ...).
//
//   mien-train --data ../shared/data/fer2013 --model paper --epochs 30 --out runs/paper
//
// Reads <data>/<train-split>/<label>/* and <data>/<val-split>/<label>/*, trains with Adam and a
// one-cycle schedule (or the paper's constant rate; or SGD with (Nesterov) momentum and cosine
// annealing: --optimizer sgd --nesterov --schedule cosine), keeps the best weights by validation
// accuracy (<out>/best.mien), a resumable checkpoint (<out>/last.ckpt) and a per-epoch CSV log
// (<out>/log.csv). Ctrl-C saves the checkpoint and exits; `--resume` continues from it. A NaN
// loss stops the run and leaves the last good files in place.
//
// Targets beyond the folder's labels (mien/train/targets.hpp, distill.hpp):
//   --soft-targets ferplus --soft-weight W   (1 - W) one-hot + W the face's FER+ vote distribution
//                                            over the 7 FER2013 classes (faces without one keep
//                                            the one-hot); ../shared/data/ferplus (--ferplus);
//   --teacher A.mien[,B.mien] --teacher-model paper|fast|large[,...] --distill-weight W --temperature T
//                                            knowledge distillation: (1 - W) target + W the mean of
//                                            the teachers' softmax(z / T) on the same augmented
//                                            (and mixed) batch the student sees;
//   --labels ferplus --protocol majority|probability|crossentropy
//                                            an 8-output model on the FER+ classes (FER2013 images
//                                            labelled by the FER+ votes), validated on FER+
//                                            PublicTest under majority, as the FER+ paper reports.
// These flags, and the teachers' file contents, are recorded in the checkpoint and checked by
// --resume: a resumed run with other targets would silently be another experiment.
//
// Determinism: every batch draws its shuffle position, augmentation and dropout from
// generators seeded by (seed, epoch, batch), and the gradient sum over threads has a fixed
// order, so a seed and a thread count give the same weights on every run (and on resume); the
// epoch loop is the library's (mien/train/epoch.hpp), shared with mien-crossval, and so are the
// run's folder (resume, best weights, checkpoint, log: mien/train/run.hpp) and Ctrl-C
// (mien/train/interrupt.hpp); what is left here is the command line and the data.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <mien/data/augment.hpp>
#include <mien/data/ferplus.hpp>
#include <mien/data/ferplus_folder.hpp>
#include <mien/data/image_folder.hpp>
#include <mien/io/weights.hpp>
#include <mien/mien.hpp>
#include <mien/train/distill.hpp>
#include <mien/train/epoch.hpp>
#include <mien/train/evaluate.hpp>
#include <mien/train/interrupt.hpp>
#include <mien/train/run.hpp>
#include <mien/train/targets.hpp>

#include "common/balance_flags.hpp"
#include "common/number_flags.hpp"
#include "common/progress.hpp"

namespace fs = std::filesystem;

namespace {

struct config {
    std::string data, train_split = "train", val_split = "val", model = "paper", out = "runs/train";
    std::string init, schedule = "onecycle", optimizer = "adam";
    std::string labels = "fer2013", protocol = "majority", soft_targets = "none", ferplus;
    double soft_weight = 0.5;
    std::vector<std::string> teachers;
    std::vector<std::string> teacher_models{"paper"};  // one for all teachers, or one per teacher
    double distill_weight = 0.5, temperature = 4.0;
    int epochs = 30, batch = 32, threads = 2;
    double lr = 3e-3, dropout = 0.2, label_smoothing = 0.0, weight_decay = 0.0, momentum = 0.9;
    bool nesterov = false;
    std::uint64_t seed = 1;
    bool augment = true, resume = false, flip_test = false;
    mien::augment_options aug;
    balance_flags balance;
    std::vector<double> dropout_search;
};

// FNV-1a of a file's bytes: --resume checks that the teachers are the same files.
std::string file_hash(std::string const& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) mien::fail("cannot open %s", path.c_str());
    std::uint64_t h = 0xcbf29ce484222325ull;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0)
        for (std::streamsize i = 0; i < in.gcount(); ++i) h = (h ^ std::uint8_t(buffer[i])) * 0x100000001b3ull;
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
    return text;
}

std::string joined(std::vector<std::string> const& items) {
    std::string all;
    for (auto const& i : items) all += (all.empty() ? "" : ",") + i;
    return all;
}

std::string number(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", v);
    return text;
}

// What decides the targets of a run: stored in every checkpoint and compared on --resume.
// Checkpoints written before these keys existed hold plain runs, which the defaults describe;
// those from before batch_size and peak_lr were stored still resume.
mien::run_settings target_settings(config const& c) {
    mien::run_settings s;
    s.compared = {"labels", "protocol", "soft_targets", "soft_weight", "teachers", "teacher_hashes", "teacher_model",
                  "distill_weight", "temperature", "seed", "batch_size", "peak_lr", "random_erasing", "label_smoothing", "optimizer", "momentum", "nesterov", "schedule"};
    s.defaults = {{"labels", "fer2013"}, {"soft_targets", "none"}, {"random_erasing", "0"}, {"label_smoothing", "0"},
                  {"optimizer", "adam"}, {"schedule", "onecycle"}};
    s.added_later = {"batch_size", "peak_lr"};
    s.who = "--resume";
    s.advice = "resume with the same flags (or start another --out)";
    mien::file_metadata& m = s.values;
    m = {{"labels", c.labels}, {"soft_targets", c.soft_targets}, {"teachers", ""}};
    // The run's randomness and schedule too: resuming another run's checkpoint with another seed,
    // batch or rate was silently accepted and gave a mixture of two experiments.
    m["seed"] = std::to_string(c.seed);
    m["batch_size"] = std::to_string(c.batch);
    m["peak_lr"] = number(c.lr);
    if (c.labels == "ferplus") m["protocol"] = c.protocol;
    if (c.soft_targets != "none") m["soft_weight"] = number(c.soft_weight);
    // Stored only when used: checkpoints of runs without them stay byte-identical.
    if (c.aug.erase > 0) m["random_erasing"] = number(c.aug.erase);
    if (c.label_smoothing > 0) m["label_smoothing"] = number(c.label_smoothing);
    if (c.schedule != "onecycle") m["schedule"] = c.schedule;
    if (c.optimizer != "adam") {
        m["optimizer"] = c.optimizer;
        m["momentum"] = number(c.momentum);
        m["nesterov"] = c.nesterov ? "1" : "0";
    }
    if (!c.teachers.empty()) {
        std::vector<std::string> hashes;
        for (auto const& t : c.teachers) hashes.push_back(file_hash(t));
        m["teachers"] = joined(c.teachers);
        m["teacher_hashes"] = joined(hashes);
        m["teacher_model"] = joined(c.teacher_models);
        m["distill_weight"] = number(c.distill_weight);
        m["temperature"] = number(c.temperature);
    }
    return s;
}

std::string usage_of(std::string const& split) {
    if (split == "train") return "Training";
    if (split == "val") return "PublicTest";
    mien::fail("--labels ferplus: split '%s' has no FER+ usage (expected train or val)", split.c_str());
}

// The network of teacher i: --teacher-model's one value for all, or its i-th.
std::string const& teacher_model_of(config const& c, std::size_t i) {
    return c.teacher_models.size() == 1 ? c.teacher_models.front() : c.teacher_models[i];
}

// The teachers of network `model` as a target function for the epoch loop (they must have the
// student's classes), added to `groups`; each teacher's own validation accuracy is printed, the
// figure to quote next to the student's.
template <class Teacher>
void make_teachers(config const& c, std::string const& model, std::unique_ptr<mien::teacher_ensemble<Teacher>>& keep,
                   mien::dataset const& val, std::vector<mien::teacher_group>& groups) {
    std::vector<std::string> files;
    for (std::size_t i = 0; i < c.teachers.size(); ++i)
        if (teacher_model_of(c, i) == model) files.push_back(c.teachers[i]);
    if (files.empty()) return;
    keep = std::make_unique<mien::teacher_ensemble<Teacher>>(c.temperature, std::size_t(c.threads));
    for (auto const& t : files) {
        try {
            keep->add(t);
        } catch (mien::error const& e) {
            mien::fail("--teacher %s (as the %s model): %s", t.c_str(), model.c_str(), e.what());
        }
    }
    auto const accuracy = keep->accuracies(val, c.flip_test);
    for (std::size_t i = 0; i < files.size(); ++i)
        std::fprintf(stderr, "teacher %s: val accuracy %.4f%s\n", files[i].c_str(), accuracy[i], c.flip_test ? " (flip-test)" : "");
    groups.push_back({keep->function(), files.size()});
}

// Net's topology with the widths of `name` (paper or fast) and Net's number of classes.
template <std::size_t K>
using paper_k = mien::models::paper<32, 64, 128, 64, 128, K>;
template <std::size_t K>
using fast_k = mien::models::paper<16, 32, 64, 32, 64, K>;
template <std::size_t K>
using large_k = mien::models::paper<64, 128, 256, 128, 256, K>;

// The optimiser's options from the flags (Adam's or SGD's).
mien::adam_options optimizer_options(config const& c, mien::adam_options o) {
    o.learning_rate = c.lr;
    o.weight_decay = c.weight_decay;
    return o;
}
mien::sgd_options optimizer_options(config const& c, mien::sgd_options o) {
    o.learning_rate = c.lr;
    o.weight_decay = c.weight_decay;
    o.momentum = c.momentum;
    o.nesterov = c.nesterov;
    return o;
}

template <class Net, std::size_t B, template <class, std::size_t> class Optimizer>
int train(config const& c) {
    using trainer_t = mien::trainer<Net, B, Optimizer, 2>;
    constexpr std::size_t K = Net::outputs;
    std::fprintf(stderr, "loading %s/{%s,%s} ...\n", c.data.c_str(), c.train_split.c_str(), c.val_split.c_str());
    mien::dataset train_set, val_set;
    mien::soft_targets soft;
    bool draw_labels = false;
    double soft_weight = 0;
    if (c.labels == "ferplus") {
        auto const votes = mien::load_ferplus_votes(c.ferplus);
        auto const protocol = mien::parse_ferplus_protocol(c.protocol);
        auto train_fp = mien::load_ferplus_folder(c.data, votes, usage_of(c.train_split), protocol);
        auto val_fp = mien::load_ferplus_folder(c.data, votes, usage_of(c.val_split), mien::ferplus_protocol::majority);
        std::fprintf(stderr, "FER+ labels: train %zu of %zu faces kept by %s, val %zu of %zu kept by majority\n",
                     train_fp.faces.size(), train_fp.mapped, c.protocol.c_str(), val_fp.faces.size(), val_fp.mapped);
        if (protocol != mien::ferplus_protocol::majority) {
            soft = mien::soft_targets::from(train_fp.targets);
            soft_weight = 1.0;
            draw_labels = protocol == mien::ferplus_protocol::probability;
        }
        train_set = std::move(train_fp.faces);
        val_set = std::move(val_fp.faces);
    } else {
        train_set = mien::load_image_folder(fs::path(c.data) / c.train_split);
        val_set = mien::load_image_folder(fs::path(c.data) / c.val_split);
        if (c.soft_targets == "ferplus") {
            auto const votes = mien::load_ferplus_votes(c.ferplus);
            std::size_t found = 0;
            soft = mien::soft_targets::from(mien::fer2013_soft_targets(train_set, c.data, votes, &found));
            soft_weight = c.soft_weight;
            std::fprintf(stderr, "FER+ soft targets (weight %.3g) for %zu of %zu training faces; the others keep their one-hot\n",
                         c.soft_weight, found, train_set.size());
            if (found == 0) mien::fail("--soft-targets ferplus: no training face under %s has FER+ votes", c.data.c_str());
        }
    }
    std::fprintf(stderr, "train %zu faces, val %zu faces; model %s (%zu params, %zu MACs, %zu classes), batch %zu, %d threads\n",
                 train_set.size(), val_set.size(), c.model.c_str(), Net::params, Net::macs, K, B, c.threads);

    auto net = std::make_unique<Net>();
    net->init(c.seed);
    if (!c.init.empty()) mien::load_weights(*net, c.init);
    net->set_dropout_rate(c.dropout);
    auto tr = std::make_unique<trainer_t>(*net, optimizer_options(c, typename trainer_t::optimizer_type::options{}), c.seed,
                                          std::size_t(c.threads));
    std::fprintf(stderr, "%s\n", c.balance.apply(*tr, train_set).c_str());

    std::unique_ptr<mien::teacher_ensemble<paper_k<K>>> paper_teachers;
    std::unique_ptr<mien::teacher_ensemble<fast_k<K>>> fast_teachers;
    std::unique_ptr<mien::teacher_ensemble<large_k<K>>> large_teachers;
    mien::teacher_function teacher;
    if (!c.teachers.empty()) {
        std::vector<mien::teacher_group> groups;
        make_teachers(c, "paper", paper_teachers, val_set, groups);
        make_teachers(c, "fast", fast_teachers, val_set, groups);
        make_teachers(c, "large", large_teachers, val_set, groups);
        teacher = mien::mix_teachers(std::move(groups), K);
        std::fprintf(stderr, "distilling from %zu %s teacher(s) at temperature %.3g, weight %.3g\n", c.teachers.size(),
                     joined(c.teacher_models).c_str(), c.temperature, c.distill_weight);
    }

    std::size_t const steps_per_epoch = mien::batches_per_epoch<trainer_t>(train_set);
    std::size_t const total_steps = steps_per_epoch * std::size_t(c.epochs);
    mien::run_folder run(c.out, target_settings(c), {{"model", c.model}});
    mien::run_position const start = run.start(*tr, c.resume);
    if (run.resumed())
        std::fprintf(stderr, "resumed from %s at epoch %zu, batch %zu (best val %.4f)\n", run.checkpoint_path().string().c_str(),
                     start.epoch + 1, start.batch, start.best_accuracy);

    mien::augment_options const aug = c.augment ? c.aug : mien::augment_options::none();
    for (std::size_t epoch = start.epoch; epoch < std::size_t(c.epochs); ++epoch) {
        auto const started = std::chrono::steady_clock::now();
        progress bar(steps_per_epoch, "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(c.epochs));
        mien::epoch_options eo;
        eo.seed = c.seed;
        eo.epoch = epoch;
        eo.first_batch = epoch == start.epoch ? start.batch : 0;
        eo.total_steps = total_steps;
        eo.lr = c.lr;
        mien::parse_lr_schedule(c.schedule, eo.schedule);  // the flag's values are checked by CLI11
        eo.label_smoothing = c.label_smoothing;
        eo.mixup_alpha = c.balance.mixup;
        eo.augment = aug;
        if (soft.size()) {
            eo.soft = &soft;
            eo.soft_weight = soft_weight;
            eo.draw_labels = draw_labels;
        }
        eo.teacher = teacher;
        eo.teacher_weight = c.distill_weight;
        mien::epoch_result const er = mien::train_epoch(*tr, train_set, eo, &mien::stop_requested(),
                                                        [&bar](std::size_t done, double loss, double accuracy) { bar.update(done, loss, accuracy); });
        if (er.status == mien::epoch_result::interrupted) {
            run.save(*tr, epoch, er.batch);
            std::fprintf(stderr, "\ninterrupted: checkpoint saved to %s (continue with --resume)\n",
                         run.checkpoint_path().string().c_str());
            return 130;
        }
        if (er.status == mien::epoch_result::not_finite) {
            std::fprintf(stderr, "\nloss is %f at epoch %zu, batch %zu: stopping. The last good weights are in %s "
                                 "and %s.\n", er.loss, epoch + 1, er.batch, run.best_path().string().c_str(),
                         run.checkpoint_path().string().c_str());
            return 3;
        }
        bar.finish();
        auto const val = mien::evaluate(*tr, val_set, c.flip_test);
        double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        bool const improved = run.finish_epoch(*tr, epoch, er, val, seconds);
        std::fprintf(stderr, "epoch %zu: train loss %.4f acc %.4f | val loss %.4f acc %.4f%s | %.0f s\n", epoch + 1,
                     er.mean_loss, er.accuracy, val.loss, val.accuracy,
                     improved ? " (best)" : "", seconds);
    }
    std::printf("best validation accuracy %.4f, weights in %s\n", run.best_accuracy(), run.best_path().string().c_str());
    return 0;
}

template <class Net, std::size_t B>
int train_optimizer(config const& c) {
    return c.optimizer == "sgd" ? train<Net, B, mien::sgd>(c) : train<Net, B, mien::adam>(c);
}

template <class Net>
int train_batch(config const& c) {
    switch (c.batch) {
        case 16: return train_optimizer<Net, 16>(c);
        case 32: return train_optimizer<Net, 32>(c);
        case 64: return train_optimizer<Net, 64>(c);
        default: std::fprintf(stderr, "mien-train: --batch must be 16, 32 or 64 (found %d)\n", c.batch); return 2;
    }
}

// Flags that do not combine, refused before any data is loaded.
void check_flags(config const& c) {
    bool const soft = c.soft_targets != "none" || !c.teachers.empty() || (c.labels == "ferplus" && c.protocol != "majority");
    if (soft && c.balance.class_weights != "none")
        mien::fail("--class-weights %s does not combine with soft targets (--soft-targets, --teacher, --protocol probability "
                   "or crossentropy): they carry no class weight", c.balance.class_weights.c_str());
    if (c.labels == "ferplus" && c.soft_targets != "none")
        mien::fail("--soft-targets %s is for the 7 FER2013 classes; with --labels ferplus use --protocol probability or "
                   "crossentropy", c.soft_targets.c_str());
    for (auto const& t : c.teachers)
        if (!fs::is_regular_file(t)) mien::fail("--teacher: %s is not a file", t.c_str());
    if (!c.teachers.empty() && c.teacher_models.size() != 1 && c.teacher_models.size() != c.teachers.size())
        mien::fail("--teacher-model: %zu networks for %zu teachers; expected one for all or one per teacher",
                   c.teacher_models.size(), c.teachers.size());
    if (c.nesterov && c.optimizer != "sgd")
        mien::fail("--nesterov is a momentum of --optimizer sgd; this run uses --optimizer %s", c.optimizer.c_str());
}

int run(config const& c) {
    check_flags(c);
    bool const ferplus = c.labels == "ferplus";
    if (c.model == "paper") return ferplus ? train_batch<paper_k<8>>(c) : train_batch<paper_k<7>>(c);
    if (c.model == "fast") return ferplus ? train_batch<fast_k<8>>(c) : train_batch<fast_k<7>>(c);
    if (c.model == "large") return ferplus ? train_batch<large_k<8>>(c) : train_batch<large_k<7>>(c);
    std::fprintf(stderr, "mien-train: --model must be paper, fast or large (found %s)\n", c.model.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    char const* env = std::getenv("MIEN_DATA");
    c.data = (fs::path(env ? env : "../shared/data") / "fer2013").string();
    c.ferplus = (fs::path(env ? env : "../shared/data") / "ferplus").string();
    CLI::App app{"mien-train: train a mien facial-expression network"};
    app.add_option("--data", c.data, "data set root holding <split>/<label>/<image>")->capture_default_str();
    app.add_option("--train-split", c.train_split, "training split folder")->capture_default_str();
    app.add_option("--val-split", c.val_split, "validation split folder (selects the best epoch)")->capture_default_str();
    app.add_option("--model", c.model, "paper, fast or large (twice the paper's widths: a teacher)")->capture_default_str();
    app.add_option("--epochs", c.epochs, "epochs")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--batch", c.batch, "batch size: 16, 32 or 64")->capture_default_str();
    // Numeric flags use finite_range (common/number_flags.hpp): CLI::Range lets NaN through.
    app.add_option("--lr", c.lr, "learning rate (the peak of the one-cycle or cosine schedule)")->capture_default_str()
        ->check(finite_range(0.0, 10.0, true));
    app.add_option("--schedule", c.schedule, "onecycle, constant (the paper: constant 0.001) or cosine (2 % linear "
                                             "warm-up, then cosine annealing to 0)")
        ->capture_default_str()->check(CLI::IsMember({"onecycle", "constant", "cosine"}));
    app.add_option("--optimizer", c.optimizer, "adam (the paper's) or sgd (with --momentum, --nesterov)")
        ->capture_default_str()->check(CLI::IsMember({"adam", "sgd"}));
    app.add_option("--momentum", c.momentum, "--optimizer sgd: momentum")->capture_default_str()->check(finite_range(0.0, 0.999));
    app.add_flag("--nesterov", c.nesterov, "--optimizer sgd: Nesterov momentum");
    app.add_option("--dropout", c.dropout, "dropout rate before the last layer")->capture_default_str()->check(finite_range(0.0, 0.95));
    app.add_option("--dropout-search", c.dropout_search, "train once per rate (the paper: 0.1 0.2 0.3), each in <out>/dropout-<p>");
    app.add_option("--label-smoothing", c.label_smoothing, "label smoothing epsilon")->capture_default_str()
        ->check(finite_range(0.0, 0.99));
    app.add_option("--weight-decay", c.weight_decay, "weight decay: decoupled with adam (AdamW), L2 with sgd")->capture_default_str()
        ->check(finite_range(0.0, 1.0));
    app.add_option("--seed", c.seed, "random seed (initialisation, shuffling, augmentation, dropout)")->capture_default_str();
    app.add_option("--threads", c.threads, "training threads (1 or 2)")->capture_default_str()->check(CLI::Range(1, 2));
    app.add_option("--init", c.init, "start from these weights (.mien) for fine-tuning");
    app.add_option("--out", c.out, "output folder: best.mien, last.ckpt, log.csv")->capture_default_str();
    app.add_flag("--resume", c.resume, "continue from <out>/last.ckpt");
    app.add_flag("!--no-augment", c.augment, "train without augmentation (the paper's recipe)");
    app.add_option("--max-shift", c.aug.max_shift, "augmentation: shift in pixels")->capture_default_str()
        ->check(CLI::Range(0, 24));  // half the face; 2 * shift + 1 must not overflow
    app.add_option("--max-rotation", c.aug.max_rotation, "augmentation: rotation in degrees")->capture_default_str()
        ->check(finite_range(0.0, 180.0));
    app.add_option("--random-erasing", c.aug.erase, "augmentation: probability of erasing a random rectangle of 2-25 % of "
                                                    "the face (filled with noise); 0: off")
        ->capture_default_str()->check(finite_range(0.0, 1.0));
    app.add_flag("--flip-test", c.flip_test, "average predictions of each face and its mirror image when validating");
    c.balance.add_to(app);
    app.add_option("--labels", c.labels, "fer2013 (7 classes, the folder names) or ferplus (8 classes from the FER+ votes)")
        ->capture_default_str()->check(CLI::IsMember({"fer2013", "ferplus"}));
    app.add_option("--protocol", c.protocol, "--labels ferplus: majority, probability (a label drawn from the votes every "
                                             "epoch) or crossentropy (the vote distribution as target)")
        ->capture_default_str()->check(CLI::IsMember({"majority", "probability", "crossentropy"}));
    app.add_option("--soft-targets", c.soft_targets, "none, or ferplus: blend each face's FER+ vote distribution into its target")
        ->capture_default_str()->check(CLI::IsMember({"none", "ferplus"}));
    app.add_option("--soft-weight", c.soft_weight, "weight W of the soft target: (1 - W) one-hot + W soft")
        ->capture_default_str()->check(finite_range(0.0, 1.0));
    app.add_option("--ferplus", c.ferplus, "folder of fer2013new.csv and fer2013new_to_fer2013_files.csv")->capture_default_str();
    app.add_option("--teacher", c.teachers, "teacher weights for distillation (comma-separated for an ensemble)")->delimiter(',');
    app.add_option("--teacher-model", c.teacher_models, "the teachers' network: paper, fast or large; one for all "
                                                        "teachers or one per teacher (comma-separated: a mixed ensemble)")
        ->capture_default_str()->delimiter(',')->check(CLI::IsMember({"paper", "fast", "large"}));
    app.add_option("--distill-weight", c.distill_weight, "weight W of the teachers: (1 - W) target + W teachers")
        ->capture_default_str()->check(finite_range(0.0, 1.0));
    app.add_option("--temperature", c.temperature, "distillation temperature T (teachers' softmax(z / T))")
        ->capture_default_str()->check(finite_range(0.05, 100.0));
    CLI11_PARSE(app, argc, argv);
    mien::stop_on_interrupt();
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
