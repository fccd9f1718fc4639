// mien/vision/recognizer.hpp -- faces and their expressions in a camera frame, a video frame or a
// photo: detection, cropping and the network in one call (OpenCV).
//
//   mien::recognizer<> rec("models/paper.mien");            // the paper network, Debian's cascade
//   for (auto const& face : rec.recognize(frame))           // frame: BGR, BGRA or gray, 8-bit
//       std::printf("%s %.2f at (%d, %d)\n", face.name().data(), face.confidence(), face.box.x, face.box.y);
//
// Per frame: the frame is converted to gray once; mien::face_detector finds the faces on a
// downscaled copy (face_detector.hpp); each face, largest first and at most max_faces of them,
// is cropped square with the measured margin and offset (face_crop.hpp), resized to the
// network's input and scaled to [0, 1], exactly as the training data (48x48 gray FER2013
// faces); the network gives 7 probabilities. A frame without a face gives an empty list.
// timings() says how long each stage of the last call took; input(i) is what the network saw
// for face i (for saliency maps, mien/core/saliency.hpp).
//
// In a video, recognize_near(frame, last_boxes) searches only around the faces of the previous
// frame, at the scale they had: far cheaper than a whole-frame search, but blind to faces that
// appear elsewhere, so call recognize() every few frames (mien-detect --track-search N).
//
// Net is any mien network with a square one-channel input and expression_count outputs
// (models::paper<> by default, models::fast). Not thread-safe: one recognizer per thread.
// Also spelled mien::vision::recognizer.
#pragma once

#include <algorithm>
#include <cmath>
#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "../core/error.hpp"
#include "../models/labels.hpp"
#include "../io/weights.hpp"
#include "../models/paper.hpp"
#include "face_crop.hpp"
#include "face_detector.hpp"
#include "gray.hpp"

namespace mien {

// One face of a frame.
struct recognized_face {
    cv::Rect box;   // the detected face, in frame coordinates
    cv::Rect crop;  // the square the network saw (box + margin, may reach outside the frame)
    std::array<float, expression_count> probabilities{};
    int label = -1;  // index of the largest probability (expression_names)
    int id = -1;     // identity across frames, set by mien::face_tracker; -1 when untracked

    std::string_view name() const { return label >= 0 ? expression_names[std::size_t(label)] : std::string_view("none"); }
    float confidence() const { return label >= 0 ? probabilities[std::size_t(label)] : 0.0f; }
};

// Area of the intersection over area of the union; 0 for disjoint or empty boxes.
inline double iou(cv::Rect const& a, cv::Rect const& b) {
    double const inter = double((a & b).area());
    double const uni = double(a.area()) + double(b.area()) - inter;
    return uni > 0 ? inter / uni : 0.0;
}

// The index of the largest probability (the first on ties).
inline int top_label(std::span<float const, expression_count> p) {
    return int(std::max_element(p.begin(), p.end()) - p.begin());
}

// Milliseconds per stage of the last recognize() call.
struct recognizer_timings {
    double gray_ms = 0;           // the frame to 8-bit gray (once per frame)
    double detection_ms = 0;      // face_detector on the downscaled gray frame
    double preprocessing_ms = 0;  // crops: square, resize, to floats (all faces)
    double recognition_ms = 0;    // the network (all faces)
    std::size_t faces = 0;
    double total_ms() const { return gray_ms + detection_ms + preprocessing_ms + recognition_ms; }
};

struct recognizer_options {
    face_detector_options detector;  // cascade, detection size, ...
    // Framing: the measured defaults of face_crop.hpp (docs/RECOGNIZER.md, "Framing"); side must
    // be the network's input side.
    face_crop_options crop;
    std::size_t max_faces = 8;  // the largest faces of a frame that are classified (0: all)
};

template <class Net = models::paper<>>
class recognizer {
public:
    using network_type = Net;
    using shape = typename Net::input_shape;
    static_assert(shape::channels == 1 && shape::height == shape::width,
                  "recognizer: the network must take a square gray image");
    static_assert(Net::outputs == expression_count, "recognizer: the network must have one output per expression");
    static constexpr int side = int(shape::height);

    // Loads `weights` (a .mien file for Net) and the face detector; fails naming what is wrong.
    explicit recognizer(std::filesystem::path const& weights, recognizer_options o = {})
        : recognizer(load(weights), std::move(o)) {}

    // A network the caller has set up (weights loaded, or fresh for tests).
    explicit recognizer(std::unique_ptr<Net> net, recognizer_options o = {})
        : options_(std::move(o)), detector_(options_.detector), net_(std::move(net)) {
        if (!net_) fail("recognizer: no network");
        set_crop(options_.crop);
    }

    // Every face of `frame` (8-bit gray, BGR or BGRA), largest first; empty when none.
    std::vector<recognized_face> const& recognize(cv::Mat const& frame) {
        return detect_and_classify(frame, [&](cv::Mat const& gray) { return detector_.detect(gray); });
    }

    // The faces near `hints` (boxes from the previous frame): each hint's square grown to twice
    // its side, scaled so the face is about 60 px, is searched for faces of 0.3 to 1 times the
    // region (so a face may move by half its size and grow or shrink by half between frames).
    // Boxes found twice (overlapping hints) are kept once. Same result and timings as recognize().
    std::vector<recognized_face> const& recognize_near(cv::Mat const& frame, std::span<cv::Rect const> hints) {
        return detect_and_classify(frame, [&](cv::Mat const& gray) { return boxes_near(gray, hints); });
    }

    // The face in `box` of `frame` (no detection): the same crop, network and result.
    recognized_face classify(cv::Mat const& frame, cv::Rect const& box) {
        cv::Mat const gray = start_frame(frame);
        classify_boxes(gray, {box});
        return faces_.back();
    }

    // The faces and timings of the last call.
    std::vector<recognized_face> const& faces() const { return faces_; }
    recognizer_timings const& timings() const { return timings_; }
    // What the network saw for face i of the last call (side*side floats in [0, 1]).
    std::span<float const, Net::inputs> input(std::size_t i) const {
        if (i >= faces_.size()) fail("recognizer::input: face %zu of %zu", i, faces_.size());
        return std::span<float const, Net::inputs>(inputs_[i].data(), Net::inputs);
    }

    // Changes the framing (margin, offset); side must stay the network's.
    void set_crop(face_crop_options const& crop) {
        if (crop.side != side) fail("recognizer: crop side %d != the network's input side %d", crop.side, side);
        square_box(cv::Rect(0, 0, 2, 2), crop.margin, crop.offset);  // validates margin and offset
        options_.crop = crop;
    }
    recognizer_options const& options() const { return options_; }
    face_detector& detector() { return detector_; }
    Net& network() { return *net_; }

private:
    using clock = std::chrono::steady_clock;
    static double ms_since(clock::time_point t0) {
        return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    }

    static std::unique_ptr<Net> load(std::filesystem::path const& weights) {
        auto net = std::make_unique<Net>();
        load_weights(*net, weights);
        return net;
    }

    // The frame preamble, detection (timed) and classification shared by recognize and
    // recognize_near; `detect` maps the gray frame to face boxes.
    template <class Detect>
    std::vector<recognized_face> const& detect_and_classify(cv::Mat const& frame, Detect&& detect) {
        if (frame.empty()) {
            start_frame();
            return faces_;
        }
        cv::Mat const gray = start_frame(frame);
        auto const t0 = clock::now();
        std::vector<cv::Rect> boxes = detect(gray);
        timings_.detection_ms = ms_since(t0);
        return classify_boxes(gray, std::move(boxes));
    }

    // recognize_near's search: faces in the grown square around each hint, duplicates dropped.
    std::vector<cv::Rect> boxes_near(cv::Mat const& gray, std::span<cv::Rect const> hints) {
        if (!near_detector_) {
            face_detector_options o = options_.detector;
            o.cascade = detector_.cascade_path().string();
            o.detect_side = 0;  // the region is scaled here
            o.min_face_fraction = 0.3;
            near_detector_.emplace(o);
        }
        std::vector<cv::Rect> boxes;
        cv::Rect const whole(0, 0, gray.cols, gray.rows);
        for (cv::Rect const& hint : hints) {
            int const side = std::max(hint.width, hint.height);
            if (side <= 0) continue;
            cv::Rect const region =
                cv::Rect(hint.x + hint.width / 2 - side, hint.y + hint.height / 2 - side, 2 * side, 2 * side) & whole;
            if (region.width < 24 || region.height < 24) continue;
            double const scale = std::min(1.0, 120.0 / double(2 * side));
            cv::Mat roi = gray(region);
            if (scale < 1.0) cv::resize(roi, roi, cv::Size(), scale, scale, cv::INTER_AREA);
            for (cv::Rect const& r : near_detector_->detect(roi)) {
                cv::Rect const box = cv::Rect(region.x + int(std::lround(r.x / scale)), region.y + int(std::lround(r.y / scale)),
                                              int(std::lround(r.width / scale)), int(std::lround(r.height / scale))) &
                                     whole;
                if (box.area() > 0) boxes.push_back(box);
            }
        }
        std::stable_sort(boxes.begin(), boxes.end(), [](cv::Rect const& a, cv::Rect const& b) { return a.area() > b.area(); });
        std::vector<cv::Rect> kept;
        for (cv::Rect const& b : boxes)
            if (std::none_of(kept.begin(), kept.end(), [&](cv::Rect const& k) { return iou(k, b) > 0.3; })) kept.push_back(b);
        return kept;
    }

    // Clears the last call's faces and timings; with a frame, returns it in gray (timed).
    void start_frame() {
        timings_ = {};
        faces_.clear();
    }
    cv::Mat start_frame(cv::Mat const& frame) {
        start_frame();
        auto const t0 = clock::now();
        cv::Mat gray = to_gray(frame);
        timings_.gray_ms = ms_since(t0);
        return gray;
    }

    // The largest max_faces of `boxes` (largest first), each cropped and classified.
    std::vector<recognized_face> const& classify_boxes(cv::Mat const& gray, std::vector<cv::Rect> boxes) {
        if (options_.max_faces > 0 && boxes.size() > options_.max_faces) boxes.resize(options_.max_faces);
        for (cv::Rect const& box : boxes) faces_.push_back(classify_gray(gray, box));
        timings_.faces = faces_.size();
        return faces_;
    }

    recognized_face classify_gray(cv::Mat const& gray, cv::Rect const& box) {
        std::size_t const i = faces_.size();
        if (inputs_.size() <= i) inputs_.resize(i + 1);
        recognized_face face;
        face.box = box;
        face.crop = square_box(box, options_.crop.margin, options_.crop.offset);
        auto t0 = clock::now();
        crop_face(gray, box, inputs_[i].data(), options_.crop);
        timings_.preprocessing_ms += ms_since(t0);
        t0 = clock::now();
        auto const& p = net_->predict(std::span<float const, Net::inputs>(inputs_[i].data(), Net::inputs));
        timings_.recognition_ms += ms_since(t0);
        std::copy(p.begin(), p.end(), face.probabilities.begin());
        face.label = top_label(face.probabilities);
        return face;
    }

    recognizer_options options_;
    face_detector detector_;
    std::optional<face_detector> near_detector_;  // for recognize_near, made on first use
    std::unique_ptr<Net> net_;
    std::vector<recognized_face> faces_;
    std::vector<std::array<float, Net::inputs>> inputs_;
    recognizer_timings timings_;
};

namespace vision {
using ::mien::recognized_face;
using ::mien::recognizer;
using ::mien::recognizer_options;
using ::mien::recognizer_timings;
}  // namespace vision

}  // namespace mien
