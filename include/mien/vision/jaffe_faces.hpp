// mien/vision/jaffe_faces.hpp -- the JAFFE data set: 213 full-size photos, faces found and cropped (OpenCV).
//
//   mien::face_load_report report;
//   mien::dataset jaffe = mien::load_jaffe("../shared/data/jaffe", {}, &report);
//   // jaffe.subjects[i] is "KA", "KL", ...: use subject_k_fold (folds.hpp) for fair splits
//
// File names as mien/data/jaffe.hpp parses them (KA.AN1.39.tiff: subject KA, angry). The photos are
// 256x256 with the face in the middle, much as a webcam frame: each goes through the webcam
// demo's path, mien::face_detector then mien::crop_face, so that a network fine-tuned on JAFFE
// sees faces cropped the way the demo will crop them. When the detector finds no face the
// image is centre-cropped instead (a centred box of options.fallback_fraction of the shorter
// side, plus the margin) and its file is listed in the report. Faces come in sorted file order.
//
// Files whose extension is not an image's (README.md, .DS_Store) are ignored. An image whose
// name does not follow the pattern, or that cannot be decoded, raises mien::error naming it,
// or is skipped and counted in dataset::skipped with `skip_bad`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../core/error.hpp"
#include "../data/dataset.hpp"
#include "../data/image_folder.hpp"
#include "../data/jaffe.hpp"
#include "face_crop.hpp"
#include "face_detector.hpp"

namespace mien {

struct jaffe_options {
    face_crop_options crop;          // margin around the detected box, output side
    face_detector_options detector;  // cascade file, detection size, ...
    bool detect = true;              // false: centre-crop every image (no detector needed)
    // When no face is found: a centred box of this fraction of the shorter side stands in for
    // the face box (the margin is added to it as to a detected box). 0.625: the mean detected
    // JAFFE face box is 161 of 256 pixels.
    double fallback_fraction = 0.625;
    bool skip_bad = false;           // skip (and count) bad files instead of failing
};

// What happened to each photo on the way to a face.
struct face_load_report {
    std::size_t images = 0;                  // faces loaded
    std::size_t detected = 0;                // of which the detector found
    std::vector<std::string> centre_cropped; // files where it found none (centre crop used)
};

inline dataset load_jaffe(std::filesystem::path const& root, jaffe_options const& o = {},
                          face_load_report* report = nullptr) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(root)) fail("load_jaffe: %s is not a directory", root.string().c_str());
    std::vector<fs::path> files;
    for (auto const& e : fs::directory_iterator(root))
        if (e.is_regular_file() && e.path().filename().string().front() != '.' && detail::is_image_name(e.path()))
            files.push_back(e.path());
    std::sort(files.begin(), files.end());

    std::optional<face_detector> detector;
    if (o.detect) detector.emplace(o.detector);
    face_load_report r;
    dataset d;
    d.side = o.crop.side;
    for (auto const& file : files) {
        auto bad = [&](std::string const& what) {
            if (!o.skip_bad) fail("%s", what.c_str());
            ++d.skipped;
        };
        auto const name = parse_jaffe_name(file.filename().string());
        if (!name) {
            bad("load_jaffe: " + file.string() +
                ": not a JAFFE file name (expected <subject>.<AN|DI|FE|HA|SA|SU|NE><n>.<id>.tiff)");
            continue;
        }
        cv::Mat const image = cv::imread(file.string(), cv::IMREAD_GRAYSCALE);
        if (image.empty()) {
            bad("load_jaffe: " + file.string() + " is not a readable image");
            continue;
        }
        std::optional<cv::Rect> box;
        if (detector) box = detector->detect_largest(image);
        if (box) ++r.detected;
        else r.centre_cropped.push_back(file.string());
        cv::Mat const face = crop_face(image, box ? *box : centre_box(image.size(), o.fallback_fraction), o.crop);
        d.add(face.ptr<std::uint8_t>(), name->label, file.string(), name->subject);
        ++r.images;
    }
    if (d.size() == 0) fail("load_jaffe: no JAFFE images found in %s", root.string().c_str());
    if (report) *report = std::move(r);
    return d;
}

}  // namespace mien
