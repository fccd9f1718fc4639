// A user's program: links mien::mien from a separate CMake project (tests/consumer/*).
#include <mien/mien.hpp>

#include "predict_once.hpp"

static_assert(mien::models::paper<>::params == 175495);
static_assert(mien::models::paper<>::macs == 25373056);

int main() { return predict_once<mien::models::paper<>>("consumer"); }
