// mien/vision/face_detector.hpp -- frontal faces in a photo or a video frame (needs OpenCV).
//
//   mien::face_detector detector;                      // finds the Debian cascade by itself
//   for (cv::Rect box : detector.detect(frame)) ...   // largest face first
//
// One detection path for everything that turns a photo into a network input: the JAFFE loader
// (mien/vision/jaffe_faces.hpp), mien-eval and the webcam demo all call this, then face_crop.hpp.
//
// OpenCV's Haar cascade haarcascade_frontalface_default.xml. Where it is: options.cascade if
// set, else the environment variable MIEN_HAAR_CASCADE if set, else the first of the usual
// install paths that exists (Debian/Ubuntu opencv-data: /usr/share/opencv4/haarcascades/).
// Detection runs on a grayscale copy scaled down so that its longer side is at most
// options.detect_side pixels for a whole-image search (a photo: a 1280x720 frame is searched at
// 320x180) and options.part_detect_side for a search spread over video frames (detect_part with
// parts > 1: 280 px), with histogram equalisation; boxes are returned in the coordinates of the
// original image, largest first.
//
// The defaults (320 px, pyramid step 1.05, 6 neighbours) were measured: they find exactly one
// face in each of the 15 one-face photos of ../shared/data/faces and a face in all 213 JAFFE
// photos (256x256: searched at full size; step 1.1 misses a large close face at 320 px; 5
// neighbours or fewer add a false face in foliage; docs/DATASETS.md). The copy's size is a
// trade of speed for the smallest face found (smallest_face()). A photo is searched once, so
// recall comes first: 320 px (48 px faces in 640x480). A video has a frame budget: 280 px keeps
// it on one core at 640x480 and finds faces of 55 px and up there (320 px: 30 % more work;
// docs/RECOGNIZER.md, "Real time"). 280 px loses small faces in photos (the 104 px second
// person of a 1280x720 photo, OpenCV's messi5.jpg), hence the two sizes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "../core/error.hpp"
#include "gray.hpp"

namespace mien {

struct face_detector_options {
    std::string cascade;            // cascade XML file; empty: MIEN_HAAR_CASCADE, then the usual paths
    int detect_side = 320;          // longer side of the copy a whole-image search uses (0: full size)
    int part_detect_side = 280;     // the same for a search spread over frames (detect_part, parts > 1)
    double scale_factor = 1.05;     // pyramid step of detectMultiScale
    int min_neighbors = 6;          // detections needed to keep a box (higher: fewer false faces)
    double min_face_fraction = 0.1; // smallest face, as a fraction of the image's shorter side
    double max_face_fraction = 1.0; // largest face, as a fraction of the image's shorter side
    bool equalize = true;           // histogram equalisation before the search
};

// The usual places of haarcascade_frontalface_default.xml, Debian's first.
inline std::vector<std::filesystem::path> default_cascade_paths() {
    std::string const name = "haarcascade_frontalface_default.xml";
    return {std::filesystem::path("/usr/share/opencv4/haarcascades") / name,
            std::filesystem::path("/usr/share/opencv/haarcascades") / name,
            std::filesystem::path("/usr/local/share/opencv4/haarcascades") / name,
            std::filesystem::path("/usr/local/share/opencv/haarcascades") / name,
            std::filesystem::path("/opt/homebrew/share/opencv4/haarcascades") / name};
}

// The cascade file options select (see the header comment); fails listing what was tried.
inline std::filesystem::path find_face_cascade(face_detector_options const& o = {}) {
    if (!o.cascade.empty()) return o.cascade;
    if (char const* env = std::getenv("MIEN_HAAR_CASCADE"); env != nullptr && *env != '\0') return env;
    std::string tried;
    for (auto const& p : default_cascade_paths()) {
        if (std::filesystem::is_regular_file(p)) return p;
        tried += "\n  " + p.string();
    }
    fail("face_detector: haarcascade_frontalface_default.xml not found (install opencv-data, or set "
         "MIEN_HAAR_CASCADE or the cascade option); tried:%s", tried.c_str());
}

class face_detector {
public:
    explicit face_detector(face_detector_options o = {}) : options_(std::move(o)) {
        std::filesystem::path const path = find_face_cascade(options_);
        if (!std::filesystem::is_regular_file(path))
            fail("face_detector: cascade file %s does not exist", path.string().c_str());
        bool loaded = false;
        try {
            loaded = cascade_.load(path.string()) && !cascade_.empty();
        } catch (cv::Exception const&) {  // not XML / YAML at all
        }
        if (!loaded) fail("face_detector: %s is not a readable OpenCV cascade", path.string().c_str());
        path_ = path;
    }

    face_detector_options const& options() const { return options_; }
    std::filesystem::path const& cascade_path() const { return path_; }

    // Face boxes in `image` (gray, BGR or BGRA, 8-bit), largest first; empty when none.
    std::vector<cv::Rect> detect(cv::Mat const& image) {
        std::vector<cv::Rect> boxes;
        detect(image, boxes);
        return boxes;
    }
    // The same into `boxes` (cleared first; its capacity is reused).
    void detect(cv::Mat const& image, std::vector<cv::Rect>& boxes) { detect_part(image, 0, 1, boxes); }
    // The same with another min_neighbors than the options' (stricter or looser for one call).
    void detect(cv::Mat const& image, std::vector<cv::Rect>& boxes, int min_neighbors) {
        search(image, 0, 1, std::max(1, min_neighbors), boxes);
        sort_largest_first(boxes);
    }

    // Part `part` (0 .. parts-1) of the whole-image search: the same search as detect(), but only
    // over a band of face sizes, so that `parts` calls, one per video frame, cover every size
    // once. The bands are cut so that each costs about the same (the cascade's work at a face
    // size grows with the number of windows, so the smallest sizes fill the first bands). A
    // face is found when the call for its size band comes; in between, a tracker follows the
    // faces already found (mien::video_recognizer). parts = 1 is detect().
    void detect_part(cv::Mat const& image, std::size_t part, std::size_t parts, std::vector<cv::Rect>& boxes) {
        search(image, part, parts, options_.min_neighbors, boxes);
        sort_largest_first(boxes);
    }

    // The cascade's raw hits of part `part` of `parts` (every window that passed, before
    // cv::groupRectangles merges neighbours), in image coordinates, appended to `hits`. A face
    // at the edge of a band of sizes has fewer hits inside the band than min_neighbors asks;
    // grouping the hits of all the parts together (cv::groupRectangles(hits, min_neighbors, 0.2),
    // as detectMultiScale does) gives back the whole-image search's faces.
    void detect_part_hits(cv::Mat const& image, std::size_t part, std::size_t parts, std::vector<cv::Rect>& hits) {
        search(image, part, parts, 0, hits);
    }

private:
    // detectMultiScale over band `part` of `parts` with min_neighbors (0: the raw hits),
    // appending the boxes, in image coordinates, to `boxes`.
    void search(cv::Mat const& image, std::size_t part, std::size_t parts, int min_neighbors, std::vector<cv::Rect>& boxes) {
        if (min_neighbors > 0) boxes.clear();
        if (image.empty()) return;
        if (parts == 0 || part >= parts) fail("face_detector: part %zu of %zu does not exist", part, parts);
        cv::Mat const gray = to_gray(image);
        double const scale = copy_scale(gray.size(), parts);
        cv::Mat small = gray;
        if (scale < 1.0) {
            cv::resize(gray, small_, cv::Size(), scale, scale, cv::INTER_AREA);
            small = small_;
        }
        if (options_.equalize) {
            cv::equalizeHist(small, equalized_);  // never in place: `small` may share the caller's pixels
            small = equalized_;
        }
        int const min_side = min_face_side(small.size());
        cv::Size lo(min_side, min_side), hi;  // hi empty: no upper bound
        if (options_.max_face_fraction < 1.0) {
            int const max_side = std::max(min_side, int(options_.max_face_fraction * std::min(small.cols, small.rows)));
            hi = cv::Size(max_side, max_side);
        }
        if (parts > 1) {
            auto const band = size_band(small.size(), min_side, part, parts);
            if (!band) return;  // fewer face sizes than parts: this part has none
            lo = band->first;
            hi = band->second;
        }
        found_.clear();
        cascade_.detectMultiScale(small, found_, options_.scale_factor, min_neighbors, 0, lo, hi);
        cv::Rect const whole(0, 0, gray.cols, gray.rows);
        for (cv::Rect const& r : found_) {
            int const x = int(std::lround(r.x / scale)), y = int(std::lround(r.y / scale));
            int const w = int(std::lround(r.width / scale)), h = int(std::lround(r.height / scale));
            cv::Rect const box = cv::Rect(x, y, w, h) & whole;
            if (box.area() > 0) boxes.push_back(box);
        }
    }

public:
    // The scale of the copy searched in an image of `size` (1: the image itself) by a search in
    // `parts` parts (1: a whole-image search, detect_side; more: part_detect_side).
    double copy_scale(cv::Size size, std::size_t parts = 1) const {
        int const side = parts > 1 ? options_.part_detect_side : options_.detect_side;
        int const longer = std::max(size.width, size.height);
        return side > 0 && longer > side ? double(side) / double(longer) : 1.0;
    }
    // The smallest face a search in `parts` parts finds in an image of `size`, in the image's
    // pixels: the first window of the search (the cascade's, 24 px for the Haar cascade, or
    // min_face_fraction of the copy if larger) scaled back from the copy. This is what the copy's
    // size trades for speed: 48 px in a 640x480 photo at the default 320 px, 55 px in a 640x480
    // video frame at 280 (docs/RECOGNIZER.md, "Real time"). 0 for an image too small to search.
    int smallest_face(cv::Size size, std::size_t parts = 1) const {
        double const scale = copy_scale(size, parts);
        cv::Size const copy(cvRound(size.width * scale), cvRound(size.height * scale));
        int first = 0;
        for_each_scale(copy, min_face_side(copy), [&](cv::Size window, double) {
            if (first == 0) first = window.width;
        });
        return int(std::ceil(first / scale - 1e-9));
    }

    // The smallest and largest window of band `part` of `parts` for an image of `size` searched
    // from `min_side` up; nothing when the band holds no scale. The scales are those of
    // cv::CascadeClassifier::detectMultiScale (window = the cascade's size times step^k, up to the
    // image); each scale costs about its number of window positions (the cascade steps 2 pixels
    // below a scale of 2 and 1 above it) times a factor measured (for_each_scale), and the bands
    // are cut where the running cost passes part / parts of the total, only between scales of
    // different window sizes.
    std::optional<std::pair<cv::Size, cv::Size>> size_band(cv::Size size, int min_side, std::size_t part, std::size_t parts) const {
        double total = 0;
        std::size_t levels = 0;
        for_each_scale(size, min_side, [&](cv::Size, double cost) {
            total += cost;
            ++levels;
        });
        if (levels == 0) return std::nullopt;
        // Band b holds the scales whose cost midpoint falls in [b, b + 1) * total / parts.
        double running = 0;
        std::optional<std::pair<cv::Size, cv::Size>> band;
        cv::Size previous;
        std::size_t previous_band = parts;
        for_each_scale(size, min_side, [&](cv::Size window, double cost) {
            std::size_t b = std::min(parts - 1, std::size_t((running + cost / 2) / total * double(parts)));
            if (window == previous) b = previous_band;  // equal windows cannot be split
            running += cost;
            previous = window;
            previous_band = b;
            if (b != part) return;
            if (!band) band.emplace(window, window);
            else band->second = window;
        });
        return band;
    }
    // The largest face, if any.
    std::optional<cv::Rect> detect_largest(cv::Mat const& image) {
        auto boxes = detect(image);
        if (boxes.empty()) return std::nullopt;
        return boxes.front();
    }

    // Largest first; equal areas by position, so the order is the same on every run (and
    // std::sort needs no temporary buffer, unlike std::stable_sort).
    static void sort_largest_first(std::vector<cv::Rect>& boxes) {
        std::sort(boxes.begin(), boxes.end(), [](cv::Rect const& a, cv::Rect const& b) {
            if (a.area() != b.area()) return a.area() > b.area();
            return a.y != b.y ? a.y < b.y : a.x < b.x;
        });
    }

private:
    int min_face_side(cv::Size copy) const {
        return std::max(1, int(options_.min_face_fraction * std::min(copy.width, copy.height)));
    }

    // Calls f(window, cost) for every scale detectMultiScale searches in an image of `size` for
    // faces of at least min_side pixels, with the same arithmetic (factor *= step, rounding).
    template <class F>
    void for_each_scale(cv::Size size, int min_side, F&& f) const {
        cv::Size const win = cascade_.getOriginalWindowSize();
        for (double factor = 1;; factor *= options_.scale_factor) {
            cv::Size const window(cvRound(win.width * factor), cvRound(win.height * factor));
            if (window.width > size.width || window.height > size.height) break;
            if (window.width < min_side || window.height < min_side) continue;
            double const w = std::max(0, cvRound(size.width / factor) - win.width + 1);
            double const h = std::max(0, cvRound(size.height / factor) - win.height + 1);
            double const step = factor > 2 ? 1.0 : 2.0;
            // Window positions, times (1 + factor) / 2: the CPU time per position grows with the
            // scale (fitted to the per-scale times of the Haar cascade on Megamind.avi at 320x240,
            // docs/RECOGNIZER.md); without it the bands of large faces cost twice the others.
            f(window, w * h / (step * step) * (1 + factor) / 2);
        }
    }

    face_detector_options options_;
    std::filesystem::path path_;
    cv::CascadeClassifier cascade_;
    cv::Mat small_, equalized_;     // kept between calls: same-size frames reuse the pixels
    std::vector<cv::Rect> found_;   // detectMultiScale's output, capacity reused
};

}  // namespace mien
