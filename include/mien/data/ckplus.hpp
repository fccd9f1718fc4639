// mien/data/ckplus.hpp -- CK+ in its "CK+48" folder layout (OpenCV).
//
//   mien::dataset ck = mien::load_ckplus("../shared/data/ckplus");   // 927 faces, contempt dropped
//   ck.subjects[i] == "S010" for S010_004_00000017.png: split with subject_k_fold (folds.hpp)
//
// Layout: <root>/<folder>/S<subject>_<sequence>_<frame>.png, 48x48 gray, folders anger,
// contempt, disgust, fear, happy, sadness, surprise (no neutral folder). CK+ has an eighth
// class, contempt, that FER2013 and the 7-class networks lack. What to do with it is an
// explicit choice (docs/DATASETS.md):
//   contempt_policy::drop     (default) leave the 54 contempt faces out: 7 classes, 927 faces;
//   contempt_policy::neutral  count them as neutral (label 6), the class the nets use for
//                             "no basic emotion": 981 faces, and "neutral" means contempt here.
// Keeping contempt as an eighth class is not supported: the networks here have 7 outputs
// (FER2013's classes), and their weights are pre-trained on FER2013.
//
// Bad entries (a non-image, a wrong size, an unknown folder) raise mien::error naming the
// file, or are skipped and counted with `skip_bad` (as load_image_folder, which this uses).
#pragma once

#include <cctype>
#include <filesystem>
#include <string>
#include <string_view>

#include "dataset.hpp"
#include "image_folder.hpp"
#include "labels.hpp"

namespace mien {

enum class contempt_policy {
    drop,     // leave contempt out (default)
    neutral,  // label contempt faces neutral
};

struct ckplus_options {
    contempt_policy contempt = contempt_policy::drop;
    bool skip_bad = false;  // skip (and count) bad files instead of failing
};

// The subject id of a CK+ file name: "S010" for "S010_004_00000017.png"; "" when the name has
// no S<digits>_ prefix.
inline std::string ckplus_subject(std::string_view name) {
    std::size_t i = 1;
    if (name.empty() || name[0] != 'S') return {};
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
    if (i == 1 || i >= name.size() || name[i] != '_') return {};
    return std::string(name.substr(0, i));
}

inline dataset load_ckplus(std::filesystem::path const& root, ckplus_options const& o = {}) {
    folder_options f;
    f.side = 48;
    f.skip_bad = o.skip_bad;
    if (o.contempt == contempt_policy::drop) f.ignore_labels.push_back("contempt");
    else f.extra_labels.emplace_back("contempt", expression_index("neutral"));
    f.subject_of = [](std::string const& name) { return ckplus_subject(name); };
    return load_image_folder(root, f);
}

}  // namespace mien
