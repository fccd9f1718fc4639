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

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string_view>

#include "../core/layer.hpp"
#include "../core/simd.hpp"
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

    // Training statistics in two passes (sum, then squared deviations from the batch mean), each
    // split by samples across the team: sample s leaves its per-channel partial sums in saved
    // slot s (2C values), and they are added in sample order in double, so the result does not
    // depend on the thread count. Within a sample the sums run in T over blocks of pixels, the
    // block sums in double (the batch can hold 70,000 values per channel).
    static void forward(frame<T> const& f, T const* x, T* y) {
        T* mean = f.saved;
        T* inv_std = f.saved + C;
        std::size_t const count = f.n * pixels;
        if (f.training) {
            auto sums = [&](std::size_t begin, std::size_t end, std::size_t) {
                for (std::size_t s = begin; s < end; ++s)
                    channel_sums([&](std::size_t i, auto tag) { return load(tag, x + s * In::size + i); }, f.saved + s * 2 * C);
            };
            f.for_samples(sums);
            double m[C] = {}, sq[C] = {};
            for (std::size_t s = 0; s < f.n; ++s)
                for (std::size_t c = 0; c < C; ++c) m[c] += double(f.saved[s * 2 * C + c]);
            T centre[C];
            for (std::size_t c = 0; c < C; ++c) centre[c] = T(m[c] /= double(count));
            auto squares = [&](std::size_t begin, std::size_t end, std::size_t) {
                for (std::size_t s = begin; s < end; ++s)
                    channel_sums(
                        [&](std::size_t i, auto tag) {
                            auto const d = load(tag, x + s * In::size + i) - load(tag, centre + i % C);
                            return d * d;
                        },
                        f.saved + s * 2 * C + C);
            };
            f.for_samples(squares);
            for (std::size_t s = 0; s < f.n; ++s)
                for (std::size_t c = 0; c < C; ++c) sq[c] += double(f.saved[s * 2 * C + C + c]);
            for (std::size_t c = 0; c < C; ++c) {
                // sum (x - centre)^2 = sum (x - mean)^2 + count (mean - centre)^2: remove the rounding of the centre.
                double const shift = m[c] - double(centre[c]);
                double const ss = std::max(0.0, sq[c] - double(count) * shift * shift);
                double const var = ss / double(count);
                mean[c] = T(m[c]);
                inv_std[c] = T(1.0 / std::sqrt(var + eps));
                double const unbiased = count > 1 ? ss / double(count - 1) : var;
                f.state[c] = T((1 - momentum) * double(f.state[c]) + momentum * m[c]);
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
        auto normalise = [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t i = begin * pixels; i < end * pixels; ++i) {
                detail::copy(C, shift, y + i * C);
                detail::multiply_add(C, x + i * C, scale, y + i * C);
            }
        };
        f.for_samples(normalise);
    }

    // dbeta = sum dy, dgamma = sum dy * xhat: per-sample partial sums (of dy and dy * (x - mean))
    // in the layer's dsaved slots, added in sample order in double; then dx per sample.
    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        T const* mean = f.saved;
        T const* inv_std = f.saved + C;
        std::size_t const count = f.n * pixels;
        T* part = f.dsaved;
        auto sums = [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T const* dys = dy + s * In::size;
                channel_sums([&](std::size_t i, auto tag) { return load(tag, dys + i); }, part + s * 2 * C);
                channel_sums([&](std::size_t i, auto tag) { return load(tag, dys + i) * (load(tag, xs + i) - load(tag, mean + i % C)); },
                             part + s * 2 * C + C);
            }
        };
        f.for_samples(sums);
        double dbeta[C] = {}, dxc[C] = {};
        for (std::size_t s = 0; s < f.n; ++s)
            for (std::size_t c = 0; c < C; ++c) {
                dbeta[c] += double(part[s * 2 * C + c]);
                dxc[c] += double(part[s * 2 * C + C + c]);
            }
        for (std::size_t c = 0; c < C; ++c) {
            f.grads[c] += T(dxc[c] * double(inv_std[c]));  // dgamma
            f.grads[C + c] += T(dbeta[c]);
        }
        if (!dx) return;
        // dx = g dy                                       (inference: the statistics are constants)
        // dx = g (dy - dbeta / m - xhat dgamma / m)       (training), g = gamma / std, m = count,
        //    = k1 dy + k2 (x - mean) + k0
        T k1[C], k2[C], k0[C];
        for (std::size_t c = 0; c < C; ++c) {
            double const is = double(inv_std[c]), g = double(f.params[c]) * is, m = double(count);
            k1[c] = T(g);
            k2[c] = f.training ? T(-g * is * is * dxc[c] / m) : T(0);
            k0[c] = f.training ? T(-g * dbeta[c] / m) : T(0);
        }
        auto input_gradient = [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t i = begin * pixels; i < end * pixels; ++i) {
                T const* xi = x + i * C;
                T const* dyi = dy + i * C;
                T* dxi = dx + i * C;
                std::size_t c = 0;
                for (; c < full; c += V) {
                    batch const d = batch::load_unaligned(xi + c) - batch::load_unaligned(mean + c);
                    batch const r = xsimd::fma(batch::load_unaligned(k2 + c), d, batch::load_unaligned(k0 + c));
                    xsimd::fma(batch::load_unaligned(k1 + c), batch::load_unaligned(dyi + c), r).store_unaligned(dxi + c);
                }
                for (; c < C; ++c) dxi[c] = k1[c] * dyi[c] + (k2[c] * (xi[c] - mean[c]) + k0[c]);
            }
        };
        f.for_samples(input_gradient);
    }

private:
    using batch = detail::simd_batch<T>;
    static constexpr std::size_t V = batch::size;
    static constexpr std::size_t full = C - C % V;  // channels done in whole registers
    static constexpr std::size_t block = 64;        // pixels summed in T before going to double

    static batch load(batch, T const* p) { return batch::load_unaligned(p); }
    static T load(T, T const* p) { return *p; }

    // out[c] = sum over the pixels p of one sample of term(p * C + c, tag), where tag is a batch
    // (channels c .. c + V - 1 at once) or a T (one channel).
    template <class Term>
    static void channel_sums(Term term, T* out) {
        for (std::size_t c = 0; c < full; c += V) {
            double total[V] = {};
            for (std::size_t p0 = 0; p0 < pixels; p0 += block) {
                batch acc(T(0));
                for (std::size_t p = p0; p < std::min(p0 + block, pixels); ++p) acc += term(p * C + c, batch());
                T lanes[V];
                acc.store_unaligned(lanes);
                for (std::size_t l = 0; l < V; ++l) total[l] += double(lanes[l]);
            }
            for (std::size_t l = 0; l < V; ++l) out[c + l] = T(total[l]);
        }
        for (std::size_t c = full; c < C; ++c) {
            double total = 0;
            for (std::size_t p0 = 0; p0 < pixels; p0 += block) {
                T acc = 0;
                for (std::size_t p = p0; p < std::min(p0 + block, pixels); ++p) acc += term(p * C + c, T());
                total += double(acc);
            }
            out[c] = T(total);
        }
    }
};

struct batch_norm {
    template <Shape In, class T>
    using bind = batch_norm_layer<In, T>;
};

}  // namespace mien
