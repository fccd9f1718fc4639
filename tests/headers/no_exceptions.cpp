// Built with -fno-exceptions -fno-rtti: the whole core library, one prediction of models::fast.
#include <mien/mien.hpp>

#include "../consumer/predict_once.hpp"

#if defined(__cpp_exceptions) || defined(__cpp_rtti)
#error "this test must be compiled with -fno-exceptions -fno-rtti"
#endif

int main() { return predict_once<mien::models::fast>("models::fast without exceptions or RTTI"); }
