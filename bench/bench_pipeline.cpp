// bench/bench_pipeline.cpp -- mien-bench-pipeline: the real-time pipeline of mien-detect on a
// video, without display or output file: per-stage p50 / p99 / max frame times, mean frames/s and
// how many frames had a face (docs/RECOGNIZER.md, "Real time").
//
//   mien-bench-pipeline --video Megamind.avi --resize 640x480              text
//   mien-bench-pipeline --video Megamind.avi --resize 640x480 --json       one JSON object
//   taskset -c 1 mien-bench-pipeline --video ... --repeat 3 --search-parts 1 --cascade lbp.xml
//
// The video is decoded (and resized) into memory first, so decoding is not timed and every
// repeat sees the same frames. Each frame is copied into a work image (not timed), then timed:
// mien::video_recognizer::process (gray, detection near the tracked faces and one part of the
// whole-frame search, crops, network, tracking) and mien::overlay's drawing, as mien-detect does
// per frame. --track-search N times the scheme mien-detect used before (whole-frame searches
// every N frames) on the same frames, for a before/after comparison. OpenCV runs on one thread (--threads 1) unless told otherwise: the figures are
// for one core; pin the process (taskset) to make that true.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include <time.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <mien/vision/frame_stats.hpp>
#include <mien/vision/overlay.hpp>
#include <mien/vision/video_recognizer.hpp>

namespace {

struct config {
    std::string video, weights, model = "paper", cascade, resize;
    cv::Size size;
    std::size_t search_parts = mien::video_options{}.search_parts, max_frames = 0, repeat = 1, smooth = 5, track_search = 0;
    int detect_side = mien::face_detector_options{}.part_detect_side, min_neighbors = mien::face_detector_options{}.min_neighbors;
    double near_min = mien::recognizer_options{}.near_face_fractions[0], near_max = mien::recognizer_options{}.near_face_fractions[1];
    double near_step = mien::recognizer_options{}.near_scale_factor;
    double scale_factor = mien::face_detector_options{}.scale_factor, min_face = mien::face_detector_options{}.min_face_fraction;
    int threads = 1, near_side = mien::recognizer_options{}.near_side, near_min_neighbors = mien::recognizer_options{}.near_min_neighbors, hint_missed = mien::video_options{}.hint_missed;
    bool json = false, no_draw = false;
};

using clock_type = std::chrono::steady_clock;
double ms_since(clock_type::time_point t0) { return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count(); }

// This thread's CPU time: on a shared machine, the wall time of a frame also holds the time the
// scheduler gave the core to other programs; the CPU time does not, so it is the figure that
// compares between runs taken under different load (OpenCV runs on this thread: --threads 1).
double thread_cpu_ms() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

std::vector<cv::Mat> decode(config const& c) {
    cv::VideoCapture cap(c.video, cv::CAP_FFMPEG);
    if (!cap.isOpened()) mien::fail("%s is not a video OpenCV can read", c.video.c_str());
    std::vector<cv::Mat> frames;
    for (cv::Mat f; (c.max_frames == 0 || frames.size() < c.max_frames) && cap.read(f) && !f.empty();) {
        if (!c.size.empty()) cv::resize(f, f, c.size, 0, 0, cv::INTER_AREA);
        frames.push_back(f.clone());
    }
    if (frames.empty()) mien::fail("%s has no frame OpenCV can decode", c.video.c_str());
    return frames;
}

template <class Net>
int run(config const& c) {
    std::vector<cv::Mat> const frames = decode(c);
    mien::recognizer_options r;
    r.detector.cascade = c.cascade;
    r.detector.detect_side = r.detector.part_detect_side = c.detect_side;
    r.detector.scale_factor = c.scale_factor;
    r.detector.min_face_fraction = c.min_face;
    r.detector.min_neighbors = c.min_neighbors;
    r.near_min_neighbors = c.near_min_neighbors;
    r.near_side = c.near_side;
    r.near_face_fractions = {c.near_min, c.near_max};
    r.near_scale_factor = c.near_step;
    mien::video_options v;
    v.search_parts = c.search_parts;
    v.hint_missed = c.hint_missed;
    v.tracker.smooth = c.smooth;
    mien::video_recognizer<Net> video(c.weights, r, v);
    mien::overlay const draw(frames.front().size());
    mien::frame_stats stats;
    mien::latency_histogram frame_cpu;
    std::vector<mien::latency_histogram> part_cpu(c.search_parts);  // frame CPU time by search part
    std::size_t frames_with_face_first_run = 0;
    cv::Mat work;
    mien::face_tracker legacy_tracker({.smooth = c.smooth});
    std::vector<mien::recognized_face> legacy_faces;
    std::vector<cv::Rect> last;
    std::size_t index = 0;
    for (std::size_t rep = 0; rep < c.repeat; ++rep) {
        video.reset();
        legacy_tracker.reset();
        last.clear();
        index = 0;
        for (cv::Mat const& frame : frames) {
            frame.copyTo(work);
            double const cpu0 = thread_cpu_ms();
            auto const t0 = clock_type::now();
            std::span<mien::recognized_face const> faces;
            mien::frame_timings t;
            if (c.track_search > 0) {
                // The scheme before issue 13 (mien-detect --track-search N): a whole-frame search
                // every N-th frame and after a frame without a face, else only near the last faces.
                bool const near = c.track_search > 1 && index % c.track_search != 0 && !last.empty();
                auto& rec = video.recognizer();
                auto const& found = near ? rec.recognize_near(work, last) : rec.recognize(work);
                legacy_faces.assign(found.begin(), found.end());
                last.clear();
                for (auto const& f : legacy_faces) last.push_back(f.box);
                t = mien::frame_timings_of(rec.timings());
                auto const tt = clock_type::now();
                legacy_tracker.update(std::span<mien::recognized_face>(legacy_faces));
                t.tracking_ms = ms_since(tt);
                faces = legacy_faces;
            } else {
                faces = video.process(work);
                t = video.timings();
            }
            ++index;
            auto const t1 = clock_type::now();
            if (!c.no_draw) {
                for (auto const& face : faces) draw.face(work, face);
                char line[160];
                std::snprintf(line, sizeof line, "%.1f ms  p99 %.1f ms", t.frame_ms,
                              stats.stage(mien::stage::frame).percentile(0.99));
                draw.status(work, line);
            }
            t.drawing_ms = ms_since(t1);
            t.frame_ms = ms_since(t0);
            frame_cpu.add(thread_cpu_ms() - cpu0);
            part_cpu[video.last_part()].add(thread_cpu_ms() - cpu0);
            stats.add(t);
            if (rep == 0) frames_with_face_first_run += !faces.empty();
        }
    }
    double const per_run = double(frames.size());
    double const recall = 100.0 * double(frames_with_face_first_run) / per_run;
    if (c.json) {
        nlohmann::ordered_json j;
        j["video"] = c.video;
        j["width"] = frames.front().cols;
        j["height"] = frames.front().rows;
        j["frames"] = frames.size();
        j["repeat"] = c.repeat;
        j["model"] = c.model;
        j["cascade"] = video.recognizer().detector().cascade_path().string();
        j["detect_side"] = c.detect_side;
        j["scale_factor"] = c.scale_factor;
        j["min_face"] = c.min_face;
        j["min_neighbors"] = c.min_neighbors;
        j["search_parts"] = c.search_parts;
        j["track_search"] = c.track_search;
        j["hint_missed"] = c.hint_missed;
        j["near_min_neighbors"] = c.near_min_neighbors;
        j["near_side"] = c.near_side;
        j["near_face_fractions"] = {c.near_min, c.near_max};
        j["near_scale_factor"] = c.near_step;
        j["draw"] = !c.no_draw;
        j["frames_with_face"] = frames_with_face_first_run;
        j["frames_with_face_percent"] = recall;
        j["faces_per_run"] = double(stats.faces()) / double(c.repeat);
        j["fps"] = stats.frames_per_second();
        nlohmann::ordered_json st;
        for (std::size_t s = 0; s < mien::stage_count; ++s) {
            auto const& h = stats.stage(mien::stage(s));
            st[std::string(mien::stage_names[s])] = {{"mean_ms", h.mean()},
                                                     {"p50_ms", h.percentile(0.5)},
                                                     {"p99_ms", h.percentile(0.99)},
                                                     {"max_ms", h.max()}};
        }
        j["stages"] = st;
        j["frame_cpu"] = {{"mean_ms", frame_cpu.mean()}, {"p50_ms", frame_cpu.percentile(0.5)},
                          {"p99_ms", frame_cpu.percentile(0.99)}, {"max_ms", frame_cpu.max()}};
        j["part_cpu_mean_ms"] = nlohmann::json::array();
        j["part_cpu_max_ms"] = nlohmann::json::array();
        for (auto const& h : part_cpu) {
            j["part_cpu_mean_ms"].push_back(h.mean());
            j["part_cpu_max_ms"].push_back(h.max());
        }
        j["fps_cpu"] = frame_cpu.mean() > 0 ? 1000.0 / frame_cpu.mean() : 0.0;
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    std::printf("%s: %zu frames %dx%d x %zu, %zu with a face (%.1f %%), %.2f faces per frame; %s, %s, detect side %d, "
                "step %.2f, min face %.3f, %zu search parts\n",
                c.video.c_str(), frames.size(), frames.front().cols, frames.front().rows, c.repeat, frames_with_face_first_run,
                recall, double(stats.faces()) / double(stats.frames()), c.model.c_str(),
                video.recognizer().detector().cascade_path().filename().string().c_str(), c.detect_side, c.scale_factor,
                c.min_face, c.search_parts);
    std::printf("%-14s %9s %9s %9s %9s\n", "stage (ms)", "mean", "p50", "p99", "max");
    for (std::size_t s = 0; s < mien::stage_count; ++s) {
        auto const& h = stats.stage(mien::stage(s));
        std::printf("%-14s %9.3f %9.3f %9.3f %9.3f\n", std::string(mien::stage_names[s]).c_str(), h.mean(), h.percentile(0.5),
                    h.percentile(0.99), h.max());
    }
    std::printf("%-14s %9.3f %9.3f %9.3f %9.3f   (CPU time of this thread)\n", "frame, CPU", frame_cpu.mean(),
                frame_cpu.percentile(0.5), frame_cpu.percentile(0.99), frame_cpu.max());
    std::printf("mean %.1f frames/s (wall), %.1f frames/s (CPU)\n", stats.frames_per_second(),
                frame_cpu.mean() > 0 ? 1000.0 / frame_cpu.mean() : 0.0);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    CLI::App app{"mien-bench-pipeline: mien-detect's per-frame pipeline on a video, timed per stage (no display, no output)"};
    app.add_option("--video", c.video, "video file")->required();
    app.add_option("--weights", c.weights, "weights (.mien) of --model")->required();
    app.add_option("--model", c.model, "paper or fast")->capture_default_str()->check(CLI::IsMember({"paper", "fast"}));
    app.add_option("--resize", c.resize, "resize every frame to WxH first (640x480: the issue's reference size)");
    app.add_option("--cascade", c.cascade, "cascade XML (default: Debian's haarcascade_frontalface_default.xml)");
    app.add_option("--detect-side", c.detect_side, "longer side of the searched copy (0: full size), for every search")->capture_default_str();
    app.add_option("--scale-factor", c.scale_factor, "cascade pyramid step")->capture_default_str()->check(CLI::Range(1.01, 2.0));
    app.add_option("--min-face", c.min_face, "smallest face, fraction of the searched copy's shorter side")->capture_default_str();
    app.add_option("--min-neighbors", c.min_neighbors, "detections needed to keep a box")->capture_default_str();
    app.add_option("--search-parts", c.search_parts, "whole-frame search spread over N frames (1: all of it every frame)")
        ->capture_default_str()->check(CLI::Range(1, 64));
    app.add_option("--near-min-neighbors", c.near_min_neighbors, "detections needed near a tracked face")
        ->capture_default_str()->check(CLI::Range(1, 20));
    app.add_option("--near-side", c.near_side, "side the region around a tracked face is scaled to")
        ->capture_default_str()->check(CLI::Range(48, 1000));
    app.add_option("--near-min", c.near_min, "smallest face searched near a tracked face, fraction of the region")
        ->capture_default_str()->check(CLI::Range(0.05, 1.0));
    app.add_option("--near-max", c.near_max, "largest face searched near a tracked face, fraction of the region")
        ->capture_default_str()->check(CLI::Range(0.05, 1.0));
    app.add_option("--near-step", c.near_step, "pyramid step of the search near a tracked face")
        ->capture_default_str()->check(CLI::Range(1.01, 2.0));
    app.add_option("--hint-missed", c.hint_missed, "search near tracks missed for at most N frames")
        ->capture_default_str()->check(CLI::Range(0, 100));
    app.add_option("--track-search", c.track_search,
                   "instead, the scheme before issue 13: a whole-frame search every N frames and after a frame without a face, "
                   "else near the last faces (for comparison; 0: off)")
        ->capture_default_str()->check(CLI::Range(0, 1000));
    app.add_option("--smooth", c.smooth, "tracker smoothing, frames")->capture_default_str()->check(CLI::Range(1, 1000));
    app.add_option("--max-frames", c.max_frames, "decode at most N frames (0: all)")->capture_default_str();
    app.add_option("--repeat", c.repeat, "run the decoded frames N times (tracks reset between runs)")
        ->capture_default_str()->check(CLI::Range(1, 1000));
    app.add_option("--threads", c.threads, "OpenCV threads (1: one core)")->capture_default_str()->check(CLI::Range(0, 256));
    app.add_flag("--no-draw", c.no_draw, "skip the overlay drawing");
    app.add_flag("--json", c.json, "one JSON object");
    CLI11_PARSE(app, argc, argv);
    if (!c.resize.empty()) {
        char x = 0;
        if (std::sscanf(c.resize.c_str(), "%d%c%d", &c.size.width, &x, &c.size.height) != 3 || x != 'x' || c.size.width <= 0 ||
            c.size.height <= 0) {
            std::fprintf(stderr, "mien-bench-pipeline: --resize: expected WxH such as 640x480, found '%s'\n", c.resize.c_str());
            return 2;
        }
    }
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
    if (c.threads > 0) cv::setNumThreads(c.threads);
    try {
        return c.model == "fast" ? run<mien::models::fast>(c) : run<mien::models::paper<>>(c);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-bench-pipeline: %s\n", e.what());
        return 1;
    }
}
