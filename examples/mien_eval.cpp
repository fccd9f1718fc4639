// mien-eval -- evaluate trained weights on a data set: accuracy, per-class precision / recall /
// F1 and the confusion matrix (printed, and saved as PNG and CSV with --out).
//
//   mien-eval --weights runs/paper/best.mien --data ../shared/data/fer2013 --split val
//   mien-eval --weights best.mien --data fer2013.csv --split PrivateTest --flip-test --json
//   mien-eval --weights ck.mien --data ../shared/data/ckplus --out eval/ck
//
// --data is one of (--format auto tells them apart, in this order):
//   csv     a FER2013 CSV (emotion,pixels,Usage); --split is the Usage (default PrivateTest);
//   jaffe   a folder of JAFFE .tiff photos: faces found and cropped as the webcam demo does
//           (--margin), a centre crop where none is found;
//   ckplus  the CK+48 folders (a `contempt` folder): contempt dropped, or --contempt neutral;
//   folder  any <data>[/<split>]/<label>/<image> folder data set (labels as mien/data/labels.hpp);
//   ferplus the FER2013 folders labelled by the FER+ votes under majority (--ferplus DIR, which
//           selects this format; --split train or val): FER+ val, as FER+ results are reported.
// --model auto (default) loads the weights into the paper network, else into the fast one, with
// 7 or 8 outputs. The class names are the model's (stored in the .mien file; FER2013's 7 or
// FER+'s 8 for older files); the data set's classes are matched to them by name (anger = angry,
// happiness = happy, sadness = sad), so an 8-class FER+ model can be scored on FER2013 folders
// and a 7-class one on FER+ labels; faces of a class the model lacks (FER+ contempt for a
// 7-class model) are left out and counted.
//
// --predictions FILE.csv writes one row per face: `file,<class names...>` with the model's
// probabilities (flip-averaged with --flip-test); `file` is the image's path relative to --data
// (for a CSV data set, `<csv name>:<line>`), so another label set can score the model.
//
// Output: a human-readable report on stdout; with --json the report goes to stderr and stdout
// gets ONE JSON object (a single line): accuracy (fraction), loss, macro_f1, per_class
// (name -> precision, recall, f1, support), confusion (rows: true class, columns: predicted),
// and what was evaluated. With --out DIR: DIR/confusion.png, DIR/confusion.csv, DIR/metrics.json.
// Exit status: 0 done, 1 bad input (the message says which file and why), 2 bad flags.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <mien/data/ckplus.hpp>
#include <mien/data/fer2013_csv.hpp>
#include <mien/data/ferplus_folder.hpp>
#include <mien/data/image_folder.hpp>
#include <mien/data/jaffe.hpp>
#include <mien/data/labels.hpp>
#include <mien/io/weights.hpp>
#include <mien/mien.hpp>
#include <mien/train/evaluate.hpp>
#include <mien/train/metrics.hpp>
#include <mien/vision/jaffe_faces.hpp>

#include "common/confusion_image.hpp"

namespace fs = std::filesystem;

namespace {

using mien::evaluation;
using mien::report_from_confusion;
using mien::classification_report;

struct config {
    std::string weights, data, split, model = "auto", format = "auto", contempt = "drop", out, ferplus, predictions;
    int threads = 2;
    double margin = mien::face_crop_options{}.margin;
    bool json = false, flip_test = false, skip_bad = false, resize = false;
};

// Where the report goes: stdout, or stderr when stdout carries the JSON.
std::FILE* report_stream(config const& c) { return c.json ? stderr : stdout; }

std::string detect_format(config const& c, fs::path const& root) {
    if (c.format != "auto") return c.format;
    if (!c.ferplus.empty()) return "ferplus";
    if (fs::is_regular_file(c.data)) return "csv";
    if (!fs::is_directory(root)) mien::fail("%s is neither a FER2013 CSV file nor a directory", root.string().c_str());
    if (fs::is_directory(root / "contempt")) return "ckplus";
    for (auto const& e : fs::directory_iterator(root))
        if (e.is_regular_file() && mien::parse_jaffe_name(e.path().filename().string())) return "jaffe";
    return "folder";
}

struct loaded {
    mien::dataset data;
    std::string format, description;
    std::vector<std::string> classes;  // the names of data.labels
};

loaded load_data(config const& c) {
    loaded l;
    fs::path const root = c.split.empty() || fs::is_regular_file(c.data) ? fs::path(c.data) : fs::path(c.data) / c.split;
    l.format = detect_format(c, root);
    l.classes.assign(mien::expression_names.begin(), mien::expression_names.end());
    if (l.format == "ferplus") {
        if (c.ferplus.empty()) mien::fail("--format ferplus needs --ferplus DIR (fer2013new.csv and the mapping)");
        std::string const split = c.split.empty() ? "val" : c.split;
        if (split != "train" && split != "val")
            mien::fail("--ferplus: --split %s has no FER+ labels (expected train or val)", split.c_str());
        auto const votes = mien::load_ferplus_votes(c.ferplus);
        auto f = mien::load_ferplus_folder(c.data, votes, split == "train" ? "Training" : "PublicTest",
                                           mien::ferplus_protocol::majority);
        l.data = std::move(f.faces);
        l.classes.assign(mien::ferplus_class_names.begin(), mien::ferplus_class_names.end());
        l.description = (fs::path(c.data) / split).string() + " (FER+ majority labels: " + std::to_string(l.data.size()) +
                        " of " + std::to_string(f.mapped) + " faces)";
    } else if (l.format == "csv") {
        std::string const usage = c.split.empty() ? "PrivateTest" : c.split;
        mien::fer2013_csv_options o;
        o.skip_bad = c.skip_bad;
        l.data = mien::load_fer2013_csv(c.data, usage, o);
        l.description = c.data + " (Usage " + usage + ")";
    } else if (l.format == "jaffe") {
        mien::jaffe_options o;
        o.crop.margin = c.margin;
        o.skip_bad = c.skip_bad;
        mien::face_load_report report;
        l.data = mien::load_jaffe(root, o, &report);
        std::fprintf(report_stream(c), "faces detected in %zu of %zu JAFFE photos (margin %.2f)%s\n", report.detected,
                     report.images, c.margin, report.centre_cropped.empty() ? "" : "; centre-cropped:");
        for (auto const& f : report.centre_cropped) std::fprintf(report_stream(c), "  %s\n", f.c_str());
        l.description = root.string();
    } else if (l.format == "ckplus") {
        mien::ckplus_options o;
        o.contempt = c.contempt == "neutral" ? mien::contempt_policy::neutral : mien::contempt_policy::drop;
        o.skip_bad = c.skip_bad;
        l.data = mien::load_ckplus(root, o);
        l.description = root.string() + " (contempt " + (c.contempt == "neutral" ? "as neutral" : "dropped") + ")";
    } else {
        mien::folder_options o;
        o.skip_bad = c.skip_bad;
        o.resize = c.resize;
        l.data = mien::load_image_folder(root, o);
        l.description = root.string();
    }
    return l;
}

template <class Net>
evaluation evaluate_with(config const& c, Net& net, mien::dataset const& data) {
    auto tr = std::make_unique<mien::trainer<Net, 32, mien::adam, 2>>(net, mien::adam_options{}, 1, std::size_t(c.threads));
    return mien::evaluate(*tr, data, {.flip = c.flip_test, .keep_probabilities = !c.predictions.empty()});
}

// A class name as FER2013's word where it has one (anger -> angry), to match label sets.
std::string canonical(std::string const& name) {
    int const k = mien::expression_index(name);
    return k >= 0 ? std::string(mien::expression_names[std::size_t(k)]) : name;
}

// The data set relabelled into the model's classes, matched by name; faces of a class the
// model does not have are left out and counted in `dropped`.
mien::dataset to_model_classes(loaded const& l, std::vector<std::string> const& model, std::size_t& dropped) {
    std::vector<int> map(l.classes.size(), -1);
    bool identity = l.classes.size() == model.size();
    for (std::size_t i = 0; i < l.classes.size(); ++i) {
        for (std::size_t j = 0; j < model.size(); ++j)
            if (canonical(l.classes[i]) == canonical(model[j])) map[i] = int(j);
        identity = identity && map[i] == int(i);
    }
    dropped = 0;
    if (identity) return l.data;
    mien::dataset d;
    d.side = l.data.side;
    d.skipped = l.data.skipped;
    for (std::size_t i = 0; i < l.data.size(); ++i) {
        int const to = map[std::size_t(l.data.labels[i])];
        if (to < 0) {
            ++dropped;
            continue;
        }
        d.add(l.data.face(i), to, l.data.sources[i], l.data.subjects[i]);
    }
    if (d.size() == 0) mien::fail("none of the data set's classes is one of the model's");
    return d;
}

// --predictions: one row per face, `file,<class names>`, file relative to --data.
void write_predictions(config const& c, std::string const& format, mien::dataset const& data, evaluation const& e,
                       std::vector<std::string> const& names) {
    std::ostringstream out;  // written whole at the end: a previous file survives a failed run
    out << "file";
    for (auto const& n : names) out << ',' << n;
    out << '\n';
    fs::path const base = format == "csv" ? fs::path(c.data).parent_path() : fs::path(c.data);
    std::size_t const K = names.size();
    char number[32];
    for (std::size_t i = 0; i < data.size(); ++i) {
        std::string file = fs::path(data.sources[i]).lexically_normal().lexically_relative(base.lexically_normal()).generic_string();
        if (file.empty() || format == "csv") file = fs::path(data.sources[i]).filename().generic_string();
        out << file;
        for (std::size_t k = 0; k < K; ++k) {
            std::snprintf(number, sizeof number, "%.6g", double(e.probabilities[i * K + k]));
            out << ',' << number;
        }
        out << '\n';
    }
    mien::write_text_file(c.predictions, out.str(), "--predictions");
}

// Loads the weights into a new Net; on failure keeps the message and leaves net empty.
template <class Net>
bool try_load(config const& c, std::unique_ptr<Net>& net, std::string& warning, std::string& error,
              std::vector<std::string>& labels) {
    net = std::make_unique<Net>();
    try {
        auto const r = mien::load_weights(*net, c.weights);
        warning = r.warning;
        labels = r.labels;
        if (labels.empty())
            for (std::size_t k = 0; k < Net::outputs; ++k) labels.push_back("class" + std::to_string(k));
        return true;
    } catch (mien::error const& e) {
        error = e.what();
        net.reset();
        return false;
    }
}

nlohmann::ordered_json to_json(config const& c, loaded const& l, std::string const& model, evaluation const& e,
                       classification_report const& r, std::vector<std::string> const& names) {
    nlohmann::ordered_json j;
    j["accuracy"] = r.accuracy;
    j["loss"] = e.loss;
    j["macro_f1"] = r.macro_f1;
    j["weighted_f1"] = r.weighted_f1;
    j["samples"] = r.total;
    j["correct"] = r.correct;
    j["skipped"] = l.data.skipped;
    nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
    for (std::size_t k = 0; k < r.per_class.size(); ++k) {
        auto const& m = r.per_class[k];
        per_class[names[k]] = {
            {"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1}, {"support", m.support}};
    }
    j["per_class"] = per_class;
    j["confusion"] = e.confusion;
    j["classes"] = names;
    j["weights"] = c.weights;
    j["model"] = model;
    j["data"] = l.description;
    j["format"] = l.format;
    j["flip_test"] = c.flip_test;
    return j;
}

void print_report(std::FILE* f, classification_report const& r, evaluation const& e, std::vector<std::string> const& names) {
    std::fprintf(f, "accuracy %.4f (%zu / %zu), loss %.4f, macro F1 %.4f, weighted F1 %.4f\n\n", r.accuracy, r.correct,
                 r.total, e.loss, r.macro_f1, r.weighted_f1);
    std::fprintf(f, "%-10s %9s %9s %9s %9s\n", "class", "precision", "recall", "f1", "support");
    for (std::size_t k = 0; k < r.per_class.size(); ++k) {
        auto const& m = r.per_class[k];
        std::fprintf(f, "%-10s %9.4f %9.4f %9.4f %9zu\n", names[k].c_str(), m.precision,
                     m.recall, m.f1, m.support);
    }
    std::fprintf(f, "%-10s %9.4f %9.4f %9.4f %9zu\n\n", "macro", r.macro_precision, r.macro_recall, r.macro_f1, r.total);
    std::fprintf(f, "confusion matrix (rows: true class, columns: predicted)\n%-10s", "");
    for (auto const& name : names) std::fprintf(f, " %8.8s", name.c_str());
    std::fprintf(f, "\n");
    for (std::size_t t = 0; t < e.confusion.size(); ++t) {
        std::fprintf(f, "%-10s", names[t].c_str());
        for (std::size_t n : e.confusion[t]) std::fprintf(f, " %8zu", n);
        std::fprintf(f, "\n");
    }
}

template <std::size_t K>
using paper_k = mien::models::paper<32, 64, 128, 64, 128, K>;
template <std::size_t K>
using fast_k = mien::models::paper<16, 32, 64, 32, 64, K>;

// The weights in whichever network they fit: paper or fast, 7 or 8 outputs; large (7 outputs)
// when asked for with --model large.
struct loaded_model {
    std::unique_ptr<paper_k<7>> paper7;
    std::unique_ptr<fast_k<7>> fast7;
    std::unique_ptr<paper_k<8>> paper8;
    std::unique_ptr<fast_k<8>> fast8;
    std::unique_ptr<mien::models::large> large7;
    std::string name;
    std::vector<std::string> labels;

    template <class F>
    auto visit(F&& f) {
        if (paper7) return f(*paper7);
        if (fast7) return f(*fast7);
        if (large7) return f(*large7);
        if (paper8) return f(*paper8);
        return f(*fast8);
    }
};

loaded_model load_model(config const& c) {
    loaded_model m;
    std::string warning, error, fast_error, ignored;
    if (c.model == "paper" || c.model == "auto") {
        if (try_load(c, m.paper7, warning, error, m.labels) || try_load(c, m.paper8, warning, ignored, m.labels)) m.name = "paper";
    }
    if (m.name.empty() && (c.model == "fast" || c.model == "auto")) {
        std::string& e = c.model == "auto" ? fast_error : error;
        if (try_load(c, m.fast7, warning, e, m.labels) || try_load(c, m.fast8, warning, ignored, m.labels)) m.name = "fast";
    }
    if (c.model == "large" && try_load(c, m.large7, warning, error, m.labels)) m.name = "large";
    if (m.name.empty()) {
        if (c.model == "auto" && error.find("cannot open") == std::string::npos)
            mien::fail("%s\n(and as the fast model: %s)", error.c_str(), fast_error.c_str());
        mien::fail("%s", error.c_str());
    }
    if (!warning.empty()) std::fprintf(stderr, "mien-eval: warning: %s\n", warning.c_str());
    return m;
}

int run(config const& c) {
    // The weights first: a wrong file fails before a long data load.
    loaded_model m = load_model(c);
    std::vector<std::string> const& names = m.labels;
    loaded const l = load_data(c);
    std::size_t dropped = 0;
    mien::dataset const data = to_model_classes(l, names, dropped);
    std::FILE* const f = report_stream(c);
    std::fprintf(f, "mien-eval: %s (%s model, %zu classes) on %s [%s]: %zu faces", c.weights.c_str(), m.name.c_str(),
                 names.size(), l.description.c_str(), l.format.c_str(), data.size());
    if (l.data.skipped) std::fprintf(f, ", %zu bad entries skipped", l.data.skipped);
    if (dropped) std::fprintf(f, ", %zu faces of classes the model lacks left out", dropped);
    std::fprintf(f, "%s\n", c.flip_test ? ", flip-test averaging" : "");

    evaluation const e = m.visit([&](auto& net) { return evaluate_with(c, net, data); });
    classification_report const r = report_from_confusion(e.confusion);
    print_report(f, r, e, names);
    nlohmann::ordered_json j = to_json(c, l, m.name, e, r, names);
    if (dropped) j["left_out"] = dropped;
    if (!c.predictions.empty()) {
        write_predictions(c, l.format, data, e, names);
        std::fprintf(f, "wrote %zu predictions to %s\n", data.size(), c.predictions.c_str());
    }

    if (!c.out.empty()) {
        fs::create_directories(c.out);
        char title[160];
        std::snprintf(title, sizeof title, "%s: accuracy %.2f %% (%zu faces)", fs::path(l.description).filename().string().c_str(),
                      100 * r.accuracy, r.total);
        write_confusion_png(fs::path(c.out) / "confusion.png", e.confusion, names, title);
        write_confusion_csv(fs::path(c.out) / "confusion.csv", e.confusion, names);
        mien::write_text_file(fs::path(c.out) / "metrics.json", j.dump(2) + '\n', "--out");
        std::fprintf(f, "\nwrote %s/{confusion.png, confusion.csv, metrics.json}\n", c.out.c_str());
    }
    if (c.json) std::printf("%s\n", j.dump().c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    CLI::App app{"mien-eval: evaluate trained mien weights on a facial-expression data set"};
    app.add_option("--weights", c.weights, "weights file (.mien), as mien-train writes them")->required();
    app.add_option("--data", c.data, "data set: a folder (<label>/<image>, CK+48, JAFFE) or a FER2013 CSV")->required();
    app.add_option("--split", c.split, "folder: subfolder of --data; CSV: the Usage (default PrivateTest)");
    app.add_option("--model", c.model, "network the weights are for: auto (paper or fast), paper, fast or large")
        ->capture_default_str()->check(CLI::IsMember({"auto", "paper", "fast", "large"}));
    app.add_option("--format", c.format, "data format: auto, folder, csv, jaffe, ckplus or ferplus")
        ->capture_default_str()->check(CLI::IsMember({"auto", "folder", "csv", "jaffe", "ckplus", "ferplus"}));
    app.add_option("--ferplus", c.ferplus, "FER+ votes folder: score on FER+ majority labels of the FER2013 folders in --data");
    app.add_option("--predictions", c.predictions, "write file,<class names...> probabilities per face to this CSV");
    app.add_option("--contempt", c.contempt, "CK+ contempt faces: drop, or neutral (count them as neutral)")
        ->capture_default_str()->check(CLI::IsMember({"drop", "neutral"}));
    app.add_option("--margin", c.margin, "JAFFE: crop margin around the detected face, fraction of the box")
        ->capture_default_str();
    app.add_flag("--flip-test", c.flip_test, "average the predictions of each face and its mirror image");
    app.add_flag("--skip-bad", c.skip_bad, "skip (and count) bad images or CSV rows instead of failing");
    app.add_flag("--resize", c.resize, "folder data sets: resize images that are not 48x48 instead of failing");
    app.add_option("--threads", c.threads, "inference threads (1 or 2)")->capture_default_str()->check(CLI::Range(1, 2));
    app.add_flag("--json", c.json, "print one JSON object on stdout (the report goes to stderr)");
    app.add_option("--out", c.out, "write confusion.png, confusion.csv and metrics.json here");
    CLI11_PARSE(app, argc, argv);
    try {
        return run(c);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-eval: %s\n", e.what());
        return 1;
    }
}
