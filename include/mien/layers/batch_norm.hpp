// mien/layers/batch_norm.hpp -- batch normalisation over the channel axis.
//
//   training:  y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta   (statistics of the batch,
//              over samples and pixels), and running_* <- (1 - m) running_* + m * batch_*
//   inference: the same with the running statistics.
// Shape unchanged. Parameters gamma, beta [C]; state running_mean, running_var [C].
// eps = 1e-5, momentum m = 0.1 and an unbiased running variance: PyTorch's conventions, so
// weights move between the two without conversion. macs = 0: at inference BN folds into the
// preceding convolution's weights (the cost model counts it there).
#pragma once

#include <cmath>
#include <cstddef>
#include <string_view>

#include "../core/layer.hpp"
#include "../core/vector_ops.hpp"

namespace mien {

template <Shape In, class T>
struct batch_norm_layer : leaf_layer {
    static constexpr std::size_t C = In::channels;
    static constexpr std::size_t pixels = In::pixels;
    using input_shape = In;
    using output_shape = plain_shape<In>;
    using scalar = T;
    static constexpr std::string_view name = "batch_norm";
    static constexpr double eps = 1e-5;
    static constexpr double momentum = 0.1;
    static constexpr std::size_t params = 2 * C;        // gamma, beta
    static constexpr std::size_t state_size = 2 * C;    // running mean, running variance
    static constexpr std::size_t macs = 0;
    static constexpr std::size_t saved_per_sample = 2 * C;  // batch mean and 1/std (first 2C used)
    static constexpr std::size_t temp_size = 0;

    static void init(T* p, T* s, random_generator&) {
        detail::fill(C, T(1), p);
        detail::fill(C, T(0), p + C);
        detail::fill(C, T(0), s);
        detail::fill(C, T(1), s + C);
    }

    template <class V>
    static void for_each_tensor(V&& v) {
        v(detail::tensor(name, "gamma", 0, {C}));
        v(detail::tensor(name, "beta", C, {C}));
        v(detail::tensor(name, "running_mean", 0, {C}, false));
        v(detail::tensor(name, "running_var", C, {C}, false));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        T* mean = f.saved;
        T* inv_std = f.saved + C;
        std::size_t const count = f.n * pixels;
        if (f.training) {
            // Two passes in double: the batch can hold 70,000 values per channel.
            double sum[C] = {}, sq[C] = {};
            for (std::size_t i = 0; i < count; ++i)
                for (std::size_t c = 0; c < C; ++c) sum[c] += double(x[i * C + c]);
            for (std::size_t c = 0; c < C; ++c) sum[c] /= double(count);
            for (std::size_t i = 0; i < count; ++i)
                for (std::size_t c = 0; c < C; ++c) {
                    double const d = double(x[i * C + c]) - sum[c];
                    sq[c] += d * d;
                }
            for (std::size_t c = 0; c < C; ++c) {
                double const var = sq[c] / double(count);
                mean[c] = T(sum[c]);
                inv_std[c] = T(1.0 / std::sqrt(var + eps));
                double const unbiased = count > 1 ? sq[c] / double(count - 1) : var;
                f.state[c] = T((1 - momentum) * double(f.state[c]) + momentum * sum[c]);
                f.state[C + c] = T((1 - momentum) * double(f.state[C + c]) + momentum * unbiased);
            }
        } else {
            for (std::size_t c = 0; c < C; ++c) {
                mean[c] = f.state[c];
                inv_std[c] = T(1.0 / std::sqrt(double(f.state[C + c]) + eps));
            }
        }
        // y = x * scale + shift per channel
        T scale[C], shift[C];
        for (std::size_t c = 0; c < C; ++c) {
            scale[c] = f.params[c] * inv_std[c];
            shift[c] = f.params[C + c] - mean[c] * scale[c];
        }
        for (std::size_t i = 0; i < count; ++i) {
            detail::copy(C, shift, y + i * C);
            detail::multiply_add(C, x + i * C, scale, y + i * C);
        }
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        T const* mean = f.saved;
        T const* inv_std = f.saved + C;
        std::size_t const count = f.n * pixels;
        double dbeta[C] = {}, dgamma[C] = {};
        for (std::size_t i = 0; i < count; ++i)
            for (std::size_t c = 0; c < C; ++c) {
                double const xhat = (double(x[i * C + c]) - double(mean[c])) * double(inv_std[c]);
                dbeta[c] += double(dy[i * C + c]);
                dgamma[c] += double(dy[i * C + c]) * xhat;
            }
        for (std::size_t c = 0; c < C; ++c) {
            f.grads[c] += T(dgamma[c]);
            f.grads[C + c] += T(dbeta[c]);
        }
        if (!dx) return;
        for (std::size_t i = 0; i < count; ++i)
            for (std::size_t c = 0; c < C; ++c) {
                double const g = double(f.params[c]) * double(inv_std[c]);
                if (!f.training) {  // statistics are constants
                    dx[i * C + c] = T(g * double(dy[i * C + c]));
                    continue;
                }
                // d/dx of the normalisation, with the batch mean and variance depending on x.
                double const xhat = (double(x[i * C + c]) - double(mean[c])) * double(inv_std[c]);
                double const m = double(count);
                dx[i * C + c] = T(g * (double(dy[i * C + c]) - dbeta[c] / m - xhat * dgamma[c] / m));
            }
    }
};

struct batch_norm {
    template <Shape In, class T>
    using bind = batch_norm_layer<In, T>;
};

}  // namespace mien
