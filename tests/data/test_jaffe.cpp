// JAFFE file names (mien/data/jaffe.hpp): subject and class, and names that are not JAFFE's.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include <mien/data/jaffe.hpp>

TEST_CASE("jaffe: file names give subject and class") {
    auto const ka = mien::parse_jaffe_name("KA.AN1.39.tiff");
    REQUIRE(ka);
    CHECK(ka->subject == "KA");
    CHECK(ka->label == mien::expression_index("angry"));
    std::map<std::string, std::string> const codes = {{"AN", "angry"}, {"DI", "disgust"}, {"FE", "fear"}, {"HA", "happy"},
                                                      {"SA", "sad"},   {"SU", "surprise"}, {"NE", "neutral"}};
    for (auto const& [code, word] : codes) {
        auto const n = mien::parse_jaffe_name("YM." + code + "3.60.tiff");
        REQUIRE(n);
        CHECK(n->label == mien::expression_index(word));
        CHECK(n->subject == "YM");
    }
    CHECK(mien::parse_jaffe_name("KA.XX1.39.tiff") == std::nullopt);
    CHECK(mien::parse_jaffe_name("KA.AN1.tiff") == std::nullopt);
    CHECK(mien::parse_jaffe_name("KA.ANx.39.tiff") == std::nullopt);
    CHECK(mien::parse_jaffe_name("K1.AN1.39.tiff") == std::nullopt);
    CHECK(mien::parse_jaffe_name("README.md") == std::nullopt);
}
