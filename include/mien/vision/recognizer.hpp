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
// faces); the network gives one probability per class (7 for FER2013's classes, 8 for FER+'s;
// the names are the model's, stored in its .mien file). A frame without a face gives an empty list.
// timings() says how long each stage of the last call took; input(i) is what the network saw
// for face i (for saliency maps, mien/core/saliency.hpp).
//
// In a video, recognize_near(frame, last_boxes) searches only around the faces of the previous
// frame, at the scale they had: far cheaper than a whole-frame search, but blind to faces that
// appear elsewhere; recognize_part(frame, last_boxes, k, n) adds part k of n of the whole-frame
// search (face_detector::detect_part), so that n frames cover it and no frame pays for all of it
// (mien::video_recognizer, video_recognizer.hpp, does the bookkeeping).
//
// After the first frames (buffers sized by the largest frame and face seen) the work outside
// OpenCV's cascade allocates nothing: gray conversion into a kept image, boxes into kept lists,
// crops by mien::face_cropper, the network (tests/vision/test_no_allocation_vision.cpp).
//
// Net is any mien network with a square one-channel input and 2 to max_classes outputs
// (models::paper<> by default, models::fast, their 8-output FER+ variants). Not thread-safe: one recognizer per thread.
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
#include <opencv2/objdetect.hpp>  // cv::groupRectangles

#include "../core/error.hpp"
#include "../models/labels.hpp"
#include "../io/weights.hpp"
#include "../models/paper.hpp"
#include "face_crop.hpp"
#include "face_detector.hpp"
#include "gray.hpp"

namespace mien {

// The most classes a recognizer's network may have (FER+'s 8); fixed so that a face needs no heap.
inline constexpr std::size_t max_classes = 8;

// One face of a frame.
struct recognized_face {
    cv::Rect box;   // the detected face, in frame coordinates
    cv::Rect crop;  // the square the network saw (box + margin, may reach outside the frame)
    std::array<float, max_classes> probabilities{};  // the first `classes` are the model's; the rest 0
    std::size_t classes = expression_count;
    // The model's class names (the recognizer's labels(), which must outlive the face); empty:
    // FER2013's expression_names.
    std::span<std::string const> names;
    int label = -1;  // index of the largest probability (class_name(label))
    int id = -1;     // identity across frames, set by mien::face_tracker; -1 when untracked

    std::string_view class_name(std::size_t k) const {
        if (k < names.size()) return names[k];
        return k < expression_names.size() ? expression_names[k] : std::string_view("?");
    }
    std::string_view name() const { return label >= 0 ? class_name(std::size_t(label)) : std::string_view("none"); }
    float confidence() const { return label >= 0 ? probabilities[std::size_t(label)] : 0.0f; }
};

// Area of the intersection over area of the union; 0 for disjoint or empty boxes.
inline double iou(cv::Rect const& a, cv::Rect const& b) {
    double const inter = double((a & b).area());
    double const uni = double(a.area()) + double(b.area()) - inter;
    return uni > 0 ? inter / uni : 0.0;
}

// The index of the largest probability (the first on ties).
inline int top_label(std::span<float const> p) {
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
    // Detections needed to keep a box in recognize_near's search around a known face (the
    // whole-frame search uses detector.min_neighbors).
    int near_min_neighbors = 4;
    // recognize_near's region (the face's square grown to twice its side) is scaled to this
    // side in pixels when larger: the face is then about half of it. The search's cost grows
    // with its square.
    int near_side = 120;
    // The sizes of face recognize_near looks for, as fractions of that region (the face was
    // about 0.5 of it in the last frame: 0.4 to 1 lets it shrink to 0.8 or grow to twice its
    // side). The smallest sizes cost the most (the most window positions), so the lower bound
    // sets the cost: 0.4 instead of 0.3 saves 13-15 % of a video frame's time with the recall of
    // Megamind.avi held (docs/RECOGNIZER.md, "Real time").
    std::array<double, 2> near_face_fractions{0.4, 1.0};
    // The pyramid step of that search (the whole-frame search's is detector.scale_factor). A
    // coarser step is cheaper but gives a face fewer neighbouring hits: 1.07 or 1.1 lost 5-14 %
    // of Megamind's frames with a face.
    double near_scale_factor = 1.05;
};

template <class Net = models::paper<>>
class recognizer {
    struct loaded_network {
        std::unique_ptr<Net> net;
        std::vector<std::string> labels;  // empty: the defaults of Net::outputs
    };

public:
    using network_type = Net;
    using shape = typename Net::input_shape;
    static_assert(shape::channels == 1 && shape::height == shape::width,
                  "recognizer: the network must take a square gray image");
    static_assert(Net::outputs >= 2 && Net::outputs <= max_classes, "recognizer: the network must have 2 to 8 outputs");
    static constexpr int side = int(shape::height);

    // Loads `weights` (a .mien file for Net) and the face detector; fails naming what is wrong.
    // The class names are the file's (load_result::labels).
    explicit recognizer(std::filesystem::path const& weights, recognizer_options o = {})
        : recognizer(load(weights), std::move(o)) {}

    // A network the caller has set up (weights loaded, or fresh for tests); the default names.
    explicit recognizer(std::unique_ptr<Net> net, recognizer_options o = {})
        : recognizer(loaded_network{std::move(net), {}}, std::move(o)) {}

private:
    recognizer(loaded_network l, recognizer_options o)
        : options_(std::move(o)), detector_(options_.detector), net_(std::move(l.net)), labels_(std::move(l.labels)) {
        if (!net_) fail("recognizer: no network");
        auto const [near_min, near_max] = options_.near_face_fractions;
        if (!(near_min > 0 && near_min <= near_max && near_max <= 1))
            fail("recognizer: near_face_fractions must satisfy 0 < min <= max <= 1, found %g, %g", near_min, near_max);
        if (!(options_.near_scale_factor > 1))
            fail("recognizer: near_scale_factor must be above 1, found %g", options_.near_scale_factor);
        if (labels_.size() != Net::outputs) {  // a network set up by the caller: the default names
            labels_.clear();
            for (auto name : default_class_names(Net::outputs)) labels_.emplace_back(name);
            for (std::size_t k = labels_.size(); k < Net::outputs; ++k) labels_.push_back("class" + std::to_string(k));
        }
        set_crop(options_.crop);
        std::size_t const faces = options_.max_faces > 0 ? options_.max_faces : 16;
        faces_.reserve(faces);
        inputs_.reserve(faces);
        boxes_.reserve(64);
        near_boxes_.reserve(64);
        grouped_.reserve(1024);
        candidates_.reserve(64);
    }

public:
    // Every face of `frame` (8-bit gray, BGR or BGRA), largest first; empty when none.
    std::vector<recognized_face> const& recognize(cv::Mat const& frame) {
        return detect_and_classify(frame, [&](cv::Mat const& gray) { detector_.detect(gray, boxes_); });
    }

    // The faces near `hints` (boxes from the previous frame): each hint's square grown to twice
    // its side, scaled so the face is about near_side / 2 px, is searched for faces of 0.4 to 1 times the
    // region (so a face may move by half its size, shrink to 0.8 or double between frames).
    // Boxes found twice (overlapping hints) are kept once. Same result and timings as recognize().
    std::vector<recognized_face> const& recognize_near(cv::Mat const& frame, std::span<cv::Rect const> hints) {
        return detect_and_classify(frame, [&](cv::Mat const& gray) {
            boxes_.clear();
            add_boxes_near(gray, hints);
            keep_distinct(boxes_);
        });
    }

    // For a video frame: the faces near `hints` (the tracked faces), and the new faces of the
    // whole-frame search spread over `parts` frames. This frame runs part `part` of it
    // (face_detector::detect_part_hits); the raw hits of the last `parts` frames are grouped as
    // one whole-frame search groups them, and each group that is not a face already found is
    // confirmed by a search near it in this frame (the hits may be up to parts - 1 frames old).
    // Call it with part = 0, 1, ..., parts - 1, 0, ... on consecutive frames.
    std::vector<recognized_face> const& recognize_part(cv::Mat const& frame, std::span<cv::Rect const> hints,
                                                        std::size_t part, std::size_t parts) {
        return detect_and_classify(frame, [&](cv::Mat const& gray) {
            boxes_.clear();
            add_boxes_near(gray, hints);
            if (hits_.size() != parts || gray.size() != hits_size_) forget_hits(parts, gray.size());
            hits_[part].clear();
            detector_.detect_part_hits(gray, part, parts, hits_[part]);
            grouped_.clear();
            for (auto const& h : hits_) grouped_.insert(grouped_.end(), h.begin(), h.end());
            cv::groupRectangles(grouped_, options_.detector.min_neighbors, 0.2);
            candidates_.clear();
            for (cv::Rect const& g : grouped_)
                if (std::none_of(boxes_.begin(), boxes_.end(), [&](cv::Rect const& b) { return iou(b, g) > 0.3; }))
                    candidates_.push_back(g);
            // A new face must pass the whole-frame search's own bar (detector.min_neighbors), not
            // the looser one that keeps a face already followed: else false faces accumulate.
            add_boxes_near(gray, candidates_, options_.detector.min_neighbors);
            keep_distinct(boxes_);
        });
    }

    // Drops the whole-frame hits kept by recognize_part (a new video).
    void forget_hits(std::size_t parts = 0, cv::Size size = {}) {
        for (auto& h : hits_) h.clear();
        hits_.resize(parts);  // grows only when parts grows
        hits_size_ = size;
    }

    // The face in `box` of `frame` (no detection): the same crop, network and result.
    recognized_face classify(cv::Mat const& frame, cv::Rect const& box) {
        classify(frame, std::span<cv::Rect const>(&box, 1));
        return faces_.back();
    }
    // The faces in `boxes` of `frame` (a detector of your own): crop and network only. The
    // boxes are taken in the order given (at most max_faces of them).
    std::vector<recognized_face> const& classify(cv::Mat const& frame, std::span<cv::Rect const> boxes) {
        cv::Mat const& gray = start_frame(frame);
        boxes_.assign(boxes.begin(), boxes.end());
        return classify_boxes(gray);
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
        cropper_ = face_cropper(crop);  // validates margin and offset
        options_.crop = crop;
    }
    recognizer_options const& options() const { return options_; }
    face_detector& detector() { return detector_; }
    Net& network() { return *net_; }
    // The names of the network's outputs (faces' class_name(k)).
    std::vector<std::string> const& labels() const { return labels_; }

private:
    using clock = std::chrono::steady_clock;
    static double ms_since(clock::time_point t0) {
        return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    }

    static loaded_network load(std::filesystem::path const& weights) {
        loaded_network l{std::make_unique<Net>(), {}};
        l.labels = load_weights(*l.net, weights).labels;
        return l;
    }

    // The frame preamble, detection (timed) and classification shared by recognize,
    // recognize_near and recognize_part; `detect` fills boxes_ from the gray frame.
    template <class Detect>
    std::vector<recognized_face> const& detect_and_classify(cv::Mat const& frame, Detect&& detect) {
        if (frame.empty()) {
            start_frame();
            return faces_;
        }
        cv::Mat const& gray = start_frame(frame);
        auto const t0 = clock::now();
        detect(gray);
        timings_.detection_ms = ms_since(t0);
        return classify_boxes(gray);
    }

    // recognize_near's search: appends the faces in the grown square around each hint.
    void add_boxes_near(cv::Mat const& gray, std::span<cv::Rect const> hints, int min_neighbors = 0) {
        if (hints.empty()) return;
        if (!near_detector_) {
            face_detector_options o = options_.detector;
            o.cascade = detector_.cascade_path().string();
            o.detect_side = 0;  // the region is scaled here
            o.min_face_fraction = options_.near_face_fractions[0];
            o.max_face_fraction = options_.near_face_fractions[1];
            o.min_neighbors = options_.near_min_neighbors;
            o.scale_factor = options_.near_scale_factor;
            near_detector_.emplace(o);
        }
        cv::Rect const whole(0, 0, gray.cols, gray.rows);
        for (cv::Rect const& hint : hints) {
            int const side = std::max(hint.width, hint.height);
            if (side <= 0) continue;
            cv::Rect const region =
                cv::Rect(hint.x + hint.width / 2 - side, hint.y + hint.height / 2 - side, 2 * side, 2 * side) & whole;
            if (region.width < 24 || region.height < 24) continue;
            double const scale = std::min(1.0, double(options_.near_side) / double(2 * side));
            cv::Mat roi = gray(region);
            if (scale < 1.0) {
                cv::resize(roi, region_, cv::Size(), scale, scale, cv::INTER_AREA);
                roi = region_;
            }
            if (min_neighbors > 0) near_detector_->detect(roi, near_boxes_, min_neighbors);
            else near_detector_->detect(roi, near_boxes_);
            for (cv::Rect const& r : near_boxes_) {
                cv::Rect const box = cv::Rect(region.x + int(std::lround(r.x / scale)), region.y + int(std::lround(r.y / scale)),
                                              int(std::lround(r.width / scale)), int(std::lround(r.height / scale))) &
                                     whole;
                if (box.area() > 0) boxes_.push_back(box);
            }
        }
    }

    // Largest first, and a box overlapping a larger one (IoU above 0.3: the same face found
    // twice, by two hints or by a hint and the whole-frame part) dropped. In place.
    static void keep_distinct(std::vector<cv::Rect>& boxes) {
        face_detector::sort_largest_first(boxes);
        std::size_t kept = 0;
        for (std::size_t i = 0; i < boxes.size(); ++i) {
            cv::Rect const b = boxes[i];
            if (std::none_of(boxes.begin(), boxes.begin() + std::ptrdiff_t(kept), [&](cv::Rect const& k) { return iou(k, b) > 0.3; }))
                boxes[kept++] = b;
        }
        boxes.resize(kept);
    }

    // Clears the last call's faces and timings; with a frame, returns it in gray (timed), in a
    // kept image (the frame itself when it is gray already).
    void start_frame() {
        timings_ = {};
        faces_.clear();
    }
    cv::Mat const& start_frame(cv::Mat const& frame) {
        start_frame();
        auto const t0 = clock::now();
        if (frame.depth() != CV_8U) fail("recognizer: expected an 8-bit frame, found OpenCV depth %d", frame.depth());
        switch (frame.channels()) {  // never convert into gray_: it may be the caller's last gray frame
            case 1: gray_ = frame; break;
            case 3: cv::cvtColor(frame, converted_, cv::COLOR_BGR2GRAY), gray_ = converted_; break;
            case 4: cv::cvtColor(frame, converted_, cv::COLOR_BGRA2GRAY), gray_ = converted_; break;
            default: fail("recognizer: expected 1, 3 or 4 channels, found %d", frame.channels());
        }
        timings_.gray_ms = ms_since(t0);
        if (std::max(gray_.cols, gray_.rows) > reserved_side_) {  // crops up to the frame's size: no growth later
            reserved_side_ = std::max(gray_.cols, gray_.rows);
            cropper_.reserve(reserved_side_ + reserved_side_ / 2);
        }
        return gray_;
    }

    // The largest max_faces of boxes_ (largest first), each cropped and classified.
    std::vector<recognized_face> const& classify_boxes(cv::Mat const& gray) {
        if (options_.max_faces > 0 && boxes_.size() > options_.max_faces) boxes_.resize(options_.max_faces);
        for (cv::Rect const& box : boxes_) faces_.push_back(classify_gray(gray, box));
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
        cropper_.crop(gray, box, inputs_[i].data());
        timings_.preprocessing_ms += ms_since(t0);
        t0 = clock::now();
        auto const& p = net_->predict(std::span<float const, Net::inputs>(inputs_[i].data(), Net::inputs));
        timings_.recognition_ms += ms_since(t0);
        std::copy(p.begin(), p.end(), face.probabilities.begin());
        face.classes = Net::outputs;
        face.names = labels_;
        face.label = top_label(std::span<float const>(face.probabilities.data(), Net::outputs));
        return face;
    }

    recognizer_options options_;
    face_detector detector_;
    std::optional<face_detector> near_detector_;  // for recognize_near, made on first use
    std::unique_ptr<Net> net_;
    std::vector<std::string> labels_;  // the network's class names
    std::vector<recognized_face> faces_;
    std::vector<std::array<float, Net::inputs>> inputs_;
    recognizer_timings timings_;
    // Kept between frames so that a video loop reuses them: the gray frame, the boxes of the
    // frame and of one near search, a scaled search region, the crop's buffers.
    cv::Mat gray_, converted_, region_;
    std::vector<cv::Rect> boxes_, near_boxes_, grouped_, candidates_;
    std::vector<std::vector<cv::Rect>> hits_;  // recognize_part: the raw hits of each part
    cv::Size hits_size_;
    face_cropper cropper_;
    int reserved_side_ = 0;
};

namespace vision {
using ::mien::recognized_face;
using ::mien::recognizer;
using ::mien::recognizer_options;
using ::mien::recognizer_timings;
}  // namespace vision

}  // namespace mien
