// bench/bench_network.cpp -- mien-bench: cost, memory, latency and training throughput of the
// paper network and its fast and large presets.
//
//   mien-bench                                   paper and fast (--model both), predict and train, text
//   mien-bench --model paper --mode predict --iterations 5000
//   mien-bench --model large --mode predict      the large preset (--model all: the three)
//   mien-bench --mode train --threads 2 --train-steps 100
//   mien-bench --json                            one JSON object per run, one per line
//   mien-bench --profile                         time every leaf layer on its own
//
// Predict: batch 1 on the calling thread, `--warmup` untimed calls then `--iterations` timed
// ones; median and p90 of the per-call times. Train: mien::trainer at batch 32 with Adam,
// `--threads` threads, `--train-steps` timed steps after `--warmup` untimed ones.
// GMAC/s: forward MACs / median latency for predict; for training 3 x forward MACs per image
// (forward, weight gradient, input gradient) x images/s.
//
// Every heap allocation of the process goes through the operator new below, which counts it;
// the count is printed (JSON: "allocations") and must not depend on --iterations or
// --train-steps: forward and backward never allocate (CTest checks it).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include <mien/models/paper.hpp>
#include <mien/train/trainer.hpp>

// ---------------------------------------------------------------------------------------------
// Counting allocator: every form of operator new ends in counted_alloc.
namespace {
std::atomic<std::size_t> allocation_count{0};

void* counted_alloc(std::size_t size, std::size_t align) {
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    if (size == 0) size = 1;
    void* p = nullptr;
    if (align <= alignof(std::max_align_t)) p = std::malloc(size);
    else if (posix_memalign(&p, align, size) != 0) p = nullptr;
    return p;
}
// Out of line, so that g++ does not see free() applied to what operator new returned.
[[gnu::noinline]] void counted_free(void* p) noexcept { std::free(p); }
}  // namespace

void* operator new(std::size_t n) {
    if (void* p = counted_alloc(n, 0)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
    if (void* p = counted_alloc(n, std::size_t(a))) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void* operator new(std::size_t n, std::nothrow_t const&) noexcept { return counted_alloc(n, 0); }
void* operator new[](std::size_t n, std::nothrow_t const&) noexcept { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept { return counted_alloc(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a, std::nothrow_t const&) noexcept { return counted_alloc(n, std::size_t(a)); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t train_batch = 32;
constexpr std::size_t max_threads = 16;   // trainer storage is sized for this many
constexpr double peak_gmacs_per_core = 58.7;  // FP32 FMA peak of one core of the reference machine

struct options {
    // Not large by default: a bare run times what docs/PERFORMANCE.md reports (paper and fast),
    // and large takes four times paper's time and twice its training memory (about 400 MB).
    bool paper = true, fast = true, large = false, predict = true, train = true, json = false, profile = false;
    std::size_t iterations = 1000, warmup = 100, train_steps = 30, threads = 2;
};

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// CPU time of the calling thread or of the whole process, in seconds: on a shared machine it
// leaves out the time other programs held the core (cache sharing still shows).
double cpu_seconds(clockid_t which) {
    timespec ts{};
    clock_gettime(which, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// The q-quantile of sorted values (nearest rank).
double quantile(std::vector<double> const& sorted, double q) {
    std::size_t const i = std::size_t(q * double(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

struct result {
    std::string_view model;
    char const* mode = "";
    std::size_t macs = 0, params = 0, parameter_bytes = 0, inference_bytes = 0, training_bytes = 0;
    std::size_t iterations = 0, train_steps = 0, threads = 0;
    double median_ms = -1, p90_ms = -1, predict_gmacs = -1, images_per_s = -1, train_gmacs = -1;
    double cpu_median_ms = -1, cpu_ms_per_image = -1;  // CPU time, for A/B runs on a busy machine
};

template <class Net>
void run_predict(Net& net, options const& o, result& r) {
    std::vector<float> face(Net::inputs);
    mien::random_generator rng(5);
    for (auto& v : face) v = float(rng.uniform());
    std::vector<double> ms(o.iterations), cpu_ms(o.iterations);
    float sink = 0;
    for (std::size_t i = 0; i < o.warmup; ++i) sink += net.predict(std::span<float const, Net::inputs>(face))[0];
    for (std::size_t i = 0; i < o.iterations; ++i) {
        double const c0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
        auto const t0 = clock_type::now();
        sink += net.predict(std::span<float const, Net::inputs>(face))[0];
        ms[i] = seconds_since(t0) * 1e3;
        cpu_ms[i] = (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e3;
    }
    if (sink < 0) std::printf("impossible\n");  // keeps the calls observable
    std::sort(ms.begin(), ms.end());
    std::sort(cpu_ms.begin(), cpu_ms.end());
    r.median_ms = quantile(ms, 0.5);
    r.p90_ms = quantile(ms, 0.9);
    r.cpu_median_ms = quantile(cpu_ms, 0.5);
    r.predict_gmacs = double(Net::macs) / (r.median_ms * 1e-3) * 1e-9;
    r.iterations = o.iterations;
}

template <class Net>
void run_train(Net& net, options const& o, result& r) {
    using trainer_t = mien::trainer<Net, train_batch, mien::adam, max_threads>;
    auto tr = std::make_unique<trainer_t>(net, mien::adam_options{}, 1, o.threads);
    std::vector<float> images(train_batch * Net::inputs);
    std::vector<std::int32_t> labels(train_batch);
    mien::random_generator rng(11);
    for (auto& v : images) v = float(rng.uniform());
    for (auto& l : labels) l = std::int32_t(rng.below(Net::outputs));
    double loss = 0;
    std::size_t const warm = std::max<std::size_t>(1, o.warmup / 20);
    for (std::size_t i = 0; i < warm; ++i) loss += tr->step(images, labels);
    double const c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    auto const t0 = clock_type::now();
    for (std::size_t i = 0; i < o.train_steps; ++i) loss += tr->step(images, labels);
    double const s = seconds_since(t0);
    r.cpu_ms_per_image = (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3 / double(o.train_steps * train_batch);
    if (!(loss == loss)) std::printf("warning: the loss is not a number\n");
    r.images_per_s = double(o.train_steps * train_batch) / s;
    r.train_gmacs = 3.0 * double(Net::macs) * r.images_per_s * 1e-9;
    r.train_steps = o.train_steps;
    r.threads = tr->threads();
}

void print_text(result const& r) {
    std::printf("model %.*s: %zu MACs, %zu params\n", int(r.model.size()), r.model.data(), r.macs, r.params);
    std::printf("  bytes: parameters %zu, prediction arena %zu, training workspace (batch %zu, %zu threads) %zu\n",
                r.parameter_bytes, r.inference_bytes, train_batch, r.threads ? r.threads : std::size_t(1), r.training_bytes);
    if (r.median_ms >= 0)
        std::printf("  predict (batch 1, 1 thread, %zu runs): median %.4f ms, p90 %.4f ms, %.2f GMAC/s (%.1f%% of one core's peak);"
                    " CPU time median %.4f ms\n",
                    r.iterations, r.median_ms, r.p90_ms, r.predict_gmacs, 100 * r.predict_gmacs / peak_gmacs_per_core,
                    r.cpu_median_ms);
    if (r.images_per_s >= 0)
        std::printf("  train (batch %zu, %zu threads, %zu steps): %.1f images/s, %.2f GMAC/s (%.1f%% of %zu cores' peak);"
                    " CPU time %.3f ms per image\n",
                    train_batch, r.threads, r.train_steps, r.images_per_s, r.train_gmacs,
                    100 * r.train_gmacs / (peak_gmacs_per_core * double(r.threads)), r.threads, r.cpu_ms_per_image);
}

void print_json(result const& r) {
    auto num = [](double v) {
        static char buf[8][32];
        static int next = 0;
        char* b = buf[next++ % 8];
        if (v < 0) std::snprintf(b, 32, "null");
        else std::snprintf(b, 32, "%.6g", v);
        return b;
    };
    double const gmacs = r.predict_gmacs >= 0 ? r.predict_gmacs : r.train_gmacs;
    std::printf("{\"model\":\"%.*s\",\"mode\":\"%s\",\"macs\":%zu,\"params\":%zu,\"parameter_bytes\":%zu,"
                "\"inference_bytes\":%zu,\"training_bytes\":%zu,\"iterations\":%zu,\"median_ms\":%s,\"p90_ms\":%s,"
                "\"gmacs\":%s,\"predict_gmacs\":%s,\"train_steps\":%zu,\"threads\":%zu,\"images_per_s\":%s,"
                "\"train_gmacs\":%s,\"cpu_median_ms\":%s,\"cpu_ms_per_image\":%s,\"allocations\":%zu}\n",
                int(r.model.size()), r.model.data(), r.mode, r.macs, r.params, r.parameter_bytes, r.inference_bytes,
                r.training_bytes, r.iterations, num(r.median_ms), num(r.p90_ms), num(gmacs), num(r.predict_gmacs),
                r.train_steps, r.threads, num(r.images_per_s), num(r.train_gmacs), num(r.cpu_median_ms),
                num(r.cpu_ms_per_image), allocation_count.load(std::memory_order_relaxed));
}

// ---------------------------------------------------------------------------------------------
// --profile: every leaf layer alone, on its own buffers (random input, the network's
// parameters), inference at batch 1 and training (forward + backward) at batch 32. Rows are
// summed by layer type at the end.

struct profile_row {
    std::string_view name;
    std::size_t macs = 0, count = 0;
    double predict_us = 0, train_us = 0, train_cpu_us = 0;
};

template <class L>
void profile_layer(float* params, float* state, bool first, options const& o, mien::thread_team& team,
                   std::vector<profile_row>& rows, std::size_t index) {
    using T = float;
    constexpr std::size_t in = L::input_shape::size, out = L::output_shape::size, n = train_batch;
    std::size_t const threads = team.size();
    std::vector<T> x(n * in), y(n * out), dy(n * out), dx(n * in), grads(threads * L::params + 1),
        saved(n * L::saved_per_sample + 1), dsaved(n * L::saved_per_sample + 1), temp(threads * L::temp_size + 1);
    std::vector<T> state_copy(state, state + L::state_size);
    mien::random_generator rng(3);
    for (auto& v : x) v = T(rng.uniform(-1, 1));
    for (auto& v : dy) v = T(rng.uniform(-1, 1)) * T(0.01);
    mien::frame<T> f;
    f.params = params;
    f.grads = grads.data();
    f.grad_stride = L::params;
    f.state = state_copy.data();
    f.saved = saved.data();
    f.dsaved = dsaved.data();
    f.temp = temp.data();
    f.temp_stride = L::temp_size;
    f.rng = &rng;

    // Inference, batch 1, one thread.
    f.n = 1;
    f.training = false;
    std::size_t const reps = std::max<std::size_t>(o.iterations / 4, 50);
    for (std::size_t i = 0; i < reps / 10 + 1; ++i) L::forward(f, x.data(), y.data());
    double c0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    for (std::size_t i = 0; i < reps; ++i) L::forward(f, x.data(), y.data());
    double const predict_us = (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - c0) / double(reps) * 1e6;

    // Training, batch 32, the team.
    f.n = n;
    f.training = true;
    f.team = threads > 1 ? &team : nullptr;
    std::size_t const steps = std::max<std::size_t>(o.train_steps, 5);
    auto train_once = [&] {
        L::forward(f, x.data(), y.data());
        L::backward(f, x.data(), y.data(), dy.data(), first ? nullptr : dx.data());
    };
    train_once();
    auto const t0 = clock_type::now();
    c0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    for (std::size_t i = 0; i < steps; ++i) train_once();
    double const train_cpu_us = (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) / double(steps) * 1e6;
    double const train_us = seconds_since(t0) / double(steps) * 1e6;

    std::printf("  %-3zu %-22.*s %-14s %11zu %11.2f %12.1f %12.1f\n", index, int(L::name.size()), L::name.data(),
                (std::to_string(L::output_shape::height) + "x" + std::to_string(L::output_shape::width) + "x" +
                 std::to_string(L::output_shape::channels)).c_str(),
                std::size_t(L::macs), predict_us, train_us, train_cpu_us);
    auto it = std::find_if(rows.begin(), rows.end(), [&](profile_row const& r) { return r.name == L::name; });
    if (it == rows.end()) it = rows.insert(rows.end(), profile_row{L::name});
    it->macs += L::macs;
    it->count += 1;
    it->predict_us += predict_us;
    it->train_us += train_us;
    it->train_cpu_us += train_cpu_us;
}

template <class Net>
void run_profile(Net& net, std::string_view model, options const& o) {
    mien::thread_team team(o.threads);
    std::vector<profile_row> rows;
    std::printf("profile of %.*s: each leaf layer alone; predict = batch 1, 1 thread, CPU time (us/face); "
                "train = forward + backward, batch %zu, %zu threads, wall and CPU time (us/batch)\n",
                int(model.size()), model.data(), train_batch, team.size());
    std::printf("  %-3s %-22s %-14s %11s %11s %12s %12s\n", "#", "layer", "output", "MACs", "predict us", "train us",
                "train CPU us");
    std::size_t index = 0;
    mien::for_each_layer<typename Net::body>([&]<class L>(std::size_t p, std::size_t s, std::size_t) {
        profile_layer<L>(net.parameters().data() + p, net.state().data() + s, index == 0, o, team, rows, index);
        ++index;
    });
    double total_p = 0, total_t = 0, total_c = 0;
    for (auto const& r : rows) total_p += r.predict_us, total_t += r.train_us, total_c += r.train_cpu_us;
    std::sort(rows.begin(), rows.end(), [](profile_row const& a, profile_row const& b) { return a.train_cpu_us > b.train_cpu_us; });
    std::printf("  by layer type:\n  %-22s %5s %11s %11s %7s %9s %12s %12s %7s\n", "type", "count", "MACs", "predict us",
                "share", "GMAC/s*", "train us", "train CPU us", "share");
    for (auto const& r : rows)
        std::printf("  %-22.*s %5zu %11zu %11.2f %6.1f%% %9.2f %12.1f %12.1f %6.1f%%\n", int(r.name.size()), r.name.data(),
                    r.count, r.macs, r.predict_us, 100 * r.predict_us / total_p,
                    r.macs ? double(r.macs) / (r.predict_us * 1e3) : 0.0, r.train_us, r.train_cpu_us,
                    100 * r.train_cpu_us / total_c);
    std::printf("  %-22s %5zu %11zu %11.2f %7s %9s %12.1f %12.1f\n  (* predict GMAC/s, one thread)\n", "total", index,
                std::size_t(Net::macs), total_p, "", "", total_t, total_c);
}

// ---------------------------------------------------------------------------------------------

template <class Net>
void run_model(std::string_view model, options const& o) {
    auto net = std::make_unique<Net>();
    net->init(42);
    if (o.profile) {
        run_profile(*net, model, o);
        return;
    }
    using trainer_t = mien::trainer<Net, train_batch, mien::adam, max_threads>;
    result r;
    r.model = model;
    r.mode = o.predict && o.train ? "all" : o.predict ? "predict" : "train";
    r.macs = Net::macs;
    r.params = Net::params;
    r.parameter_bytes = Net::parameter_bytes;
    r.inference_bytes = Net::inference_bytes;
    // What a trainer sized for exactly --threads threads would hold.
    r.training_bytes = trainer_t::bytes - (max_threads - o.threads) * (Net::temp_size + Net::params) * sizeof(float);
    if (o.predict) run_predict(*net, o, r);
    if (o.train) run_train(*net, o, r);
    if (o.json) print_json(r);
    else print_text(r);
}

[[noreturn]] void usage(char const* why) {
    std::fprintf(stderr,
                 "mien-bench: %s\n"
                 "usage: mien-bench [--model paper|fast|large|both|all] [--mode predict|train|all] [--iterations N]\n"
                 "                  [--warmup N] [--train-steps N] [--threads T] [--json] [--profile]\n",
                 why);
    std::exit(2);
}

std::size_t count_arg(char const* flag, char const* text, std::size_t low, std::size_t high) {
    char* end = nullptr;
    unsigned long long const v = std::strtoull(text, &end, 10);
    if (!*text || *end || v < low || v > high) {
        static char msg[128];
        std::snprintf(msg, sizeof msg, "%s expects an integer in [%zu, %zu], found '%s'", flag, low, high, text);
        usage(msg);
    }
    return std::size_t(v);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view const a = argv[i];
        auto value = [&]() -> char const* {
            if (i + 1 >= argc) usage("a flag is missing its value");
            return argv[++i];
        };
        if (a == "--model") {
            std::string_view const m = value();
            if (m != "paper" && m != "fast" && m != "large" && m != "both" && m != "all")
                usage("--model expects paper, fast, large, both (paper and fast) or all");
            o.paper = m == "paper" || m == "both" || m == "all";
            o.fast = m == "fast" || m == "both" || m == "all";
            o.large = m == "large" || m == "all";
        } else if (a == "--mode") {
            std::string_view const m = value();
            if (m != "predict" && m != "train" && m != "all") usage("--mode expects predict, train or all");
            o.predict = m != "train";
            o.train = m != "predict";
        } else if (a == "--iterations") o.iterations = count_arg("--iterations", value(), 1, 100000000);
        else if (a == "--warmup") o.warmup = count_arg("--warmup", value(), 0, 100000000);
        else if (a == "--train-steps") o.train_steps = count_arg("--train-steps", value(), 1, 100000000);
        else if (a == "--threads") o.threads = count_arg("--threads", value(), 1, max_threads);
        else if (a == "--json") o.json = true;
        else if (a == "--profile") o.profile = true;
        else if (a == "--help" || a == "-h") usage("help");
        else usage("unknown flag");
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    options const o = parse(argc, argv);
    if (o.paper) run_model<mien::models::paper<>>("paper", o);
    if (o.fast) run_model<mien::models::fast>("fast", o);
    if (o.large) run_model<mien::models::large>("large", o);
    if (!o.json && !o.profile)
        std::printf("heap allocations (whole process): %zu\n", allocation_count.load(std::memory_order_relaxed));
    return 0;
}
