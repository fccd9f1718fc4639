// expect: static assertion failed: mien::xtensor::parameter<I>: I is past the network's last trainable tensor
// parameter<I>(net): the fast network has 33 trainable tensors, so I = 33 does not compile.
#include <mien/interop/xtensor.hpp>
#include <mien/models/paper.hpp>

#include <memory>

#ifdef MIEN_COMPILE_FAIL
constexpr std::size_t which = 33;
#else
constexpr std::size_t which = 32;
#endif

int main() {
    auto net = std::make_unique<mien::models::fast>();
    auto b = mien::xtensor::parameter<which>(*net);  // the classifier's bias, (7)
    return b.size() == 7 ? 0 : 1;
}
