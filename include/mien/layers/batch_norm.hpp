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
#include <array>
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
    // Batch mean and 1/std in the first 2C; the rest is room for per-sample partial sums.
    static constexpr std::size_t saved_per_sample = 3 * C;
    static constexpr std::size_t temp_size = 0;
    static constexpr std::array<double, 2> settings{eps, momentum};
    // Per channel and element-wise once the statistics are known (they are computed from x
    // before y is written), so y may be x.
    static constexpr bool in_place = true;

    static void init(T* p, T* s, random_generator&) {
        detail::fill(C, T(1), p);
        detail::fill(C, T(0), p + C);
        detail::fill(C, T(0), s);
        detail::fill(C, T(1), s + C);
    }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "gamma", 0, {C}));
        v(detail::tensor(name, "beta", C, {C}));
        v(detail::tensor(name, "running_mean", 0, {C}, false));
        v(detail::tensor(name, "running_var", C, {C}, false));
    }

    // Training statistics per sample, split by samples across the team, while the sample is in
    // cache: its mean m_s (rounded to T), then r_s = sum (x - m_s) and q_s = sum (x - m_s)^2,
    // left in saved slot s (3C values). They are combined in sample order in double, exactly:
    //   mean = sum_s (P m_s + r_s) / (nP),  sum (x - mean)^2 = sum_s q_s + 2 (m_s - mean) r_s + P (m_s - mean)^2
    // so the result does not depend on the thread count. Within a sample the sums run in T over
    // blocks of pixels, the block sums in double (the batch can hold 70,000 values per channel).
    static void forward(frame<T> const& f, T const* x, T* y) {
        T* mean = f.saved;
        T* inv_std = f.saved + C;
        std::size_t const count = f.n * pixels;
        if (f.training) {
            auto moments = [&](std::size_t begin, std::size_t end, std::size_t) {
                for (std::size_t s = begin; s < end; ++s) {
                    T const* xs = x + s * In::size;
                    T* ms = f.saved + s * saved_per_sample;
                    channel_sums([&](std::size_t i, auto tag) { return std::array{load(tag, xs + i)}; }, std::array{ms});
                    for (std::size_t c = 0; c < C; ++c) ms[c] = T(double(ms[c]) / double(pixels));
                    channel_sums(
                        [&](std::size_t i, auto tag) {
                            auto const d = load(tag, xs + i) - load(tag, ms + i % C);
                            return std::array{d, d * d};
                        },
                        std::array{ms + C, ms + 2 * C});
                }
            };
            f.for_samples(moments);
            double m[C] = {}, ss[C] = {};
            for (std::size_t s = 0; s < f.n; ++s)
                for (std::size_t c = 0; c < C; ++c)
                    m[c] += double(pixels) * double(f.saved[s * saved_per_sample + c]) + double(f.saved[s * saved_per_sample + C + c]);
            for (std::size_t c = 0; c < C; ++c) m[c] /= double(count);
            for (std::size_t s = 0; s < f.n; ++s)
                for (std::size_t c = 0; c < C; ++c) {
                    T const* ms = f.saved + s * saved_per_sample;
                    double const d = double(ms[c]) - m[c];
                    ss[c] += double(ms[2 * C + c]) + 2 * d * double(ms[C + c]) + double(pixels) * d * d;
                }
            for (std::size_t c = 0; c < C; ++c) {
                double const var = std::max(0.0, ss[c]) / double(count);
                mean[c] = T(m[c]);
                inv_std[c] = T(1.0 / std::sqrt(var + eps));
                double const unbiased = count > 1 ? std::max(0.0, ss[c]) / double(count - 1) : var;
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
                T const* xi = x + i * C;
                T* yi = y + i * C;
                std::size_t c = 0;
                for (; c < full; c += V)
                    detail::fma(batch::load_unaligned(xi + c), batch::load_unaligned(scale + c), batch::load_unaligned(shift + c))
                        .store_unaligned(yi + c);
                for (; c < C; ++c) yi[c] = shift[c] + xi[c] * scale[c];
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
                T* ps = part + s * saved_per_sample;
                channel_sums(
                    [&](std::size_t i, auto tag) {
                        auto const d = load(tag, dys + i);
                        return std::array{d, d * (load(tag, xs + i) - load(tag, mean + i % C))};
                    },
                    std::array{ps, ps + C});
            }
        };
        f.for_samples(sums);
        double dbeta[C] = {}, dxc[C] = {};
        for (std::size_t s = 0; s < f.n; ++s)
            for (std::size_t c = 0; c < C; ++c) {
                dbeta[c] += double(part[s * saved_per_sample + c]);
                dxc[c] += double(part[s * saved_per_sample + C + c]);
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
                    batch const r = detail::fma(batch::load_unaligned(k2 + c), d, batch::load_unaligned(k0 + c));
                    detail::fma(batch::load_unaligned(k1 + c), batch::load_unaligned(dyi + c), r).store_unaligned(dxi + c);
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
    static void store(batch v, T* p) { v.store_unaligned(p); }
    static void store(T v, T* p) { *p = v; }

    // out[k][c] = sum over the pixels p of one sample of term(p * C + c, tag)[k], where tag is a
    // batch (channels c .. c + V - 1 at once) or a T (one channel) and term returns K values.
    template <class Term, std::size_t K>
    static void channel_sums(Term term, std::array<T*, K> out) {
        auto chunk = [&](std::size_t c, auto tag) {
            using B = decltype(tag);
            constexpr std::size_t lanes = sizeof(B) / sizeof(T);
            double total[K][lanes] = {};
            for (std::size_t p0 = 0; p0 < pixels; p0 += block) {
                B acc[K];
                for (std::size_t k = 0; k < K; ++k) acc[k] = B(T(0));
                for (std::size_t p = p0; p < std::min(p0 + block, pixels); ++p) {
                    auto const v = term(p * C + c, tag);
                    for (std::size_t k = 0; k < K; ++k) acc[k] += v[k];
                }
                for (std::size_t k = 0; k < K; ++k) {
                    T l[lanes];
                    store(acc[k], l);
                    for (std::size_t i = 0; i < lanes; ++i) total[k][i] += double(l[i]);
                }
            }
            for (std::size_t k = 0; k < K; ++k)
                for (std::size_t i = 0; i < lanes; ++i) out[k][c + i] = T(total[k][i]);
        };
        for (std::size_t c = 0; c < full; c += V) chunk(c, batch());
        for (std::size_t c = full; c < C; ++c) chunk(c, T());
    }
};

struct batch_norm {
    template <Shape In, class T>
    using bind = batch_norm_layer<In, T>;
};

}  // namespace mien
