// mien/data/ferplus_folder.hpp -- the FER2013 image folders labelled by FER+ votes (needs OpenCV).
//
//   auto votes = mien::load_ferplus_votes("../shared/data/ferplus");
//   auto train = mien::load_ferplus_folder("../shared/data/fer2013", votes, "Training",
//                                          mien::ferplus_protocol::crossentropy);
//   // train.faces: labels 0..7 in FER+ order (the top class); train.targets: the 8-class rows
//
// For an 8-output model: faces of one usage (Training -> <root>/train/..., PublicTest ->
// <root>/val/...) whose FER+ votes the protocol keeps (ferplus.hpp), in the order of their
// files (sorted), so a run is the same on every machine. The label of a face is its top class
// (under majority, the majority class); `targets` holds the protocol's distribution, for soft
// targets. FER+ papers report test accuracy under majority.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "../core/error.hpp"
#include "dataset.hpp"
#include "ferplus.hpp"

namespace mien {

struct ferplus_dataset {
    dataset faces;                                               // labels in FER+ order
    std::vector<std::array<float, ferplus_class_count>> targets;  // one row per face
    std::size_t mapped = 0;    // faces of this usage in the mapping
    std::size_t excluded = 0;  // of those, left out by the protocol
};

inline ferplus_dataset load_ferplus_folder(std::filesystem::path const& fer2013_root, ferplus_table const& votes,
                                           std::string_view usage, ferplus_protocol protocol) {
    if (usage != "Training" && usage != "PublicTest")
        fail("load_ferplus_folder: usage '%.*s', expected Training or PublicTest (the mapped FER2013 splits)",
             int(usage.size()), usage.data());
    std::vector<ferplus_face const*> chosen;
    for (auto const& f : votes.faces)
        if (f.usage == usage) chosen.push_back(&f);
    std::sort(chosen.begin(), chosen.end(), [](auto const* a, auto const* b) { return a->file < b->file; });
    ferplus_dataset out;
    out.mapped = chosen.size();
    for (ferplus_face const* f : chosen) {
        auto const t = ferplus_target(f->votes, protocol);
        if (!t) {
            ++out.excluded;
            continue;
        }
        std::filesystem::path const path = fer2013_root / f->file;
        cv::Mat image = cv::imread(path.string(), cv::IMREAD_GRAYSCALE);
        if (image.empty()) fail("load_ferplus_folder: %s (csv_row %zu) is not a readable image", path.string().c_str(), f->csv_row);
        if (image.rows != out.faces.side || image.cols != out.faces.side)
            fail("load_ferplus_folder: %s is %dx%d, expected %dx%d", path.string().c_str(), image.cols, image.rows,
                 out.faces.side, out.faces.side);
        if (!image.isContinuous()) image = image.clone();
        auto const top = std::int32_t(std::max_element(t->begin(), t->end()) - t->begin());
        out.faces.add(image.ptr<std::uint8_t>(), top, path.string());
        out.targets.push_back(*t);
    }
    if (out.faces.size() == 0)
        fail("load_ferplus_folder: no %.*s face of %s is kept (%zu mapped, all excluded)", int(usage.size()), usage.data(),
             fer2013_root.string().c_str(), out.mapped);
    return out;
}

}  // namespace mien
