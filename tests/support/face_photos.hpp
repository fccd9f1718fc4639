// tests/support/face_photos.hpp -- the photos of ../shared/data/faces that show one frontal face.
//
// Per faces/README.md and a look at each photo. Left out: WuJie1010_2.jpg (face half hidden by
// a hand), bartoszpanek1_angry.jpg (several people), daanjiri_unhappy.jpg (head tilted onto a
// hand), and the two videos.
#pragma once

#include <string>
#include <vector>

namespace mien::testing {

inline std::vector<std::string> const& one_face_photos() {
    static std::vector<std::string> const names = {
        "WuJie1010_1.jpg",          "bartoszpanek1_happy.jpg",           "bartoszpanek1_neutral.jpg",
        "daanjiri_angry.jpg",       "daanjiri_happy.jpg",                "daanjiri_sad.jpeg",
        "justinshenk_justin.jpg",   "vinayakvivek_angry.jpg",            "vinayakvivek_disgust.jpg",
        "vinayakvivek_face.jpg",    "vinayakvivek_fear.png",             "vinayakvivek_happily-surprised.jpg",
        "vinayakvivek_happy_face.jpg", "vinayakvivek_sad.jpg",           "vinayakvivek_surprise.jpeg"};
    return names;
}

}  // namespace mien::testing
