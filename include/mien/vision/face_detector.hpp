// mien/vision/face_detector.hpp -- frontal faces in a photo or a video frame (needs OpenCV).
//
//   mien::face_detector detector;                      // finds the Debian cascade by itself
//   for (cv::Rect box : detector.detect(frame)) ...   // largest face first
//
// One detection path for everything that turns a photo into a network input: the JAFFE loader
// (mien/data/jaffe.hpp), mien-eval and the webcam demo all call this, then face_crop.hpp.
//
// OpenCV's Haar cascade haarcascade_frontalface_default.xml. Where it is: options.cascade if
// set, else the environment variable MIEN_HAAR_CASCADE if set, else the first of the usual
// install paths that exists (Debian/Ubuntu opencv-data: /usr/share/opencv4/haarcascades/).
// Detection runs on a grayscale copy scaled down so that its longer side is at most
// options.detect_side pixels (speed: a 1280x720 frame is searched at 320x180), with histogram
// equalisation; boxes are returned in the coordinates of the original image, largest first.
//
// The defaults (320 px, pyramid step 1.05, 6 neighbours) were measured: they find exactly one
// face in each of the 15 one-face photos of ../shared/data/faces and a face in all 213 JAFFE
// photos (step 1.1 misses a large close face at 320 px; 5 neighbours or fewer add a false
// face in foliage). See docs/DATASETS.md.
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
    int detect_side = 320;          // longer side of the copy searched (0: full size)
    double scale_factor = 1.05;     // pyramid step of detectMultiScale
    int min_neighbors = 6;          // detections needed to keep a box (higher: fewer false faces)
    double min_face_fraction = 0.1; // smallest face, as a fraction of the image's shorter side
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
        if (image.empty()) return {};
        cv::Mat const gray = to_gray(image);
        int const longer = std::max(gray.cols, gray.rows);
        double const scale = options_.detect_side > 0 && longer > options_.detect_side
                                 ? double(options_.detect_side) / double(longer)
                                 : 1.0;
        cv::Mat small;
        if (scale < 1.0) cv::resize(gray, small, cv::Size(), scale, scale, cv::INTER_AREA);
        else small = gray;
        if (options_.equalize) {
            cv::Mat equalized;  // never in place: `small` may share the caller's pixels
            cv::equalizeHist(small, equalized);
            small = equalized;
        }
        int const min_side = std::max(1, int(options_.min_face_fraction * std::min(small.cols, small.rows)));
        std::vector<cv::Rect> found;
        cascade_.detectMultiScale(small, found, options_.scale_factor, options_.min_neighbors, 0,
                                  cv::Size(min_side, min_side));
        std::vector<cv::Rect> boxes;
        boxes.reserve(found.size());
        cv::Rect const whole(0, 0, gray.cols, gray.rows);
        for (cv::Rect const& r : found) {
            int const x = int(std::lround(r.x / scale)), y = int(std::lround(r.y / scale));
            int const w = int(std::lround(r.width / scale)), h = int(std::lround(r.height / scale));
            cv::Rect const box = cv::Rect(x, y, w, h) & whole;
            if (box.area() > 0) boxes.push_back(box);
        }
        std::stable_sort(boxes.begin(), boxes.end(), [](cv::Rect const& a, cv::Rect const& b) { return a.area() > b.area(); });
        return boxes;
    }

    // The largest face, if any.
    std::optional<cv::Rect> detect_largest(cv::Mat const& image) {
        auto boxes = detect(image);
        if (boxes.empty()) return std::nullopt;
        return boxes.front();
    }

private:
    face_detector_options options_;
    std::filesystem::path path_;
    cv::CascadeClassifier cascade_;
};

}  // namespace mien
