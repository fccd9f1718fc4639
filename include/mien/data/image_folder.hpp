// mien/data/image_folder.hpp -- data sets stored as <root>/<label>/<image> (needs OpenCV).
//
// The layout of ../shared/data/fer2013/<split>/<label>/*.jpg and ckplus/<label>/*.png. Label
// folders are named as in mien/data/labels.hpp. Every image is decoded as grayscale; one that
// is not side x side is an error unless `resize` is set. Bad entries (an unreadable or
// non-image file, an unknown label folder, a wrong size) raise mien::error naming the file,
// or are skipped and counted in dataset::skipped when `skip_bad` is set.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "../core/error.hpp"
#include "dataset.hpp"
#include "labels.hpp"

namespace mien {

struct folder_options {
    int side = 48;
    bool resize = false;      // resize images of another size instead of failing
    bool skip_bad = false;    // skip (and count) bad entries instead of failing
    std::vector<std::string> ignore_labels;  // label folders to leave out (e.g. CK+ "contempt")
    // Extra folder names and their class, checked before the names of labels.hpp
    // (e.g. {"contempt", 6} to map CK+ contempt to neutral).
    std::vector<std::pair<std::string, int>> extra_labels;
    // Subject id from a file name (empty function: no subjects).
    std::function<std::string(std::string const&)> subject_of;
};

namespace detail {
inline bool is_image_name(std::filesystem::path const& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" || ext == ".tiff" ||
           ext == ".pgm";
}
}  // namespace detail

// Loads every <root>/<label>/<image>. Files are taken in sorted order, so the result is the
// same on every machine.
inline dataset load_image_folder(std::filesystem::path const& root, folder_options const& o = {}) {
    namespace fs = std::filesystem;
    if (!fs::is_directory(root)) fail("load_image_folder: %s is not a directory", root.string().c_str());
    dataset d;
    d.side = o.side;
    std::vector<fs::path> label_dirs;
    for (auto const& e : fs::directory_iterator(root))
        if (e.is_directory()) label_dirs.push_back(e.path());
    std::sort(label_dirs.begin(), label_dirs.end());
    auto bad = [&](std::string const& what) {
        if (!o.skip_bad) fail("%s", what.c_str());
        ++d.skipped;
    };
    for (auto const& dir : label_dirs) {
        std::string const word = dir.filename().string();
        if (std::find(o.ignore_labels.begin(), o.ignore_labels.end(), word) != o.ignore_labels.end()) continue;
        auto const extra = std::find_if(o.extra_labels.begin(), o.extra_labels.end(),
                                        [&](auto const& e) { return e.first == word; });
        int const label = extra != o.extra_labels.end() ? extra->second : expression_index(word);
        if (label < 0) {
            bad("load_image_folder: unknown label folder " + dir.string() +
                " (expected angry, disgust, fear, happy, sad, surprise or neutral)");
            continue;
        }
        std::vector<fs::path> files;
        for (auto const& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        for (auto const& file : files) {
            if (file.filename().string().front() == '.') continue;  // hidden files (.DS_Store)
            cv::Mat image = detail::is_image_name(file) ? cv::imread(file.string(), cv::IMREAD_GRAYSCALE) : cv::Mat();
            if (image.empty()) {
                bad("load_image_folder: " + file.string() + " is not a readable image");
                continue;
            }
            if (image.rows != o.side || image.cols != o.side) {
                if (!o.resize) {
                    bad("load_image_folder: " + file.string() + " is " + std::to_string(image.cols) + "x" +
                        std::to_string(image.rows) + ", expected " + std::to_string(o.side) + "x" + std::to_string(o.side));
                    continue;
                }
                cv::resize(image, image, cv::Size(o.side, o.side), 0, 0, cv::INTER_AREA);
            }
            if (!image.isContinuous()) image = image.clone();
            std::string const name = file.filename().string();
            d.add(image.ptr<std::uint8_t>(), label, file.string(), o.subject_of ? o.subject_of(name) : std::string());
        }
    }
    if (d.size() == 0) fail("load_image_folder: no images found under %s", root.string().c_str());
    return d;
}

}  // namespace mien
