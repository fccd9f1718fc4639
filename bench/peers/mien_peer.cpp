// bench/peers/mien_peer.cpp -- mien's side of the comparison with PyTorch and OpenCV DNN
// (bench/peers/compare.py, docs/PERFORMANCE.md).
//
//   mien-peer export --model paper --weights models/paper.mien --out paper.npz
//   mien-peer probs  --model paper --weights paper.npz --inputs faces.f32 --out probs.f32
//   mien-peer serve  --model paper --weights paper.npz       (commands on stdin, below)
//
// export: the network's tensors as .npz (docs/WEIGHTS_FORMAT.md), for the PyTorch twin.
// probs: float32 faces (n x 48*48, raw, HWC) in, float32 probabilities (n x 7, raw) out,
// through net.predict, so the twin's output can be compared with mien's for the same weights.
// serve: one command per line on stdin, one JSON object per line on stdout, so that the
// comparison script can interleave mien with the other frameworks in one run:
//   predict N     N timed calls of net.predict (batch 1, this thread)  -> {"ms":[...]}
//   batch N       N timed passes over 64 faces: 64 calls of net.predict  -> {"ms":[...]}
//   train N T     N timed mien::trainer steps, batch 32, Adam, T threads -> {"ms":[...]}
//   rss           peak resident set size (VmHWM) of this process so far -> {"peak_rss_kb":K}
//   quit
// Timings are wall-clock per call (steady_clock). Weights given as .mien or .npz.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <mien/io/npz.hpp>
#include <mien/io/weights.hpp>
#include <mien/models/paper.hpp>
#include <mien/train/trainer.hpp>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t batch_faces = 64;  // "batch" command: faces per timed pass
constexpr std::size_t train_batch = 32;
constexpr std::size_t max_threads = 4;

struct options {
    std::string command, model = "paper", weights, out, inputs;
};

[[noreturn]] void usage(char const* why) {
    std::fprintf(stderr,
                 "mien-peer: %s\n"
                 "usage: mien-peer export --model paper|fast [--weights FILE] --out FILE.npz\n"
                 "       mien-peer probs  --model paper|fast [--weights FILE] --inputs FACES.f32 --out PROBS.f32\n"
                 "       mien-peer serve  --model paper|fast [--weights FILE]   (predict N | batch N | train N T | rss | quit)\n",
                 why);
    std::exit(2);
}

template <class Net>
void load(Net& net, std::string const& path) {
    if (path.empty()) {
        net.init(42);
        return;
    }
    if (std::filesystem::path(path).extension() == ".npz") mien::load_npz(net, path);
    else mien::load_weights(net, path);
}

// VmHWM from /proc/self/status. Not getrusage's ru_maxrss: Linux carries that over from the
// parent through fork and exec, so a child of a 500 MB Python process would report 500 MB.
long peak_rss_kb() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

void print_times(std::vector<double> const& ms) {
    std::string line = "{\"ms\":[";
    char buf[32];
    for (std::size_t i = 0; i < ms.size(); ++i) {
        std::snprintf(buf, sizeof buf, i ? ",%.6f" : "%.6f", ms[i]);
        line += buf;
    }
    line += "]}";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

template <class Net>
void serve(Net& net) {
    mien::random_generator rng(5);
    std::vector<float> faces(batch_faces * Net::inputs);
    for (auto& v : faces) v = float(rng.uniform());
    std::vector<std::int32_t> labels(train_batch);
    for (auto& l : labels) l = std::int32_t(rng.below(Net::outputs));
    using trainer_t = mien::trainer<Net, train_batch, mien::adam, max_threads>;
    std::unique_ptr<trainer_t> trainer;  // made on the first "train", kept (threads created once)
    std::unique_ptr<Net> train_net;      // training moves the weights: on a copy
    float sink = 0;
    std::string line;
    while (std::getline(std::cin, line)) {
        char cmd[16] = {};
        std::size_t n = 0, threads = 1;
        int const got = std::sscanf(line.c_str(), "%15s %zu %zu", cmd, &n, &threads);
        std::string_view const c = cmd;
        if (got < 1 || c == "quit") break;
        std::vector<double> ms;
        ms.reserve(n);
        if (c == "predict") {
            for (std::size_t i = 0; i < n; ++i) {
                auto const t0 = clock_type::now();
                sink += net.predict(std::span<float const, Net::inputs>(faces.data(), Net::inputs))[0];
                ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
            }
            print_times(ms);
        } else if (c == "batch") {
            for (std::size_t i = 0; i < n; ++i) {
                auto const t0 = clock_type::now();
                for (std::size_t f = 0; f < batch_faces; ++f)
                    sink += net.predict(std::span<float const, Net::inputs>(faces.data() + f * Net::inputs, Net::inputs))[0];
                ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
            }
            print_times(ms);
        } else if (c == "train") {
            if (!trainer || trainer->threads() != threads) {
                if (threads < 1 || threads > max_threads) usage("train: threads out of range");
                trainer.reset();
                if (!train_net) train_net = std::make_unique<Net>(net);
                trainer = std::make_unique<trainer_t>(*train_net, mien::adam_options{}, 1, threads);
            }
            std::span<float const> const images(faces.data(), train_batch * Net::inputs);
            for (std::size_t i = 0; i < n; ++i) {
                auto const t0 = clock_type::now();
                sink += float(trainer->step(images, labels));
                ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
            }
            print_times(ms);
        } else if (c == "rss") {
            std::printf("{\"peak_rss_kb\":%ld}\n", peak_rss_kb());
            std::fflush(stdout);
        } else {
            std::printf("{\"error\":\"unknown command\"}\n");
            std::fflush(stdout);
        }
    }
    if (sink != sink) std::fprintf(stderr, "mien-peer: not a number\n");  // keeps the calls observable
}

template <class Net>
int run(options const& o) {
    auto net = std::make_unique<Net>();
    load(*net, o.weights);
    if (o.command == "export") {
        if (o.out.empty()) usage("export needs --out");
        mien::save_npz(*net, o.out);
    } else if (o.command == "probs") {
        if (o.inputs.empty() || o.out.empty()) usage("probs needs --inputs and --out");
        std::ifstream in(o.inputs, std::ios::binary);
        std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) usage("cannot read --inputs");
        if (bytes.empty() || bytes.size() % (Net::inputs * sizeof(float)) != 0) usage("--inputs is not a whole number of faces");
        std::size_t const n = bytes.size() / (Net::inputs * sizeof(float));
        std::vector<float> faces(n * Net::inputs), probs(n * Net::outputs);
        std::memcpy(faces.data(), bytes.data(), bytes.size());
        for (std::size_t i = 0; i < n; ++i) {
            auto const& p = net->predict(std::span<float const, Net::inputs>(faces.data() + i * Net::inputs, Net::inputs));
            std::copy(p.begin(), p.end(), probs.begin() + std::ptrdiff_t(i * Net::outputs));
        }
        std::ofstream out(o.out, std::ios::binary);
        out.write(reinterpret_cast<char const*>(probs.data()), std::streamsize(probs.size() * sizeof(float)));
        if (!out) usage("cannot write --out");
    } else if (o.command == "serve") {
        serve(*net);
    } else {
        usage("unknown command");
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) usage("missing command");
    options o;
    o.command = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string_view const a = argv[i];
        if (i + 1 >= argc) usage("a flag is missing its value");
        std::string const v = argv[++i];
        if (a == "--model") o.model = v;
        else if (a == "--weights") o.weights = v;
        else if (a == "--out") o.out = v;
        else if (a == "--inputs") o.inputs = v;
        else usage("unknown flag");
    }
    try {
        if (o.model == "paper") return run<mien::models::paper<>>(o);
        if (o.model == "fast") return run<mien::models::fast>(o);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-peer: %s\n", e.what());
        return 1;
    }
    usage("--model expects paper or fast");
}
