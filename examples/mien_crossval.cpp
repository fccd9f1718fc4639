// mien-crossval -- the paper's CK+ and JAFFE protocols: fine-tune FER2013 weights per fold,
// test on the held-out fold, report per-fold and mean +- standard deviation accuracy.
//
//   mien-crossval --data ../shared/data/ckplus --protocol subject-kfold --init models/paper.mien
//   mien-crossval --data ../shared/data/jaffe  --protocol loso          --init models/paper.mien
//   mien-crossval --data ../shared/data/jaffe  --protocol random-kfold  --init models/paper.mien
//
// --data is the CK+48 folder (it has a `contempt` subfolder; contempt dropped unless
// --contempt neutral) or the JAFFE folder (faces found and cropped by the webcam demo's path,
// mien/vision/face_detector.hpp + face_crop.hpp, with the library's default crop options
// unless --margin or --offset is given). The folds (mien/data/folds.hpp), built in memory:
//   subject-kfold  --folds K folds by subject: no subject in both a fold's train and test;
//   loso           one fold per subject (JAFFE: 10);
//   random-kfold   --folds K stratified random folds: the same person (on CK+ the same
//                  sequence) can be in train and test; the report counts such subjects.
// check_folds verifies every sample is tested exactly once (and, for the subject protocols,
// subject independence) before anything is trained.
//
// Each fold starts from a fresh copy of the --init weights and is fine-tuned on the fold's
// training part with mien-train's epoch loop (mien/train/epoch.hpp: Adam, one-cycle or
// constant rate, seeded augmentation); the weights after the last epoch are tested. Nothing is
// chosen by test accuracy. --validate is the recipe check: each selected fold's *training* part
// is split again (by subject for the subject protocols, stratified for random-kfold), the
// network is trained on the rest and scored on that validation part after every epoch; the
// test fold is not touched.
//
// Output: per-fold lines and `mean +- std` on stdout (with --json: on stderr, and one JSON
// object on stdout: `accuracy` the mean over the folds run, `std`, `pooled_accuracy`, `folds`
// (one object per fold), `per_class` and `confusion` pooled over the folds, and the settings
// that produced them). --out DIR: folds.csv (one row per fold), epochs.csv (one row per fold and
// epoch), predictions.csv (one row per tested face), confusion.{png,csv} (summed over folds),
// summary.json. The standard deviation is the sample one (n - 1) over the folds.
//
// Determinism: folds depend on --seed only; each fold's training seeds from (seed, fold), so a
// seed and a thread count give the same predictions on every run, whichever --fold are run.
// Exit status: 0 done, 1 bad input, 2 bad flags, 3 a non-finite loss.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <mien/data/ckplus.hpp>
#include <mien/data/folds.hpp>
#include <mien/data/jaffe.hpp>
#include <mien/data/labels.hpp>
#include <mien/io/weights.hpp>
#include <mien/mien.hpp>
#include <mien/train/evaluate.hpp>
#include <mien/train/metrics.hpp>
#include <mien/train/epoch.hpp>
#include <mien/vision/jaffe_faces.hpp>

#include "common/confusion_image.hpp"
#include "common/balance_flags.hpp"
#include "common/number_flags.hpp"

namespace fs = std::filesystem;

namespace {

using mien::evaluation;
using mien::report_from_confusion;
using mien::classification_report;
using mien::epoch_options;
using mien::epoch_result;
using mien::batches_per_epoch;
using mien::train_epoch;
using mien::evaluate;
using mien::batch_seed;

struct config {
    std::string data, format = "auto", protocol, init, model = "paper", schedule = "onecycle", contempt = "drop", out;
    int folds = 10, epochs = 20, batch = 32, threads = 2;
    double lr = 1e-3, dropout = 0.2, weight_decay = 0.0, label_smoothing = 0.0;
    double margin = mien::face_crop_options{}.margin, offset = mien::face_crop_options{}.offset;
    std::uint64_t seed = 1;
    std::vector<int> only;  // --fold: run just these (0-based)
    bool augment = true, flip_test = false, validate = false, json = false;
    mien::augment_options aug;
    balance_flags balance;
};

std::FILE* report_stream(config const& c) { return c.json ? stderr : stdout; }

struct loaded {
    mien::dataset data;
    std::string format, description;
};

loaded load(config const& c) {
    loaded l;
    if (!fs::is_directory(c.data)) mien::fail("%s is not a directory (expected the CK+48 or JAFFE folder)", c.data.c_str());
    l.format = c.format != "auto" ? c.format : fs::is_directory(fs::path(c.data) / "contempt") ? "ckplus" : "jaffe";
    if (l.format == "ckplus") {
        mien::ckplus_options o;
        o.contempt = c.contempt == "neutral" ? mien::contempt_policy::neutral : mien::contempt_policy::drop;
        l.data = mien::load_ckplus(c.data, o);
        l.description = c.data + " (contempt " + (c.contempt == "neutral" ? "as neutral" : "dropped") + ")";
    } else {
        mien::jaffe_options o;
        o.crop.margin = c.margin;
        o.crop.offset = c.offset;
        mien::face_load_report report;
        l.data = mien::load_jaffe(c.data, o, &report);
        char text[160];
        std::snprintf(text, sizeof text, " (face detected in %zu of %zu photos, crop margin %g, offset %g)",
                      report.detected, report.images, c.margin, c.offset);
        l.description = c.data + text;
        for (auto const& f : report.centre_cropped) std::fprintf(stderr, "no face found, centre-cropped: %s\n", f.c_str());
    }
    return l;
}

bool by_subject(std::string const& protocol) { return protocol != "random-kfold"; }

std::vector<mien::fold> make_folds(config const& c, mien::dataset const& d) {
    std::vector<mien::fold> folds = c.protocol == "loso"           ? mien::leave_one_subject_out(d)
                                    : c.protocol == "subject-kfold" ? mien::subject_k_fold(d, std::size_t(c.folds), c.seed)
                                                                    : mien::stratified_k_fold(d, std::size_t(c.folds), c.seed);
    mien::check_folds(folds, d.size(), by_subject(c.protocol) ? std::span<std::string const>(d.subjects)
                                                              : std::span<std::string const>());
    return folds;
}

// --validate: the fold's training part split into (train, validation) the same way the
// protocol splits the whole set: by subject (one of min(10, subjects) subject folds), or
// stratified (one of 10 folds).
std::pair<mien::dataset, mien::dataset> carve_validation(config const& c, mien::dataset const& part, std::uint64_t seed) {
    std::set<std::string> const subjects(part.subjects.begin(), part.subjects.end());
    std::vector<mien::fold> const inner =
        by_subject(c.protocol) ? mien::subject_k_fold(part, std::min<std::size_t>(10, subjects.size()), seed)
                               : mien::stratified_k_fold(part, 10, seed);
    return {part.subset(inner[0].train), part.subset(inner[0].test)};
}

std::set<std::string> subjects_of(mien::dataset const& d) { return {d.subjects.begin(), d.subjects.end()}; }

struct fold_result {
    std::size_t fold = 0, train = 0, test = 0, test_subjects = 0, shared_subjects = 0, correct = 0;
    double pretrained_accuracy = 0, accuracy = 0, seconds = 0;
    evaluation eval;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

template <class Net, std::size_t B>
int run_folds(config const& c) {
    using trainer_t = mien::trainer<Net, B, mien::adam, 2>;
    auto const started = std::chrono::steady_clock::now();
    auto pretrained = std::make_unique<Net>();
    pretrained->init(c.seed);
    if (!c.init.empty()) mien::load_weights(*pretrained, c.init);  // before the data: a wrong file fails fast

    loaded const l = load(c);
    mien::dataset const& d = l.data;
    std::vector<mien::fold> const folds = make_folds(c, d);
    std::FILE* const f = report_stream(c);
    std::fprintf(f, "mien-crossval: %s [%s], %zu faces of %zu subjects; %s, %zu folds%s; %s from %s; %d epochs, lr %g "
                    "(%s), batch %zu, dropout %.2f, seed %llu, %d threads%s\n",
                 l.description.c_str(), l.format.c_str(), d.size(), subjects_of(d).size(), c.protocol.c_str(), folds.size(),
                 c.validate ? " (--validate: scoring on validation carved from each training part)" : "",
                 c.model.c_str(), c.init.empty() ? "random weights" : c.init.c_str(), c.epochs, c.lr, c.schedule.c_str(), B,
                 c.dropout, static_cast<unsigned long long>(c.seed), c.threads, c.flip_test ? ", flip-test" : "");
    std::fprintf(f, "folds checked: every face in exactly one test fold%s\n",
                 by_subject(c.protocol) ? ", no subject in both train and test" : "");
    std::fflush(f);
    for (int i : c.only)
        if (i < 0 || std::size_t(i) >= folds.size())
            mien::fail("--fold %d: this protocol has folds 0 to %zu", i, folds.size() - 1);

    fs::path const out = c.out;
    std::ofstream epochs_csv, predictions_csv;
    if (!c.out.empty()) {
        fs::create_directories(out);
        epochs_csv.open(out / "epochs.csv");
        epochs_csv << "fold,epoch,lr,train_loss,train_accuracy" << (c.validate ? ",val_loss,val_accuracy" : "")
                   << ",seconds\n";
        predictions_csv.open(out / "predictions.csv");
        predictions_csv << "fold,source,subject,truth,predicted\n";
    }

    mien::adam_options opt;
    opt.learning_rate = c.lr;
    opt.weight_decay = c.weight_decay;
    std::vector<fold_result> results;
    for (std::size_t k = 0; k < folds.size(); ++k) {
        if (!c.only.empty() && std::find(c.only.begin(), c.only.end(), int(k)) == c.only.end()) continue;
        auto const fold_started = std::chrono::steady_clock::now();
        std::uint64_t const fold_seed = batch_seed(c.seed ^ 0xF01Du, k, 0);
        mien::dataset train = d.subset(folds[k].train), test = d.subset(folds[k].test);
        if (c.validate) std::tie(train, test) = carve_validation(c, train, fold_seed);
        fold_result r;
        r.fold = k;
        r.train = train.size();
        r.test = test.size();
        auto const train_subjects = subjects_of(train), test_subjects = subjects_of(test);
        r.test_subjects = test_subjects.size();
        for (auto const& s : test_subjects) r.shared_subjects += train_subjects.count(s);

        auto net = std::make_unique<Net>(*pretrained);
        net->set_dropout_rate(c.dropout);
        auto tr = std::make_unique<trainer_t>(*net, opt, fold_seed, std::size_t(c.threads));
        r.pretrained_accuracy = evaluate(*tr, test, c.flip_test).accuracy;

        epoch_options eo;
        eo.seed = fold_seed;
        eo.total_steps = batches_per_epoch<trainer_t>(train) * std::size_t(c.epochs);
        eo.lr = c.lr;
        mien::parse_lr_schedule(c.schedule, eo.schedule);
        eo.label_smoothing = c.label_smoothing;
        eo.augment = c.augment ? c.aug : mien::augment_options::none();
        eo.mixup_alpha = c.balance.mixup;
        std::string const balance = c.balance.apply(*tr, train);
        if (results.empty()) std::fprintf(f, "fold %zu: %s\n", k, balance.c_str());
        for (int epoch = 0; epoch < c.epochs; ++epoch) {
            auto const epoch_started = std::chrono::steady_clock::now();
            eo.epoch = std::size_t(epoch);
            epoch_result const er = train_epoch(*tr, train, eo);
            if (er.status == epoch_result::not_finite) {
                std::fprintf(stderr, "mien-crossval: loss is %f in fold %zu, epoch %d, batch %zu: stopping\n", er.loss, k,
                             epoch + 1, er.batch);
                return 3;
            }
            evaluation const val = c.validate ? evaluate(*tr, test, c.flip_test) : evaluation{};
            std::fprintf(stderr, "  fold %zu epoch %d/%d: train loss %.4f acc %.4f", k, epoch + 1, c.epochs, er.mean_loss,
                         er.accuracy);
            if (c.validate) std::fprintf(stderr, " | validation loss %.4f acc %.4f", val.loss, val.accuracy);
            std::fprintf(stderr, " | %.1f s\n", seconds_since(epoch_started));
            if (!epochs_csv.is_open()) continue;
            epochs_csv << k << ',' << epoch + 1 << ',' << tr->optimizer().learning_rate() << ',' << er.mean_loss << ','
                       << er.accuracy;
            if (c.validate) epochs_csv << ',' << val.loss << ',' << val.accuracy;
            epochs_csv << ',' << seconds_since(epoch_started) << '\n' << std::flush;
        }
        r.eval = evaluate(*tr, test, c.flip_test);
        r.accuracy = r.eval.accuracy;
        r.correct = report_from_confusion(r.eval.confusion).correct;
        r.seconds = seconds_since(fold_started);
        std::fprintf(f, "fold %2zu: train %4zu, %s %3zu faces of %zu subjects (%zu also in train): %s %.4f (%zu / %zu), "
                        "before fine-tuning %.4f | %.0f s\n",
                     k, r.train, c.validate ? "validation" : "test", r.test, r.test_subjects, r.shared_subjects,
                     c.validate ? "validation accuracy" : "accuracy", r.accuracy, r.correct, r.test, r.pretrained_accuracy,
                     r.seconds);
        std::fflush(f);
        if (predictions_csv.is_open())
            for (std::size_t i = 0; i < test.size(); ++i)
                predictions_csv << k << ',' << test.sources[i] << ',' << test.subjects[i] << ','
                                << mien::expression_names[std::size_t(test.labels[i])] << ','
                                << mien::expression_names[std::size_t(r.eval.predictions[i])] << '\n';
        results.push_back(std::move(r));
    }

    // Mean and sample standard deviation over the folds run; pooled = all tested faces.
    double mean = 0, var = 0, pretrained_mean = 0;
    confusion_matrix confusion(Net::outputs, std::vector<std::size_t>(Net::outputs, 0));
    for (auto const& r : results) {
        mean += r.accuracy / double(results.size());
        pretrained_mean += r.pretrained_accuracy / double(results.size());
        for (std::size_t t = 0; t < Net::outputs; ++t)
            for (std::size_t p = 0; p < Net::outputs; ++p) confusion[t][p] += r.eval.confusion[t][p];
    }
    for (auto const& r : results) var += (r.accuracy - mean) * (r.accuracy - mean);
    double const stddev = results.size() > 1 ? std::sqrt(var / double(results.size() - 1)) : 0.0;
    classification_report const pooled = report_from_confusion(confusion);
    double const total_seconds = seconds_since(started);
    std::fprintf(f, "%s accuracy over %zu folds: mean %.2f %% +- %.2f (sample std), pooled %.2f %% (%zu / %zu); before "
                    "fine-tuning: mean %.2f %% | %.1f min\n",
                 c.validate ? "validation" : "test", results.size(), 100 * mean, 100 * stddev, 100 * pooled.accuracy,
                 pooled.correct, pooled.total, 100 * pretrained_mean, total_seconds / 60);

    nlohmann::ordered_json j;
    j["accuracy"] = mean;
    j["std"] = stddev;
    j["pooled_accuracy"] = pooled.accuracy;
    j["pretrained_accuracy"] = pretrained_mean;
    j["macro_f1"] = pooled.macro_f1;
    j["scored_on"] = c.validate ? "validation" : "test";
    j["folds"] = nlohmann::ordered_json::array();
    for (auto const& r : results)
        j["folds"].push_back({{"fold", r.fold}, {"train", r.train}, {"test", r.test}, {"test_subjects", r.test_subjects},
                              {"shared_subjects", r.shared_subjects}, {"correct", r.correct}, {"accuracy", r.accuracy},
                              {"pretrained_accuracy", r.pretrained_accuracy}, {"seconds", r.seconds}});
    nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
    for (std::size_t k = 0; k < pooled.per_class.size(); ++k) {
        auto const& m = pooled.per_class[k];
        per_class[std::string(mien::expression_names[k])] = {
            {"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1}, {"support", m.support}};
    }
    j["per_class"] = per_class;
    j["confusion"] = confusion;
    j["classes"] = std::vector<std::string>(mien::expression_names.begin(), mien::expression_names.end());
    j["data"] = l.description;
    j["format"] = l.format;
    j["faces"] = d.size();
    j["subjects"] = subjects_of(d).size();
    j["protocol"] = c.protocol;
    j["fold_count"] = folds.size();
    j["init"] = c.init;
    j["model"] = c.model;
    j["epochs"] = c.epochs;
    j["batch"] = B;
    j["lr"] = c.lr;
    j["schedule"] = c.schedule;
    j["dropout"] = c.dropout;
    j["weight_decay"] = c.weight_decay;
    j["label_smoothing"] = c.label_smoothing;
    j["class_weights"] = c.balance.class_weights;
    j["mixup"] = c.balance.mixup;
    j["augment"] = c.augment ? nlohmann::ordered_json{{"max_shift", c.aug.max_shift}, {"max_rotation", c.aug.max_rotation}}
                             : nlohmann::ordered_json(false);
    j["flip_test"] = c.flip_test;
    if (l.format == "ckplus") j["contempt"] = c.contempt;
    else {
        j["margin"] = c.margin;
        j["offset"] = c.offset;
    }
    j["seed"] = c.seed;
    j["threads"] = c.threads;
    j["seconds"] = total_seconds;

    if (!c.out.empty()) {
        std::ostringstream folds_csv;
        folds_csv << "fold,train,test,test_subjects,shared_subjects,pretrained_accuracy,correct,accuracy,seconds\n";
        for (auto const& r : results)
            folds_csv << r.fold << ',' << r.train << ',' << r.test << ',' << r.test_subjects << ',' << r.shared_subjects
                      << ',' << r.pretrained_accuracy << ',' << r.correct << ',' << r.accuracy << ',' << r.seconds << '\n';
        std::vector<std::string> names(mien::expression_names.begin(), mien::expression_names.end());
        char title[160];
        std::snprintf(title, sizeof title, "%s %s: %.2f %% +- %.2f over %zu folds", l.format.c_str(), c.protocol.c_str(),
                      100 * mean, 100 * stddev, results.size());
        write_confusion_png(out / "confusion.png", confusion, names, title);
        write_confusion_csv(out / "confusion.csv", confusion, names);
        mien::write_text_file(out / "folds.csv", folds_csv.str(), "--out");
        mien::write_text_file(out / "summary.json", j.dump(2) + '\n', "--out");
        std::fprintf(f, "wrote %s/{folds.csv, epochs.csv, predictions.csv, confusion.png, confusion.csv, summary.json}\n",
                     c.out.c_str());
    }
    if (c.json) std::printf("%s\n", j.dump().c_str());
    return 0;
}

template <class Net>
int run_batch(config const& c) {
    switch (c.batch) {
        case 16: return run_folds<Net, 16>(c);
        case 32: return run_folds<Net, 32>(c);
        default: std::fprintf(stderr, "mien-crossval: --batch must be 16 or 32 (found %d)\n", c.batch); return 2;
    }
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    CLI::App app{"mien-crossval: fine-tune per fold and test, the CK+ and JAFFE protocols"};
    app.add_option("--data", c.data, "the CK+48 folder or the JAFFE folder")->required();
    app.add_option("--format", c.format, "auto (a contempt subfolder: ckplus, else jaffe), ckplus or jaffe")
        ->capture_default_str()->check(CLI::IsMember({"auto", "ckplus", "jaffe"}));
    app.add_option("--protocol", c.protocol, "subject-kfold, loso or random-kfold")
        ->required()->check(CLI::IsMember({"subject-kfold", "loso", "random-kfold"}));
    app.add_option("--folds", c.folds, "k of subject-kfold and random-kfold")->capture_default_str()->check(CLI::Range(2, 1000));
    app.add_option("--fold", c.only, "run only these folds (0-based; repeatable); folds stay those of all k");
    app.add_option("--init", c.init, "pre-trained weights (.mien) every fold starts from (none: random initialisation)");
    app.add_option("--model", c.model, "paper or fast")->capture_default_str()->check(CLI::IsMember({"paper", "fast"}));
    app.add_option("--epochs", c.epochs, "fine-tuning epochs per fold")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--batch", c.batch, "batch size: 16 or 32")->capture_default_str();
    // finite_range (common/number_flags.hpp): CLI::Range and no check let NaN through.
    app.add_option("--lr", c.lr, "learning rate (the peak of the one-cycle or cosine schedule)")->capture_default_str()
        ->check(finite_range(0.0, 10.0, true));
    app.add_option("--schedule", c.schedule, "onecycle, constant or cosine (2 % linear warm-up, then cosine annealing to 0)")
        ->capture_default_str()->check(CLI::IsMember({"onecycle", "constant", "cosine"}));
    app.add_option("--dropout", c.dropout, "dropout rate before the last layer")->capture_default_str()->check(finite_range(0.0, 0.95));
    app.add_option("--weight-decay", c.weight_decay, "decoupled weight decay (AdamW)")->capture_default_str()
        ->check(finite_range(0.0, 1.0));
    app.add_option("--label-smoothing", c.label_smoothing, "label smoothing epsilon")->capture_default_str()
        ->check(finite_range(0.0, 0.99));
    app.add_flag("!--no-augment", c.augment, "fine-tune without augmentation");
    app.add_option("--max-shift", c.aug.max_shift, "augmentation: shift in pixels")->capture_default_str()
        ->check(CLI::Range(0, 24));
    app.add_option("--max-rotation", c.aug.max_rotation, "augmentation: rotation in degrees")->capture_default_str()
        ->check(finite_range(0.0, 180.0));
    app.add_flag("--flip-test", c.flip_test, "average predictions of each face and its mirror image when testing");
    c.balance.add_to(app);
    app.add_option("--contempt", c.contempt, "CK+ contempt faces: drop, or neutral")
        ->capture_default_str()->check(CLI::IsMember({"drop", "neutral"}));
    app.add_option("--margin", c.margin, "JAFFE: crop margin around the detected face (default: the library's)")
        ->capture_default_str();
    app.add_option("--offset", c.offset, "JAFFE: the crop's centre moved down by this fraction of the face (default: the library's)")
        ->capture_default_str();
    app.add_option("--seed", c.seed, "random seed (folds, shuffling, augmentation, dropout)")->capture_default_str();
    app.add_option("--threads", c.threads, "training threads (1 or 2)")->capture_default_str()->check(CLI::Range(1, 2));
    app.add_flag("--validate", c.validate, "recipe check: score on validation carved from each training part, not on the test fold");
    app.add_flag("--json", c.json, "print one JSON summary on stdout (the report goes to stderr)");
    app.add_option("--out", c.out, "write folds.csv, epochs.csv, predictions.csv, confusion.{png,csv}, summary.json here");
    CLI11_PARSE(app, argc, argv);
    try {
        return c.model == "paper" ? run_batch<mien::models::paper<>>(c) : run_batch<mien::models::fast>(c);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-crossval: %s\n", e.what());
        return 1;
    }
}
