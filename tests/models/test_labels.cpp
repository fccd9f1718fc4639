// mien/models/labels.hpp: the default label sets of 7- and 8-output models, checked at compile time.
#include <mien/models/labels.hpp>

#include <doctest/doctest.h>

static_assert(mien::default_class_names(7).size() == 7 && mien::default_class_names(7)[0] == "angry");
static_assert(mien::default_class_names(7)[6] == "neutral");
static_assert(mien::default_class_names(8).size() == 8 && mien::default_class_names(8)[0] == "neutral");
static_assert(mien::default_class_names(8)[7] == "contempt");
static_assert(mien::default_class_names(3).empty());

TEST_CASE("labels: FER+ and FER2013 name the shared emotions differently and in another order") {
    // anger is FER+ class 4 and FER2013 class 0 (angry): the two sets are not interchangeable.
    CHECK(mien::ferplus_class_names[4] == "anger");
    CHECK(mien::expression_names[0] == "angry");
}
