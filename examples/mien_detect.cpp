// mien-detect -- faces and their expressions, live from a camera, in a video, or in photos.
//
//   mien-detect --camera 0                                   (a window when a display exists)
//   mien-detect --video Megamind.avi --output megamind-mien.avi --smooth 5
//   mien-detect --image a.jpg b.png --json                   (one JSON object per image)
//   mien-detect --dir photos/ --output annotated/ --explain
//
// Per frame of a video or camera (mien::video_recognizer, mien/vision/video_recognizer.hpp): the
// faces are searched by OpenCV's Haar cascade near the faces tracked so far and, on a downscaled
// gray copy, in one of --search-parts bands of face sizes of the whole frame, so that no frame
// pays for a whole-frame search; each face is cropped square with the measured margin, made
// 48x48 gray and classified by the network (the shipped models/paper.mien unless --weights;
// --model fast or large for those presets' weights, 7 or 8 classes each).
// A tracker (IoU between frames, mien/vision/face_tracker.hpp) gives each face an id and
// --smooth N averages its probabilities over its last N frames. Photos get a whole-frame search
// each. --explain overlays the saliency map (gradient of the top class's score with respect to
// the face, mien/core/saliency.hpp).
//
// Output: boxes, labels, a bar per expression, the frame time and per-stage milliseconds drawn on
// each frame (mien/vision/overlay.hpp); shown in a window when a display exists (DISPLAY or WAYLAND_DISPLAY; not with
// --no-window), and written with --output (or, without a display, by default): a video
// (--video: <stem>-mien.avi, --camera N: camera<N>-mien.avi; .avi is Motion JPEG, .mp4 MPEG-4)
// or, for photos, a folder (mien-detect-out/) of <stem>.png. Files are written under a temporary
// name and renamed when complete. --json: one JSON object per line per frame (per photo) on
// stdout; the per-expression summary at the end then goes to stderr.
//
// time_ms in the JSON: a video frame's position (its index over the file's frame rate), the time
// since the first frame for a camera, 0 for photos.
//
// At the end: the counts per expression and, per stage, the mean, p50, p99 and max milliseconds
// per frame (mien/vision/frame_stats.hpp): a live camera needs the slow frames, not the mean.
//
// Exit status: 0 done (frames without a face are normal), 1 bad input or failure (the message
// names the file or device and what was wrong), 2 bad flags.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/highgui.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <opencv2/videoio/registry.hpp>

#include <mien/core/saliency.hpp>
#include <mien/data/image_folder.hpp>
#include <mien/io/binary.hpp>
#include <mien/vision/frame_stats.hpp>
#include <mien/vision/overlay.hpp>
#include <mien/vision/video_recognizer.hpp>

namespace fs = std::filesystem;

namespace {

std::atomic<bool> interrupted{false};

struct config {
    int camera = -1;
    std::string video, dir, output, weights, model = "paper", cascade;
    std::vector<std::string> images;
    bool json = false, explain = false, no_output = false, no_window = false;
    std::string resize;  // WxH: every frame resized first (e.g. 640x480 for comparable timings)
    cv::Size size;
    std::size_t smooth = 1, max_frames = 0, search_parts = mien::video_options{}.search_parts;
    double scale_factor = mien::face_detector_options{}.scale_factor, min_face = mien::face_detector_options{}.min_face_fraction;
    int detect_side = -1, threads = 0, camera_retries = 20;
    double margin = mien::recognizer_options{}.crop.margin, offset = mien::recognizer_options{}.crop.offset;
};

using clock_type = std::chrono::steady_clock;
double ms_since(clock_type::time_point t0) { return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count(); }

// The weights: --weights, else models/<model>.mien here, else in the source tree's models/.
std::string find_weights(config const& c) {
    if (!c.weights.empty()) return c.weights;
    fs::path const name = c.model + ".mien";
    std::vector<fs::path> candidates{fs::path("models") / name};
#ifdef MIEN_MODELS_DIR
    candidates.push_back(fs::path(MIEN_MODELS_DIR) / name);
#endif
    std::string tried;
    for (auto const& p : candidates) {
        if (fs::is_regular_file(p)) return p.string();
        tried += " " + p.string();
    }
    mien::fail("no weights given and none found (tried%s); pass --weights FILE", tried.c_str());
}

// The annotated video, written under a temporary name in its final folder and renamed into place
// by commit(); removed if never committed (an error, an exception). cv::VideoWriter writes the
// file itself, so mien::detail::write_file_atomically (which takes the bytes) cannot; photos use it.
class atomic_output {
public:
    explicit atomic_output(fs::path final_path) : final_(std::move(final_path)) {
        fs::path const dir = final_.parent_path().empty() ? fs::path(".") : final_.parent_path();
        if (!fs::is_directory(dir)) mien::fail("cannot write %s: folder %s does not exist", final_.string().c_str(), dir.string().c_str());
        // The extension stays last: OpenCV chooses the encoder / container by it.
        temp_ = dir / ("." + final_.stem().string() + ".part-" + std::to_string(::getpid()) + final_.extension().string());
    }
    ~atomic_output() {
        std::error_code ignored;
        if (!committed_) fs::remove(temp_, ignored);
    }
    atomic_output(atomic_output const&) = delete;
    atomic_output& operator=(atomic_output const&) = delete;
    fs::path const& temp() const { return temp_; }
    fs::path const& path() const { return final_; }
    void commit() {
        std::error_code e;
        fs::rename(temp_, final_, e);
        if (e) mien::fail("cannot rename %s to %s: %s", temp_.string().c_str(), final_.string().c_str(), e.message().c_str());
        committed_ = true;
    }

private:
    fs::path final_, temp_;
    bool committed_ = false;
};

int fourcc_for(fs::path const& file) {
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
    if (ext == ".avi" || ext == ".mkv") return cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
    if (ext == ".mp4" || ext == ".m4v" || ext == ".mov") return cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    mien::fail("cannot write video %s: expected the extension .avi, .mkv, .mp4, .m4v or .mov, found '%s'",
               file.string().c_str(), ext.c_str());
}

// Per-expression counts and the per-stage frame times of the whole run.
struct summary {
    std::vector<std::string> names;  // the model's classes
    std::array<std::size_t, mien::max_classes> per_expression{};
    mien::frame_stats stats;
    double wall_ms = 0;  // the whole loop: decoding, the pipeline, writing, display

    void print(std::FILE* f, std::string const& source) const {
        std::size_t const frames = stats.frames(), faces = stats.faces();
        std::fprintf(f, "mien-detect: %s: %zu frames, %zu with a face (%.1f %%), %zu faces\n", source.c_str(), frames,
                     stats.frames_with_faces(), frames ? 100.0 * double(stats.frames_with_faces()) / double(frames) : 0.0, faces);
        std::fprintf(f, "%-10s %7s %7s\n", "expression", "faces", "share");
        for (std::size_t k = 0; k < names.size(); ++k)
            std::fprintf(f, "%-10s %7zu %6.1f%%\n", names[k].c_str(), per_expression[k],
                         faces ? 100.0 * double(per_expression[k]) / double(faces) : 0.0);
        if (frames == 0) return;
        std::fprintf(f, "ms per frame     mean     p50     p99     max\n");
        for (auto const s : {mien::stage::detection, mien::stage::preprocessing, mien::stage::recognition, mien::stage::per_face,
                             mien::stage::tracking, mien::stage::drawing, mien::stage::frame}) {
            auto const& h = stats.stage(s);
            std::fprintf(f, "%-14s %7.2f %7.2f %7.2f %7.2f\n", std::string(mien::stage_names[std::size_t(s)]).c_str(), h.mean(),
                         h.percentile(0.5), h.percentile(0.99), h.max());
        }
        std::fprintf(f, "pipeline %.1f frames/s; whole loop with decoding and writing %.1f frames/s\n", stats.frames_per_second(),
                     wall_ms > 0 ? 1000.0 * double(frames) / wall_ms : 0.0);
    }
};

template <class Net>
class pipeline {
public:
    pipeline(config const& c, std::string const& weights) : c_(c), video_(weights, options(c), video(c)) {
        if (c.explain) saliency_ = std::make_unique<mien::saliency<Net>>();
        photo_faces_.reserve(16);
        summary_.names = video_.recognizer().labels();
    }

    // Recognizes, tracks, explains and draws one frame (annotated in place): a video or camera
    // frame (photo false: the searches of mien::video_recognizer) or a photo (a whole-frame
    // search, no tracking across photos). Returns the frame's JSON when --json.
    nlohmann::ordered_json process(cv::Mat& frame, std::size_t index, double time_ms, double read_ms, bool photo) {
        auto const t_frame = clock_type::now();
        std::span<mien::recognized_face const> faces;
        mien::frame_timings t;
        if (photo) {
            auto& rec = video_.recognizer();
            auto const& found = rec.recognize(frame);
            photo_faces_.assign(found.begin(), found.end());
            t = mien::frame_timings_of(rec.timings());
            auto const t0 = clock_type::now();
            video_.tracker().reset();
            video_.tracker().update(std::span<mien::recognized_face>(photo_faces_));
            t.tracking_ms = ms_since(t0);
            faces = photo_faces_;
        } else {
            faces = video_.process(frame);
            t = video_.timings();
        }

        auto t0 = clock_type::now();
        std::vector<std::array<float, Net::inputs>> maps;  // --explain only (it allocates)
        if (saliency_)
            for (std::size_t i = 0; i < faces.size(); ++i)
                maps.push_back(saliency_->gradient(video_.recognizer().network(), video_.recognizer().input(i),
                                                   std::size_t(faces[i].label)));
        double const explain_ms = ms_since(t0);

        t0 = clock_type::now();
        if (frame.channels() == 1) cv::cvtColor(frame, frame, cv::COLOR_GRAY2BGR);
        if (frame.channels() == 4) cv::cvtColor(frame, frame, cv::COLOR_BGRA2BGR);
        if (!overlay_ || overlay_size_ != frame.size()) {
            overlay_.emplace(frame.size());
            overlay_size_ = frame.size();
        }
        for (std::size_t i = 0; i < maps.size(); ++i)
            mien::overlay::saliency(frame, faces[i].crop, maps[i].data(), video_.recognizer().side);
        for (auto const& face : faces) overlay_->face(frame, face);
        // The frame time of the last frame and the slowest 1 % so far: what a live camera feels.
        auto const& frame_h = summary_.stats.stage(mien::stage::frame);
        char status[200];
        std::snprintf(status, sizeof status, "frame %.1f ms (p99 %.1f ms)  detect %.1f  crop %.2f  net %.2f  draw %.2f%s",
                      last_frame_ms_, frame_h.percentile(0.99), t.detection_ms, t.preprocessing_ms, t.recognition_ms,
                      last_drawing_ms_, faces.empty() ? "  no face" : "");
        overlay_->status(frame, status);
        t.drawing_ms = ms_since(t0);
        last_drawing_ms_ = t.drawing_ms;
        t.frame_ms = ms_since(t_frame) - explain_ms;  // --explain is a diagnosis, not the pipeline
        last_frame_ms_ = t.frame_ms;

        summary_.stats.add(t);
        for (auto const& face : faces) ++summary_.per_expression[std::size_t(face.label)];
        if (!c_.json) return {};

        nlohmann::ordered_json j;
        j["frame"] = index;
        j["time_ms"] = time_ms;
        j["width"] = frame.cols;
        j["height"] = frame.rows;
        j["faces"] = nlohmann::ordered_json::array();
        for (auto const& face : faces) {
            nlohmann::ordered_json p = nlohmann::ordered_json::object();
            for (std::size_t k = 0; k < face.classes; ++k) p[std::string(face.class_name(k))] = face.probabilities[k];
            j["faces"].push_back({{"id", face.id},
                                  {"box", {face.box.x, face.box.y, face.box.width, face.box.height}},
                                  {"label", face.name()},
                                  {"confidence", face.confidence()},
                                  {"probabilities", p}});
        }
        if (photo) j["search"] = "frame";
        else j["search"] = {{"part", video_.last_part()}, {"parts", video_.options().search_parts}, {"near", video_.hints()}};
        j["timings"] = {{"read_ms", read_ms},
                        {"gray_ms", t.gray_ms},
                        {"detection_ms", t.detection_ms},
                        {"preprocessing_ms", t.preprocessing_ms},
                        {"recognition_ms", t.recognition_ms},
                        {"tracking_ms", t.tracking_ms},
                        {"explain_ms", explain_ms},
                        {"drawing_ms", t.drawing_ms},
                        {"frame_ms", t.frame_ms}};
        return j;
    }

    summary& totals() { return summary_; }

private:
    static mien::recognizer_options options(config const& c) {
        mien::recognizer_options o;
        o.detector.cascade = c.cascade;
        if (c.detect_side >= 0) o.detector.detect_side = o.detector.part_detect_side = c.detect_side;  // else: the two defaults
        o.detector.scale_factor = c.scale_factor;
        o.detector.min_face_fraction = c.min_face;
        o.crop.margin = c.margin;
        o.crop.offset = c.offset;
        return o;
    }
    static mien::video_options video(config const& c) {
        mien::video_options v;
        v.search_parts = c.search_parts;
        v.tracker.smooth = c.smooth;
        return v;
    }

    config const& c_;
    mien::video_recognizer<Net> video_;
    std::vector<mien::recognized_face> photo_faces_;
    std::unique_ptr<mien::saliency<Net>> saliency_;
    std::optional<mien::overlay> overlay_;
    cv::Size overlay_size_;
    summary summary_;
    double last_drawing_ms_ = 0, last_frame_ms_ = 0;
};

bool has_display(config const& c) {
    if (c.no_window) return false;
    for (char const* name : {"DISPLAY", "WAYLAND_DISPLAY"})
        if (char const* v = std::getenv(name); v != nullptr && *v != '\0') return true;
    return false;
}

// Shows a frame; returns false when the user asked to stop (q or Esc). A window that cannot be
// opened (OpenCV without GUI support) turns the window off with a warning.
bool show(bool& window, cv::Mat const& frame, int wait_ms) {
    if (!window) return true;
    try {
        cv::imshow("mien-detect", frame);
        int const key = cv::waitKey(wait_ms);
        return key != 'q' && key != 27;
    } catch (cv::Exception const& e) {
        std::fprintf(stderr, "mien-detect: warning: no window (%s); continuing without one\n", e.what());
        window = false;
        return true;
    }
}

void emit(config const& c, nlohmann::ordered_json const& j) {
    if (!c.json) return;  // j is empty then
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
}

// --camera and --video: frames from cv::VideoCapture.
template <class Net>
int run_video(config const& c, std::string const& weights) {
    bool const camera = c.camera >= 0;
    std::string source;
    cv::VideoCapture cap;
    if (camera) {
        source = "camera " + std::to_string(c.camera);
        fs::path const device = "/dev/video" + std::to_string(c.camera);
        if (!fs::exists(device))
            mien::fail("cannot open camera %d: %s does not exist (no camera connected, or not visible here)", c.camera,
                       device.string().c_str());
        if (!cap.open(c.camera, cv::CAP_V4L2) || !cap.isOpened())
            mien::fail("cannot open camera %d (%s): the V4L2 device did not start (busy, no permission, or not a camera)",
                       c.camera, device.string().c_str());
        cap.set(cv::CAP_PROP_FRAME_WIDTH, 640);
        cap.set(cv::CAP_PROP_FRAME_HEIGHT, 480);
    } else {
        source = c.video;
        if (!fs::exists(c.video)) mien::fail("video %s does not exist", c.video.c_str());
        if (fs::is_directory(c.video)) mien::fail("video %s is a folder (use --dir for a folder of photos)", c.video.c_str());
        bool opened = false;
        try {
            // FFmpeg reads every usual format; CAP_ANY would also try image sequences and camera
            // backends on a file that is not a video, with noisy messages of their own.
            auto const api = cv::videoio_registry::hasBackend(cv::CAP_FFMPEG) ? cv::CAP_FFMPEG : cv::CAP_ANY;
            opened = cap.open(c.video, api) && cap.isOpened();
        } catch (cv::Exception const&) {
            opened = false;
        }
        if (!opened) mien::fail("%s is not a video OpenCV can read (expected a video file such as .avi or .mp4)", c.video.c_str());
    }

    pipeline<Net> p(c, weights);
    bool window = has_display(c);
    std::optional<atomic_output> out;
    cv::VideoWriter writer;
    if (!c.no_output && (!window || !c.output.empty())) {
        fs::path const path = !c.output.empty() ? fs::path(c.output)
                              : camera           ? fs::path("camera" + std::to_string(c.camera) + "-mien.avi")
                                                 : fs::path(fs::path(c.video).stem().string() + "-mien.avi");
        out.emplace(path);
    }

    auto const start = clock_type::now();
    double const video_fps = cap.get(cv::CAP_PROP_FPS);  // a file's frame times: index / its frame rate
    std::size_t index = 0;
    cv::Mat frame;
    while (!interrupted && (c.max_frames == 0 || index < c.max_frames)) {
        auto const t_read = clock_type::now();
        bool got = cap.read(frame) && !frame.empty();
        if (!got && camera) {  // a camera may miss a frame: retry, bounded, then give up
            for (int attempt = 0; attempt < c.camera_retries && !got && !interrupted; ++attempt) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                got = cap.read(frame) && !frame.empty();
            }
            if (!got && !interrupted)
                mien::fail("camera %d stopped delivering frames after %zu frames (%d retries over %.1f s)", c.camera, index,
                           c.camera_retries, c.camera_retries * 0.1);
        }
        if (!got) {
            if (index == 0 && !interrupted) mien::fail("%s has no frame OpenCV can decode (not a video, or damaged)", source.c_str());
            break;
        }
        if (!c.size.empty()) cv::resize(frame, frame, c.size, 0, 0, cv::INTER_AREA);
        double const read_ms = ms_since(t_read);
        double const time_ms = camera || !(video_fps > 0 && video_fps < 1000) ? ms_since(start) : 1000.0 * double(index) / video_fps;

        nlohmann::ordered_json const j = p.process(frame, index, time_ms, read_ms, false);
        if (out && !writer.isOpened()) {
            double rate = cap.get(cv::CAP_PROP_FPS);
            if (!(rate > 0 && rate < 1000)) rate = 30;
            if (!writer.open(out->temp().string(), fourcc_for(out->path()), rate, frame.size()))
                mien::fail("cannot write video %s (no OpenCV encoder for it)", out->path().string().c_str());
        }
        if (writer.isOpened()) writer.write(frame);
        bool const go_on = show(window, frame, 1);
        emit(c, j);
        ++index;
        if (!go_on) break;
    }
    p.totals().wall_ms = ms_since(start);
    if (writer.isOpened()) {
        writer.release();
        out->commit();
    }
    std::FILE* const f = c.json ? stderr : stdout;
    p.totals().print(f, source);
    if (out && out->path().string().size() && fs::exists(out->path())) std::fprintf(f, "wrote %s\n", out->path().string().c_str());
    return 0;
}

// --image and --dir: one frame per photo.
template <class Net>
int run_images(config const& c, std::string const& weights) {
    std::vector<fs::path> files;
    std::string source;
    if (!c.dir.empty()) {
        source = c.dir;
        if (!fs::is_directory(c.dir)) mien::fail("%s is not a folder", c.dir.c_str());
        for (auto const& e : fs::directory_iterator(c.dir))
            if (e.is_regular_file() && mien::detail::is_image_name(e.path())) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        if (files.empty()) mien::fail("no images (.png, .jpg, .tiff, ...) in %s", c.dir.c_str());
    } else {
        source = c.images.size() == 1 ? c.images[0] : std::to_string(c.images.size()) + " images";
        for (auto const& name : c.images) {
            if (!fs::exists(name)) mien::fail("image %s does not exist", name.c_str());
            if (fs::is_directory(name)) mien::fail("image %s is a folder (use --dir)", name.c_str());
            files.emplace_back(name);
        }
    }
    pipeline<Net> p(c, weights);
    bool window = has_display(c);
    fs::path out_dir;
    if (!c.no_output && (!window || !c.output.empty())) {
        out_dir = c.output.empty() ? fs::path("mien-detect-out") : fs::path(c.output);
        std::error_code e;
        fs::create_directories(out_dir, e);
        if (!fs::is_directory(out_dir)) mien::fail("cannot create the output folder %s", out_dir.string().c_str());
    }
    auto const start = clock_type::now();
    for (std::size_t i = 0; i < files.size() && !interrupted; ++i) {
        auto const t_read = clock_type::now();
        cv::Mat image;
        try {
            image = cv::imread(files[i].string(), cv::IMREAD_COLOR);
        } catch (cv::Exception const&) {
        }
        if (image.empty()) mien::fail("%s is not an image OpenCV can decode", files[i].string().c_str());
        if (!c.size.empty()) cv::resize(image, image, c.size, 0, 0, cv::INTER_AREA);
        double const read_ms = ms_since(t_read);
        nlohmann::ordered_json j = p.process(image, i, 0.0, read_ms, true);
        if (c.json) j["file"] = files[i].string();
        if (!out_dir.empty()) {
            fs::path const path = out_dir / (files[i].stem().string() + ".png");
            std::vector<uchar> png;
            if (!cv::imencode(".png", image, png)) mien::fail("cannot encode %s as PNG", path.string().c_str());
            mien::detail::write_file_atomically(path, std::as_bytes(std::span<uchar const>(png)), "mien-detect");
        }
        emit(c, j);
        if (!show(window, image, 0)) break;
    }
    p.totals().wall_ms = ms_since(start);
    std::FILE* const f = c.json ? stderr : stdout;
    p.totals().print(f, source);
    if (!out_dir.empty()) std::fprintf(f, "wrote %zu annotated images to %s\n", p.totals().stats.frames(), out_dir.string().c_str());
    return 0;
}

// The presets of models/paper.hpp with K outputs: 7 (FER2013) or 8 (FER+, mien-train --labels ferplus).
template <std::size_t K>
using paper_k = mien::models::paper<32, 64, 128, 64, 128, K>;
template <std::size_t K>
using fast_k = mien::models::paper<16, 32, 64, 32, 64, K>;
template <std::size_t K>
using large_k = mien::models::paper<64, 128, 256, 128, 256, K>;
static_assert(std::is_same_v<paper_k<7>, mien::models::paper<>> && std::is_same_v<fast_k<7>, mien::models::fast> &&
                  std::is_same_v<large_k<7>, mien::models::large>,
              "the widths here must stay those of the presets");

// Whether the weights load into Net (an 8-output FER+ model, say).
template <class Net>
bool loads_as(std::string const& weights) {
    try {
        auto net = std::make_unique<Net>();
        mien::load_weights(*net, weights);
        return true;
    } catch (mien::error const&) {
        return false;
    }
}

template <class Net>
int run(config const& c) {
    std::string const weights = find_weights(c);
    if (c.camera >= 0 || !c.video.empty()) return run_video<Net>(c, weights);
    return run_images<Net>(c, weights);
}

// The preset with 7 or 8 outputs: the weights file says which (a file that fits neither fails in
// run<Preset<7>> with the shape that differs).
template <template <std::size_t> class Preset>
int run_preset(config const& c) {
    return loads_as<Preset<8>>(find_weights(c)) ? run<Preset<8>>(c) : run<Preset<7>>(c);
}

}  // namespace

int main(int argc, char** argv) {
    config c;
    CLI::App app{"mien-detect: facial expressions of the faces in a camera stream, a video or photos"};
    auto* camera = app.add_option("--camera", c.camera, "camera number N (/dev/videoN, V4L2)")->check(CLI::NonNegativeNumber);
    auto* video = app.add_option("--video", c.video, "video file");
    auto* image = app.add_option("--image", c.images, "image file(s)");
    auto* dir = app.add_option("--dir", c.dir, "folder of images");
    camera->excludes(video, image, dir);
    video->excludes(image, dir);
    image->excludes(dir);
    app.add_option("--output", c.output, "annotated video (.avi, .mp4) or, for photos, folder to write");
    app.add_flag("--no-output", c.no_output, "write no annotated video / images");
    app.add_flag("--no-window", c.no_window, "never open a window, even with a display");
    app.add_flag("--json", c.json, "one JSON object per frame (per photo) on stdout");
    app.add_option("--weights", c.weights, "weights file (.mien); default models/<model>.mien");
    app.add_option("--model", c.model, "network of the weights: paper, fast or large")
        ->capture_default_str()->check(CLI::IsMember({"paper", "fast", "large"}));
    app.add_option("--cascade", c.cascade, "Haar cascade XML (default: MIEN_HAAR_CASCADE, then Debian's opencv-data)");
    app.add_option("--smooth", c.smooth, "average each tracked face's probabilities over its last N frames")
        ->capture_default_str()->check(CLI::Range(1, 1000));
    app.add_flag("--explain", c.explain, "overlay the saliency map (gradient of the top class w.r.t. the face)");
    app.add_option("--margin", c.margin, "crop margin around the face box, fraction of its side")->capture_default_str();
    app.add_option("--offset", c.offset, "crop centre moved down by this fraction of the box side")->capture_default_str();
    app.add_option("--detect-side", c.detect_side,
                   "longer side of the frame copy searched for faces (0: full size; default: 320 for photos, 280 for a "
                   "video or camera, whose search is spread over frames)")
        ->check(CLI::Range(0, 10000));
    app.add_option("--resize", c.resize, "resize every frame to WxH first, e.g. 640x480")
        ->check([](std::string const& v) {
            int w = 0, h = 0;
            char x = 0, extra = 0;
            return std::sscanf(v.c_str(), "%d%c%d%c", &w, &x, &h, &extra) == 3 && x == 'x' && w > 0 && h > 0 && w <= 8192 && h <= 8192
                       ? std::string()
                       : "expected WxH such as 640x480, found '" + v + "'";
        });
    app.add_option("--scale-factor", c.scale_factor, "detector pyramid step (larger: faster, may miss faces)")
        ->capture_default_str()->check(CLI::Range(1.01, 2.0));
    app.add_option("--min-face", c.min_face, "smallest face searched, fraction of the frame's shorter side")
        ->capture_default_str()->check(CLI::Range(0.01, 1.0));
    app.add_option("--search-parts", c.search_parts,
                   "video: spread the whole-frame face search over N frames, searching near the tracked faces on every frame "
                   "(1: all of it on every frame)")
        ->capture_default_str()->check(CLI::Range(1, 64));
    app.add_option("--max-frames", c.max_frames, "stop after N frames (0: all)")->capture_default_str();
    app.add_option("--camera-retries", c.camera_retries, "reads (100 ms apart) before a silent camera is an error")
        ->capture_default_str()->check(CLI::Range(0, 600));
    app.add_option("--threads", c.threads, "OpenCV threads (0: OpenCV's default; 1 for one-core timings)")
        ->capture_default_str()->check(CLI::Range(0, 256));
    CLI11_PARSE(app, argc, argv);
    if (c.camera < 0 && c.video.empty() && c.images.empty() && c.dir.empty()) {
        std::fprintf(stderr, "mien-detect: give a source: --camera N, --video FILE, --image FILE..., or --dir DIR (--help)\n");
        return 2;
    }
    if (!c.resize.empty()) std::sscanf(c.resize.c_str(), "%dx%d", &c.size.width, &c.size.height);
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);  // our messages say what failed
    if (c.threads > 0) cv::setNumThreads(c.threads);
    std::signal(SIGINT, [](int) { interrupted = true; });
    std::signal(SIGTERM, [](int) { interrupted = true; });
    try {
        if (c.model == "fast") return run_preset<fast_k>(c);
        if (c.model == "large") return run_preset<large_k>(c);
        return run_preset<paper_k>(c);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "mien-detect: %s\n", e.what());
        return 1;
    }
}
