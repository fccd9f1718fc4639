// expect: static assertion failed: mien::xtensor::tensor<name>: the network has no tensor of that name
// tensor<"name">(net) finds the tensor's shape at compile time; a name the network lacks (the
// first convolution has no bias) does not compile.
#include <mien/interop/xtensor.hpp>
#include <mien/models/paper.hpp>

#include <memory>

#ifdef MIEN_COMPILE_FAIL
#define MIEN_TENSOR_NAME "00.conv2d.bias"
#else
#define MIEN_TENSOR_NAME "00.conv2d.weight"
#endif

int main() {
    auto net = std::make_unique<mien::models::fast>();
    auto w = mien::xtensor::tensor<MIEN_TENSOR_NAME>(*net);
    return w.size() == 3 * 3 * 1 * 16 ? 0 : 1;
}
