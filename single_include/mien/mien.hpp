// mien 0.1.0 -- single-header edition.
//
// GENERATED FILE, DO NOT EDIT. Edit the headers under include/mien/ and regenerate:
//     python3 tools/amalgamate.py
// (generator: tools/amalgamate.py; CI fails when this file is stale: --check).
//
// Needs xsimd (and xtensor for interop) on the include path; never OpenCV.
#pragma once
#define MIEN_SINGLE_INCLUDE 1

// ---- begin mien/mien.hpp ----
// mien/mien.hpp -- the core library: shapes, layers, blocks, networks, training, weights I/O.
// Header-only, C++20, depends on xsimd (and xtensor for interop); never on OpenCV.

// ---- begin mien/blocks/concat.hpp ----
// mien/blocks/concat.hpp -- several branches on the same input, outputs joined along channels.
//
// concat<dot_product_attention, additive_attention> runs both attentions on the same tokens and
// gives an HxWx(C1 + C2 + ...) map. Every branch must produce the same height and width.
// params, macs, state: the sums over branches. Backward adds the branches' input gradients.

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>

// ---- begin mien/core/layer.hpp ----
// mien/core/layer.hpp -- what every layer is, documented once.
//
// A layer comes in two parts:
//  * a *spec* the user writes in a network, such as conv2d<32, 3>. It has no shape yet; it
//    carries `template <Shape In, class T> using bind = ...` which gives
//  * the *bound layer*: a stateless type that knows its input and output shapes and costs as
//    constants and has static forward/backward functions. It owns no memory: parameters,
//    activations and scratch live in flat arrays owned by the network or trainer, and each
//    layer receives a `frame` that points at its own slice of them.
//
// A bound layer L provides (checked by the Layer concept below):
//   using input_shape, output_shape, scalar;
//   static constexpr std::size_t params;            trainable values
//   static constexpr std::size_t state_size;        non-trainable values (BN running statistics)
//   static constexpr std::size_t macs;              multiply-accumulates per sample
//   static constexpr std::size_t saved_per_sample;  values kept from forward for backward
//   static constexpr std::size_t temp_size;         per-thread scratch, reused by all layers
//   static constexpr std::string_view name;
//   static void init(T* params, T* state, random_generator&);
//   static void forward(frame<T> const&, T const* x, T* y);
//   static void backward(frame<T> const&, T const* x, T const* y, T const* dy, T* dx);
//       backward *adds* the parameter gradients to f.grads and *writes* dx (dx may be null:
//       the first layer of a network need not compute it).
//   template <class F> static constexpr void for_each_tensor(F&& f);  f(tensor_info) per named tensor
//       (constexpr: a network's tensor table is a compile-time constant, core/network.hpp)
//   template <class Self, class F> static void visit(F&&, param_offset, state_offset, depth);
//       visits the leaf layers (leaf_layer gives the leaf's own: itself)
//   static constexpr std::array<double, N> settings;  every template argument that changes what
//       the layer computes beyond its shapes (kernel, stride, padding, bias, ...): the weights
//       file's topology fingerprint hashes them (io/fingerprint.hpp)
// and, for prediction (batch 1, one thread, inference mode), optionally:
//   static constexpr std::size_t infer_size;  scratch values infer() needs besides x and y
//   static constexpr bool in_place;           forward and infer accept y == x
//   static void infer(frame<T> const&, T const* x, T* y, T* scratch);
// A leaf that does not declare them is run by forward() with its saved values and its forward
// scratch (forward_temp_size, else temp_size) placed in `scratch` (see mien::infer below).
// Composite layers plan where their children's outputs live inside the scratch they are given
// (blocks/sequential.hpp: by liveness), so a whole prediction needs one arena whose size is a
// compile-time constant (basic_network::inference_bytes).
//
// Composite layers (sequential, residual, concat) are layers too, so blocks nest freely.

#include <array>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <string_view>

// ---- begin mien/core/random.hpp ----
// mien/core/random.hpp -- a small, portable, seedable random generator.
//
// std::normal_distribution and friends differ between standard libraries, so training would
// not be reproducible across platforms. This is SplitMix64 with our own uniform and normal
// draws: the same seed gives the same numbers everywhere.

#include <cmath>
#include <cstdint>

namespace mien {

class random_generator {
public:
    explicit constexpr random_generator(std::uint64_t seed = 0) : state_(seed) {}

    constexpr std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    // Uniform in [0, 1), 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double low, double high) { return low + (high - low) * uniform(); }

    // Uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }

    // Standard normal (Box-Muller; one value per call, simplicity over speed).
    double normal() {
        double u1 = uniform();
        double const u2 = uniform();
        if (u1 < 1e-300) u1 = 1e-300;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

    // Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1) U^(1/shape).
    double gamma(double shape) {
        if (!(shape > 0)) return 0;
        if (shape < 1) {
            double u = uniform();
            if (u < 1e-300) u = 1e-300;
            return gamma(shape + 1) * std::pow(u, 1 / shape);
        }
        double const d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
        for (;;) {
            double x, v;
            do {
                x = normal();
                v = 1 + c * x;
            } while (v <= 0);
            v = v * v * v;
            double const u = uniform();
            if (u < 1 - 0.0331 * x * x * x * x) return d * v;
            if (u > 0 && std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
        }
    }

    // Beta(a, b) from two gamma draws (mixup's mixing weight).
    double beta(double a, double b) {
        double const x = gamma(a), y = gamma(b);
        return x + y > 0 ? x / (x + y) : 0.5;
    }

    constexpr std::uint64_t state() const { return state_; }
    constexpr void set_state(std::uint64_t s) { state_ = s; }

private:
    std::uint64_t state_;
};

}  // namespace mien
// ---- end mien/core/random.hpp ----
// ---- begin mien/core/shape.hpp ----
// mien/core/shape.hpp -- tensor shapes as types.
//
// A shape<H, W, C> is an empty literal type whose extents are compile-time constants. Layers
// map their input shape to their output shape with it, and storage is sized from `size`.
// Data is laid out height-major, channels last (HWC): element (y, x, c) sits at
// (y * W + x) * C + c, so the channel loop is the contiguous, vectorised one.

#include <cstddef>
#include <type_traits>

namespace mien {

template <std::size_t H, std::size_t W, std::size_t C>
struct shape {
    static constexpr std::size_t height = H;
    static constexpr std::size_t width = W;
    static constexpr std::size_t channels = C;
    static constexpr std::size_t pixels = H * W;
    static constexpr std::size_t size = H * W * C;

    template <std::size_t H2, std::size_t W2, std::size_t C2>
    constexpr bool operator==(shape<H2, W2, C2>) const {
        return H == H2 && W == W2 && C == C2;
    }
};

// The input shape of a network: `input<48, 48, 1>` reads as "a 48x48 grayscale image".
template <std::size_t H, std::size_t W, std::size_t C>
using input = shape<H, W, C>;

// A flat vector (what dense layers produce) is a 1x1xN shape.
template <std::size_t N>
using flat = shape<1, 1, N>;

// Tokens for attention: N = H*W rows of width `channels`, plus the widths of the query and key
// projections that precede the values in each row: [ Q (query_width) | K (key_width) | V ].
// Only qk_projection produces this shape; the attention layers require it.
template <std::size_t H, std::size_t W, std::size_t Dq, std::size_t Dk, std::size_t Cv>
struct qkv_shape : shape<H, W, Dq + Dk + Cv> {
    static constexpr std::size_t query_width = Dq;
    static constexpr std::size_t key_width = Dk;
    static constexpr std::size_t value_width = Cv;
};

namespace detail {
template <class T>
struct is_shape : std::false_type {};
template <std::size_t H, std::size_t W, std::size_t C>
struct is_shape<shape<H, W, C>> : std::true_type {};
template <std::size_t H, std::size_t W, std::size_t Dq, std::size_t Dk, std::size_t Cv>
struct is_shape<qkv_shape<H, W, Dq, Dk, Cv>> : std::true_type {};

template <class T>
struct is_qkv_shape : std::false_type {};
template <std::size_t H, std::size_t W, std::size_t Dq, std::size_t Dk, std::size_t Cv>
struct is_qkv_shape<qkv_shape<H, W, Dq, Dk, Cv>> : std::true_type {};
}  // namespace detail

template <class T>
concept Shape = detail::is_shape<T>::value;

// The plain shape with the same extents (drops the attention split of a qkv_shape).
template <Shape S>
using plain_shape = shape<S::height, S::width, S::channels>;

// The paper's equation (1): output extent of a window of size K, stride S, padding P per side.
constexpr std::size_t conv_output_extent(std::size_t in, std::size_t k, std::size_t pad, std::size_t stride) {
    return (in + 2 * pad - k) / stride + 1;
}

}  // namespace mien
// ---- end mien/core/shape.hpp ----
// ---- begin mien/core/team.hpp ----
// mien/core/team.hpp -- what a layer sees of a thread team: "split [0, n) across your threads".
//
// A frame carries a team_base pointer (null: run on the calling thread). The threads themselves
// live in core/parallel.hpp's thread_team, which only the trainer includes: a network that
// predicts, or a firmware that has no threads, never pulls in <thread> or <mutex>. The work is
// handed over as a function pointer and a context pointer, so nothing is allocated per call.

#include <cstddef>

namespace mien {

class team_base {
public:
    using job_type = void (*)(void* context, std::size_t begin, std::size_t end, std::size_t thread);

    // Calls fn(begin, end, thread) on every thread with its slice of [0, count); returns when
    // all are done.
    template <class F>
    void run(std::size_t count, F& fn) {
        dispatch_(this, count, &call<F>, &fn);
    }

protected:
    using dispatch_type = void (*)(team_base* self, std::size_t count, job_type job, void* context);
    explicit team_base(dispatch_type d) : dispatch_(d) {}
    ~team_base() = default;

    template <class F>
    static void call(void* context, std::size_t b, std::size_t e, std::size_t t) {
        (*static_cast<F*>(context))(b, e, t);
    }

private:
    dispatch_type dispatch_;
};

}  // namespace mien
// ---- end mien/core/team.hpp ----

namespace mien {

// Everything a layer call needs, already offset to this layer's slice.
template <class T>
struct frame {
    T* params = nullptr;   // this layer's trainable parameters
    T* grads = nullptr;    // gradient accumulators for them (thread 0's copy)
    T* state = nullptr;    // non-trainable state
    T* saved = nullptr;    // this layer's saved activations, n * saved_per_sample values
    T* dsaved = nullptr;   // gradients with respect to them, same layout (training only)
    T* temp = nullptr;     // per-thread scratch: thread t owns temp + t * temp_stride
    std::size_t temp_stride = 0;
    std::size_t grad_stride = 0;  // thread t accumulates into grads + t * grad_stride
    std::size_t n = 1;            // samples in the batch
    bool training = false;
    team_base* team = nullptr;    // null: run on the calling thread
    random_generator* rng = nullptr;

    // The frame of a child whose slices start at these offsets (saved offsets are per sample).
    frame child(std::size_t param_offset, std::size_t state_offset, std::size_t saved_offset) const {
        frame f = *this;
        // Prediction's frames have no saved values (and a network without parameters or state
        // may have null arrays): a non-zero offset from a null pointer is undefined behaviour.
        if (params) f.params = params + param_offset;
        if (grads) f.grads = grads + param_offset;
        if (state) f.state = state + state_offset;
        if (saved) f.saved = saved + saved_offset * n;
        if (dsaved) f.dsaved = dsaved + saved_offset * n;
        return f;
    }

    T* temp_of(std::size_t thread) const { return temp + thread * temp_stride; }
    T* grads_of(std::size_t thread) const { return grads + thread * grad_stride; }

    // Runs fn(begin, end, thread) over the samples [0, n), split across the team.
    template <class F>
    void for_samples(F&& fn) const {
        if (team) team->run(n, fn);
        else fn(std::size_t{0}, n, std::size_t{0});
    }
};

// A named tensor of a layer, for the cost table, weights files and NumPy interchange.
struct tensor_info {
    std::string_view layer;      // layer type name, e.g. "conv2d"
    std::string_view name;       // "weight", "bias", "gamma", "running_mean", ...
    std::array<std::size_t, 4> dims{};
    std::size_t rank = 0;
    std::size_t offset = 0;      // into the parameter array, or the state array if !trainable
    bool trainable = true;
    // A non-trainable value that is a setting the user chooses (dropout's rate), not a
    // statistic learnt from data (batch norm's running mean): set_dropout_rate finds the rates
    // by this flag, and the cost table does not count them as statistics.
    bool rate = false;
    std::size_t layer_index = 0; // position of the layer in the network's cost table
    constexpr std::size_t size() const {
        std::size_t s = 1;
        for (std::size_t i = 0; i < rank; ++i) s *= dims[i];
        return s;
    }
};

namespace detail {
// A visitor for the Layer concept's check of visit().
struct layer_probe {
    template <class L>
    constexpr void operator()(std::size_t, std::size_t, std::size_t) const {}
};
}  // namespace detail

template <class L>
concept Layer = requires {
    typename L::input_shape;
    typename L::output_shape;
    typename L::scalar;
    { L::params } -> std::convertible_to<std::size_t>;
    { L::state_size } -> std::convertible_to<std::size_t>;
    { L::macs } -> std::convertible_to<std::size_t>;
    { L::saved_per_sample } -> std::convertible_to<std::size_t>;
    { L::temp_size } -> std::convertible_to<std::size_t>;
    { L::name } -> std::convertible_to<std::string_view>;
    L::settings.size();
} && requires(frame<typename L::scalar> const& f, typename L::scalar* p, typename L::scalar const* c,
              random_generator& rng, void (*on_tensor)(tensor_info), detail::layer_probe probe) {
    L::init(p, p, rng);
    L::forward(f, c, p);
    L::backward(f, c, c, c, p);
    L::for_each_tensor(on_tensor);
    L::template visit<L>(probe, std::size_t{0}, std::size_t{0}, std::size_t{0});
};

// The bound layer of spec S on input shape In with scalar type T.
template <class S, Shape In, class T>
using bind = typename S::template bind<In, T>;

// A leaf layer: no children. Gives the default for_each_layer (visit itself) and no settings.
struct leaf_layer {
    template <class Self, class F>
    static constexpr void visit(F&& f, std::size_t param_offset, std::size_t state_offset, std::size_t depth) {
        f.template operator()<Self>(param_offset, state_offset, depth);
    }
    static constexpr std::array<double, 0> settings{};
};

// A leaf without parameters, state, saved values or scratch (relu, pooling, identity): the
// boilerplate once. A layer that has some of them redeclares just those members.
template <Shape In, class T, Shape Out = plain_shape<In>>
struct parameterless_layer : leaf_layer {
    using input_shape = In;
    using output_shape = Out;
    using scalar = T;
    static constexpr std::size_t params = 0, state_size = 0, macs = 0, saved_per_sample = 0, temp_size = 0;
    static void init(T*, T*, random_generator&) {}
    template <class V>
    static constexpr void for_each_tensor(V&&) {}
};

// Calls f.template operator()<Leaf>(param_offset, state_offset, depth) for every leaf layer of
// L, in order, with offsets into the whole network's parameter and state arrays.
template <class L, class F>
constexpr void for_each_layer(F&& f, std::size_t param_offset = 0, std::size_t state_offset = 0, std::size_t depth = 0) {
    L::template visit<L>(f, param_offset, state_offset, depth);
}

// ---- prediction: scratch sizes, in-place layers, infer() -------------------------------------

namespace detail {
template <class L>
constexpr std::size_t infer_size_of() {
    if constexpr (requires { L::infer_size; }) return L::infer_size;
    else if constexpr (requires { L::forward_temp_size; }) return L::saved_per_sample + L::forward_temp_size;
    else return L::saved_per_sample + L::temp_size;
}
template <class L>
constexpr bool in_place_of() {
    if constexpr (requires { L::in_place; }) return L::in_place;
    else return false;
}
}  // namespace detail

namespace detail {
template <class L>
constexpr std::size_t rate_size_of() {
    if constexpr (requires { L::rate_size; }) return L::rate_size;
    else return 0;
}
}  // namespace detail

// State values of L that are settings (dropout's rate), not statistics: the layer's
// `rate_size` (0 when it declares none). Its tensor_info says so too (`rate`).
template <class L>
inline constexpr std::size_t rate_size = detail::rate_size_of<L>();

// Values of scratch a prediction through L needs besides its input and output.
template <class L>
inline constexpr std::size_t infer_size = detail::infer_size_of<L>();
// Whether L may predict with its output in the same buffer as its input.
template <class L>
inline constexpr bool in_place = detail::in_place_of<L>();

// Buffers inside an arena start on 64-byte boundaries (a cache line, an AVX-512 register) when
// the arena itself does: sizes are rounded up to this many values of T.
template <class T>
constexpr std::size_t arena_round(std::size_t values) {
    constexpr std::size_t step = 64 / sizeof(T) > 0 ? 64 / sizeof(T) : 1;
    return (values + step - 1) / step * step;
}

// One batch-1 inference pass through L: f holds the parameters and state (its saved, temp and
// team are ignored), `scratch` holds infer_size<L> values that nothing else uses meanwhile.
template <class L, class T>
void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
    if constexpr (requires { L::infer(f, x, y, scratch); }) {
        L::infer(f, x, y, scratch);
    } else {
        frame<T> g = f;
        g.saved = scratch;
        g.temp = scratch + L::saved_per_sample;
        g.temp_stride = 0;
        g.n = 1;
        g.training = false;
        g.team = nullptr;
        L::forward(g, x, y);
    }
}

namespace detail {
// Fills a tensor_info (helper for the layers' for_each_tensor).
constexpr tensor_info tensor(std::string_view layer, std::string_view name, std::size_t offset,
                             std::initializer_list<std::size_t> dims, bool trainable = true, bool rate = false) {
    tensor_info t;
    t.layer = layer;
    t.name = name;
    t.offset = offset;
    t.trainable = trainable;
    t.rate = rate;
    for (std::size_t d : dims) t.dims[t.rank++] = d;
    return t;
}
}  // namespace detail

}  // namespace mien
// ---- end mien/core/layer.hpp ----
// ---- begin mien/core/vector_ops.hpp ----
// mien/core/vector_ops.hpp -- element-wise loops over contiguous channels, vectorised.
//
// Each helper runs full SIMD registers with xsimd and finishes the tail (lengths that are not
// a multiple of the register width) with scalar code, so any channel count works.

#include <algorithm>
#include <cstddef>

// ---- begin mien/core/simd.hpp ----
// mien/core/simd.hpp -- the one place that decides how kernels vectorise.
//
// Kernels are written once against simd_batch<T> and the free functions fma and select below.
// Which type that is gets decided here, at compile time:
//  * xsimd's batch<T>, the widest register the compiler was told it may use, where xsimd has
//    the architecture: x86 (SSE2 ... AVX-512; -march=native gives AVX-512 on the reference
//    machine) and ARM NEON;
//  * scalar_batch<T>, a register of one lane written in plain C++, everywhere else (Cortex-M,
//    RISC-V, ...), or when MIEN_NO_SIMD is defined (the tests build the host that way too, to
//    check that both paths give the same probabilities). The scalar path includes nothing of
//    xsimd, whose headers need an architecture and an aligned allocator (posix_memalign) that
//    freestanding targets do not have.
// MIEN_SIMD is 1 on the xsimd path and 0 on the scalar one.

#include <cstddef>

#if !defined(MIEN_NO_SIMD) && (defined(__SSE2__) || defined(_M_X64) || defined(__ARM_NEON) || defined(__aarch64__))
#define MIEN_SIMD 1
#include <xsimd/xsimd.hpp>
#else
#define MIEN_SIMD 0
#endif

namespace mien::detail {

// One lane of T, with the subset of xsimd's batch interface the kernels use.
template <class T>
struct scalar_batch {
    using value_type = T;
    struct batch_bool_type {
        bool value = false;
        constexpr batch_bool_type() = default;
        constexpr batch_bool_type(bool v) : value(v) {}
        friend constexpr batch_bool_type operator&(batch_bool_type a, batch_bool_type b) { return a.value && b.value; }
        friend constexpr batch_bool_type operator|(batch_bool_type a, batch_bool_type b) { return a.value || b.value; }
        friend constexpr batch_bool_type operator~(batch_bool_type a) { return !a.value; }
    };
    static constexpr std::size_t size = 1;
    T value{};

    constexpr scalar_batch() = default;
    constexpr scalar_batch(T v) : value(v) {}
    static scalar_batch load_unaligned(T const* p) { return *p; }
    static scalar_batch load_aligned(T const* p) { return *p; }
    void store_unaligned(T* p) const { *p = value; }
    void store_aligned(T* p) const { *p = value; }

    friend constexpr scalar_batch operator+(scalar_batch a, scalar_batch b) { return a.value + b.value; }
    friend constexpr scalar_batch operator-(scalar_batch a, scalar_batch b) { return a.value - b.value; }
    friend constexpr scalar_batch operator*(scalar_batch a, scalar_batch b) { return a.value * b.value; }
    friend constexpr scalar_batch operator/(scalar_batch a, scalar_batch b) { return a.value / b.value; }
    friend constexpr scalar_batch operator-(scalar_batch a) { return -a.value; }
    constexpr scalar_batch& operator+=(scalar_batch b) { value += b.value; return *this; }
    constexpr scalar_batch& operator*=(scalar_batch b) { value *= b.value; return *this; }
    friend constexpr batch_bool_type operator>(scalar_batch a, scalar_batch b) { return a.value > b.value; }
    friend constexpr batch_bool_type operator<(scalar_batch a, scalar_batch b) { return a.value < b.value; }
    friend constexpr batch_bool_type operator==(scalar_batch a, scalar_batch b) { return a.value == b.value; }
};

template <class T>
constexpr scalar_batch<T> fma(scalar_batch<T> a, scalar_batch<T> b, scalar_batch<T> c) {
    // a * b + c in two roundings, as the scalar tails of the kernels compute it (a contracted
    // FMA where the compiler and target allow one).
    return a.value * b.value + c.value;
}
template <class T>
constexpr scalar_batch<T> select(typename scalar_batch<T>::batch_bool_type m, scalar_batch<T> a, scalar_batch<T> b) {
    return m.value ? a : b;
}

#if MIEN_SIMD
template <class T>
using simd_batch = xsimd::batch<T>;

template <class T, class A>
inline xsimd::batch<T, A> fma(xsimd::batch<T, A> a, xsimd::batch<T, A> b, xsimd::batch<T, A> c) {
    return xsimd::fma(a, b, c);
}
template <class T, class A>
inline xsimd::batch<T, A> select(xsimd::batch_bool<T, A> const& m, xsimd::batch<T, A> a, xsimd::batch<T, A> b) {
    return xsimd::select(m, a, b);
}
#else
template <class T>
using simd_batch = scalar_batch<T>;
#endif

template <class T>
constexpr std::size_t simd_width = simd_batch<T>::size;

}  // namespace mien::detail
// ---- end mien/core/simd.hpp ----

namespace mien::detail {

// acc[i] += a[i] * b[i]
template <class T>
inline void multiply_add(std::size_t n, T const* a, T const* b, T* acc) {
    using batch = simd_batch<T>;
    std::size_t i = 0;
    for (std::size_t const full = n - n % batch::size; i < full; i += batch::size) {
        auto r = detail::fma(batch::load_unaligned(a + i), batch::load_unaligned(b + i), batch::load_unaligned(acc + i));
        r.store_unaligned(acc + i);
    }
    for (; i < n; ++i) acc[i] += a[i] * b[i];
}

// acc[i] += a[i]
template <class T>
inline void add_to(std::size_t n, T const* a, T* acc) {
    using batch = simd_batch<T>;
    std::size_t i = 0;
    for (std::size_t const full = n - n % batch::size; i < full; i += batch::size)
        (batch::load_unaligned(acc + i) + batch::load_unaligned(a + i)).store_unaligned(acc + i);
    for (; i < n; ++i) acc[i] += a[i];
}

// out[i] = a[i] + b[i]
template <class T>
inline void add(std::size_t n, T const* a, T const* b, T* out) {
    using batch = simd_batch<T>;
    std::size_t i = 0;
    for (std::size_t const full = n - n % batch::size; i < full; i += batch::size)
        (batch::load_unaligned(a + i) + batch::load_unaligned(b + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = a[i] + b[i];
}

template <class T>
inline void copy(std::size_t n, T const* from, T* to) {
    std::copy_n(from, n, to);  // memmove for arithmetic types
}

template <class T>
inline void fill(std::size_t n, T value, T* to) {
    std::fill_n(to, n, value);
}

// Transposes a rows x cols row-major matrix (leading dimension ld) into cols x rows.
template <class T>
inline void transpose(std::size_t rows, std::size_t cols, T const* from, std::size_t ld, T* to) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) to[c * rows + r] = from[r * ld + c];
}

}  // namespace mien::detail
// ---- end mien/core/vector_ops.hpp ----
// ---- begin mien/core/sequential.hpp ----
// mien/core/sequential.hpp -- layers applied one after another.
//
// sequential<conv2d<32, 3>, batch_norm, relu, max_pool<2>> binds each spec to the output shape
// of the one before it, so shapes flow through at compile time. It is a layer itself: params,
// macs and state are the sums of its children; it saves every intermediate output (backward
// needs them) plus what its children save. Its frame is carved into the children's slices by
// compile-time offsets.
//
// Prediction does not keep what backward needs: infer() plans the children's outputs inside
// the scratch it is given, by liveness. Output i lives from child i (which writes it) to child
// i + 1 (which reads it), so at most two outputs are alive at once; they alternate between the
// low end of the scratch and the high end, and each child's own scratch sits between them. A
// child that works in place (relu, batch norm, dropout) keeps its input's buffer, and the last
// children write straight into the caller's y. The size is the largest (input + output +
// scratch) over the children: a compile-time constant.
//
// It lives in core/ because a network is one: basic_network binds its specs as a sequential.

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>


namespace mien {

namespace detail {

template <class... Ts>
struct type_list {};

// Binds Specs... in turn, each to the output shape of the previous one.
template <class S, class In, class T>
struct bind_lazy {
    using type = typename S::template bind<In, T>;
};
template <std::size_t I, Shape In, class T, class... Specs>
struct chain_at;

template <Shape In, class T, class... Specs>
struct chain {
    using layers = type_list<>;
    using output_shape = In;
};
// A spec binds: it has `template <Shape In, class T> using bind = ...`.
template <class S, class In, class T>
concept binds_to = requires { typename S::template bind<In, T>; };

// Where a layer's spec is checked: when it fails, g++ and clang name this template with the
// layer's position in its sequential (0-based) and the offending type.
template <std::size_t Index, class Spec, Shape In, class T>
struct sequential_child {
    static_assert(binds_to<Spec, In, T>,
                  "sequential: this layer is not a layer spec (no `template <Shape In, class T> using bind`); "
                  "its position and type are the first arguments of sequential_child<...>");
    // Stands in for the bad layer so that the static_assert above is the only error.
    struct not_a_layer : parameterless_layer<In, T> {
        static constexpr std::string_view name = "(not a layer)";
        static void forward(frame<T> const&, T const*, T*) {}
        static void backward(frame<T> const&, T const*, T const*, T const*, T*) {}
    };
    using type = typename std::conditional_t<binds_to<Spec, In, T>, bind_lazy<Spec, In, T>, std::type_identity<not_a_layer>>::type;
    static_assert(!binds_to<Spec, In, T> || Layer<type>,
                  "sequential: this layer's bound type is not a Layer (see the unsatisfied requirement below); "
                  "its position and type are the first arguments of sequential_child<...>");
};

template <Shape In, class T, class First, class... Rest>
struct chain<In, T, First, Rest...> : chain_at<0, In, T, First, Rest...> {};

template <std::size_t I, Shape In, class T, class... Specs>
struct chain_at {
    using layers = type_list<>;
    using output_shape = In;
};
template <std::size_t I, Shape In, class T, class First, class... Rest>
struct chain_at<I, In, T, First, Rest...> {
    using head = typename sequential_child<I, First, In, T>::type;
    using tail = chain_at<I + 1, typename head::output_shape, T, Rest...>;
    using output_shape = typename tail::output_shape;
    template <class... Ls>
    static type_list<head, Ls...> prepend(type_list<Ls...>);
    using layers = decltype(prepend(typename tail::layers{}));
};

template <std::size_t N>
constexpr std::array<std::size_t, N + 1> prefix_sums(std::array<std::size_t, N> v) {
    std::array<std::size_t, N + 1> out{};
    for (std::size_t i = 0; i < N; ++i) out[i + 1] = out[i] + v[i];
    return out;
}

}  // namespace detail

template <Shape In, class T, class Layers>
struct sequential_layer;

template <Shape In, class T, class... Ls>
struct sequential_layer<In, T, detail::type_list<Ls...>> {
    static_assert(sizeof...(Ls) > 0, "sequential: needs at least one layer");
    static constexpr std::size_t count = sizeof...(Ls);
    using input_shape = In;
    using layer_types = detail::type_list<Ls...>;
    template <std::size_t I>
    using layer = std::tuple_element_t<I, std::tuple<Ls...>>;
    using output_shape = typename layer<count - 1>::output_shape;
    using scalar = T;
    static constexpr std::string_view name = "sequential";
    static constexpr std::array<double, 0> settings{};

    static constexpr std::size_t params = (Ls::params + ...);
    static constexpr std::size_t state_size = (Ls::state_size + ...);
    static constexpr std::size_t macs = (Ls::macs + ...);
    static constexpr std::size_t temp_size = std::max({Ls::temp_size...});

    // Offsets of each child's parameters and state.
    static constexpr auto param_at = detail::prefix_sums(std::array<std::size_t, count>{Ls::params...});
    static constexpr auto state_at = detail::prefix_sums(std::array<std::size_t, count>{Ls::state_size...});
    // Saved layout per sample: [child 0 saved][output 0][child 1 saved][output 1]...[child N-1 saved]
    // (the last output is the caller's y).
    static constexpr std::array<std::size_t, count> saved_block{
        (Ls::saved_per_sample + Ls::output_shape::size)...};
    static constexpr auto saved_at = detail::prefix_sums(saved_block);
    static constexpr std::size_t saved_per_sample = saved_at[count] - layer<count - 1>::output_shape::size;

    static frame<T> child(frame<T> const& f, std::size_t i) { return f.child(param_at[i], state_at[i], saved_at[i]); }
    template <std::size_t I>
    static T* output_of(frame<T> const& f, T* y) {
        if constexpr (I + 1 == count) return y;
        else return f.saved + f.n * (saved_at[I] + layer<I>::saved_per_sample);
    }
    template <std::size_t I>
    static T* doutput_of(frame<T> const& f) {
        return f.dsaved + f.n * (saved_at[I] + layer<I>::saved_per_sample);
    }

    static void init(T* p, T* s, random_generator& rng) {
        std::size_t i = 0;
        ((Ls::init(p + param_at[i], s + state_at[i], rng), ++i), ...);
    }

    template <class Self, class F>
    static constexpr void visit(F&& f, std::size_t param_offset, std::size_t state_offset, std::size_t depth) {
        std::size_t i = 0;
        ((Ls::template visit<Ls>(f, param_offset + param_at[i], state_offset + state_at[i], depth + 1), ++i), ...);
    }

    template <class V>
    static constexpr void for_each_tensor(V&&) {}  // the children describe their own tensors

    static void forward(frame<T> const& f, T const* x, T* y) {
        forward_from<0>(f, x, y);
    }

    // ---- prediction in planned scratch (see the top of this file) ---------------------------

    enum class place : unsigned char { x, y, low, high };  // where an output lives
    struct plan_type {
        std::array<place, count> output{};        // of child i
        std::array<std::size_t, count> low{};      // values of the low buffer alive at child i
        std::array<std::size_t, count> rounded{};  // output sizes, rounded for alignment
        std::size_t size = 0;
    };
    static constexpr plan_type make_plan() {
        plan_type p;
        std::array<bool, count> const inplace{mien::in_place<Ls>...};
        std::array<std::size_t, count> const scratch{arena_round<T>(mien::infer_size<Ls>)...};
        p.rounded = {arena_round<T>(Ls::output_shape::size)...};
        // The trailing run of in-place children works on y, so the child before it writes y.
        std::size_t tail = count;
        while (tail > 0 && inplace[tail - 1]) --tail;
        std::size_t const first_y = tail == 0 ? 0 : tail - 1;
        place prev = place::x;
        for (std::size_t i = 0; i < count; ++i) {
            place out;
            if (i >= first_y) out = place::y;
            else if (inplace[i] && (prev == place::low || prev == place::high)) out = prev;
            else out = prev == place::low ? place::high : place::low;
            std::size_t low = 0, high = 0;
            if (prev == place::low) low = p.rounded[i - 1];
            if (prev == place::high) high = p.rounded[i - 1];
            if (out == place::low && p.rounded[i] > low) low = p.rounded[i];
            if (out == place::high && p.rounded[i] > high) high = p.rounded[i];
            p.output[i] = out;
            p.low[i] = low;
            if (low + high + scratch[i] > p.size) p.size = low + high + scratch[i];
            prev = out;
        }
        return p;
    }
    static constexpr plan_type plan = make_plan();
    static constexpr std::size_t infer_size = plan.size;
    static constexpr bool in_place = (mien::in_place<Ls> && ...);

    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) { infer_from<0>(f, x, y, scratch); }

    static void backward(frame<T> const& f, T const* x, T const* y, T const* dy, T* dx) {
        backward_from<count - 1>(f, x, y, dy, dx);
    }

private:
    // The buffer of child I's output inside the scratch (or y).
    template <std::size_t I>
    static T* infer_output(T* y, T* scratch) {
        switch (plan.output[I]) {
            case place::y: return y;
            case place::low: return scratch;
            case place::high: return scratch + plan.size - plan.rounded[I];
            default: return nullptr;  // never: an output is never placed in x
        }
    }

    template <std::size_t I>
    static void infer_from(frame<T> const& f, T const* in, T* y, T* scratch) {
        T* out = infer_output<I>(y, scratch);
        mien::infer<layer<I>>(child(f, I), in, out, scratch + plan.low[I]);
        if constexpr (I + 1 < count) infer_from<I + 1>(f, out, y, scratch);
    }

    template <std::size_t I>
    static void forward_from(frame<T> const& f, T const* in, T* y) {
        T* out = output_of<I>(f, y);
        layer<I>::forward(child(f, I), in, out);
        if constexpr (I + 1 < count) forward_from<I + 1>(f, out, y);
    }

    template <std::size_t I>
    static void backward_from(frame<T> const& f, T const* x, T const* y, T const* dout, T* dx) {
        T const* in = x;
        if constexpr (I > 0) in = output_of<I - 1>(f, nullptr);
        T const* out = I + 1 == count ? y : output_of<I>(f, nullptr);
        if constexpr (I > 0) {
            T* din = doutput_of<I - 1>(f);
            layer<I>::backward(child(f, I), in, out, dout, din);
            backward_from<I - 1>(f, x, y, din, dx);
        } else {
            layer<I>::backward(child(f, I), in, out, dout, dx);
        }
    }
};

// sequential<Specs...>: a spec, like any layer.
template <class... Specs>
struct sequential {
    template <Shape In, class T>
    using bind = sequential_layer<In, T, typename detail::chain<In, T, Specs...>::layers>;
};

}  // namespace mien
// ---- end mien/core/sequential.hpp ----

namespace mien {

template <Shape In, class T, class... Bs>
struct concat_layer {
    static_assert(sizeof...(Bs) > 0, "concat: needs at least one branch");
    static_assert((Layer<Bs> && ...), "concat: a branch is not a Layer (see the unsatisfied requirement below)");
    static constexpr std::size_t count = sizeof...(Bs);
    template <std::size_t I>
    using branch = std::tuple_element_t<I, std::tuple<Bs...>>;
    using first = typename branch<0>::output_shape;
    static_assert(((Bs::output_shape::height == first::height) && ...), "concat: branch output heights differ");
    static_assert(((Bs::output_shape::width == first::width) && ...), "concat: branch output widths differ");

    static constexpr std::size_t channels = (Bs::output_shape::channels + ...);
    using input_shape = In;
    using output_shape = shape<first::height, first::width, channels>;
    using scalar = T;
    static constexpr std::string_view name = "concat";
    static constexpr std::array<double, 0> settings{};
    static constexpr std::size_t params = (Bs::params + ...);
    static constexpr std::size_t state_size = (Bs::state_size + ...);
    static constexpr std::size_t macs = (Bs::macs + ...);
    static constexpr std::size_t temp_size = std::max({Bs::temp_size...});
    static constexpr auto param_at = detail::prefix_sums(std::array<std::size_t, count>{Bs::params...});
    static constexpr auto state_at = detail::prefix_sums(std::array<std::size_t, count>{Bs::state_size...});
    static constexpr auto channel_at = detail::prefix_sums(std::array<std::size_t, count>{Bs::output_shape::channels...});
    // Saved per sample, per branch: [branch saved][branch output][its input gradient]
    static constexpr auto saved_at = detail::prefix_sums(
        std::array<std::size_t, count>{(Bs::saved_per_sample + Bs::output_shape::size + In::size)...});
    static constexpr std::size_t saved_per_sample = saved_at[count];

    static frame<T> child(frame<T> const& f, std::size_t i) { return f.child(param_at[i], state_at[i], saved_at[i]); }
    template <std::size_t I>
    static T* out_of(frame<T> const& f) { return f.saved + f.n * (saved_at[I] + branch<I>::saved_per_sample); }
    template <std::size_t I>
    static T* dout_of(frame<T> const& f) { return f.dsaved + f.n * (saved_at[I] + branch<I>::saved_per_sample); }
    template <std::size_t I>
    static T* din_of(frame<T> const& f) {
        return f.dsaved + f.n * (saved_at[I] + branch<I>::saved_per_sample + branch<I>::output_shape::size);
    }

    static void init(T* p, T* s, random_generator& rng) {
        std::size_t i = 0;
        ((Bs::init(p + param_at[i], s + state_at[i], rng), ++i), ...);
    }

    template <class Self, class F>
    static constexpr void visit(F&& f, std::size_t param_offset, std::size_t state_offset, std::size_t depth) {
        std::size_t i = 0;
        ((Bs::template visit<Bs>(f, param_offset + param_at[i], state_offset + state_at[i], depth + 1), ++i), ...);
    }
    template <class V>
    static constexpr void for_each_tensor(V&&) {}

    static void forward(frame<T> const& f, T const* x, T* y) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((branch<I>::forward(child(f, I), x, out_of<I>(f)), interleave<I>(f.n, out_of<I>(f), y)), ...);
        }(std::make_index_sequence<count>{});
    }

    // Prediction: one branch at a time, its output at the front of the scratch and its own
    // scratch behind it, then its channels go to their place in y.
    static constexpr std::size_t infer_size =
        std::max({(arena_round<T>(Bs::output_shape::size) + mien::infer_size<Bs>)...});
    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((mien::infer<branch<I>>(child(f, I), x, scratch, scratch + arena_round<T>(branch<I>::output_shape::size)),
              interleave<I>(1, scratch, y)),
             ...);
        }(std::make_index_sequence<count>{});
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        if (dx) detail::fill(f.n * In::size, T(0), dx);
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (backward_branch<I>(f, x, dy, dx), ...);
        }(std::make_index_sequence<count>{});
    }

private:
    // Copies branch I's channels into their place in every output pixel.
    template <std::size_t I>
    static void interleave(std::size_t n, T const* src, T* y) {
        constexpr std::size_t c = branch<I>::output_shape::channels;
        for (std::size_t p = 0; p < n * first::pixels; ++p) detail::copy(c, src + p * c, y + p * channels + channel_at[I]);
    }

    template <std::size_t I>
    static void backward_branch(frame<T> const& f, T const* x, T const* dy, T* dx) {
        constexpr std::size_t c = branch<I>::output_shape::channels;
        T* dout = dout_of<I>(f);
        for (std::size_t p = 0; p < f.n * first::pixels; ++p) detail::copy(c, dy + p * channels + channel_at[I], dout + p * c);
        T* din = dx ? din_of<I>(f) : nullptr;
        branch<I>::backward(child(f, I), x, out_of<I>(f), dout, din);
        if (dx) detail::add_to(f.n * In::size, din, dx);
    }
};

// concat<Branches...>
template <class... Branches>
struct concat {
    template <Shape In, class T>
    using bind = concat_layer<In, T, mien::bind<Branches, In, T>...>;
};

}  // namespace mien
// ---- end mien/blocks/concat.hpp ----
// ---- begin mien/blocks/conv_block.hpp ----
// mien/blocks/conv_block.hpp -- convolution -> batch norm -> ReLU -> 2x2 max-pool, predicted
// two rows at a time.
//
// conv_block<F, K> is sequential<conv2d<F, K, same>, batch_norm, relu, max_pool<2>> (the
// paper's normal block): the same layers, parameters, costs, training and weights files. Only
// prediction differs: the full-resolution convolution output never exists whole. For each
// pooled output row it borders the K + 1 input rows it needs, convolves them into two rows of
// F channels, normalises them in place, applies the ReLU in place and pools them into the
// output row. The layers doing it are the block's own, bound to those row shapes, so every
// value is computed by the same code in the same order as the unfused pass (the tests compare
// bit for bit). For the paper's first block this is 13.5 KB of scratch instead of 300 KB
// (the 48x48x32 map and its bordered input), and the arena's peak moves elsewhere.

#include <cstddef>

// ---- begin mien/layers/batch_norm.hpp ----
// mien/layers/batch_norm.hpp -- batch normalisation over the channel axis.
//
//   training:  y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta   (statistics of the batch,
//              over samples and pixels), and running_* <- (1 - m) running_* + m * batch_*
//   inference: the same with the running statistics.
// Shape unchanged. Parameters gamma, beta [C]; state running_mean, running_var [C].
// eps = 1e-5, momentum m = 0.1 and an unbiased running variance: PyTorch's conventions, so
// weights move between the two without conversion. macs = 0: at inference BN folds into the
// preceding convolution's weights (the cost model counts it there).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>


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
// ---- end mien/layers/batch_norm.hpp ----
// ---- begin mien/layers/conv2d.hpp ----
// mien/layers/conv2d.hpp -- normal 2-D convolution, and pointwise (1x1) convolution.
//
//   y[oy][ox][co] = b[co] + sum_{ky,kx,ci} x[oy*S + ky - P][ox*S + kx - P][ci] * w[ky][kx][ci][co]
//
// Shapes: HxWxCin -> OHxOWxF with OH = (H - K + 2P) / S + 1 (the paper's equation 1);
// P = (K - 1) / 2 for `same`, 0 for `valid`. Weights are stored [K][K][Cin][F] (as Keras/TF).
// macs = OH * OW * K * K * Cin * F: every tap counts, padded ones included.
// Template parameters: Filters, Kernel, padding, Stride, Bias (false: no bias vector).
//
// Stride 1 (the paper's convolutions) runs without a patch matrix: the input is copied into a
// zero-bordered (H+2P)x(W+2P)xCin buffer, and for each output row one gemm_strided call reads
// the patch row of pixel (oy, ox) straight from it: for kernel row ky, the K*Cin values from
// (oy+ky, ox) on are contiguous (detail::gemm_loop: K runs, Wp*Cin apart). Backward:
// dW[ky] += (the same rows)^T dY, one call per ky; dx is the same correlation applied to dY
// (bordered with K-1-P zeros) and the weights flipped in space, [K-1-ky][K-1-kx][F][Cin].
// Other strides use im2col + gemm per sample: the patch matrix (OH*OW x K*K*Cin) times the
// weights (K*K*Cin x F); backward dW += col^T dY, dcol = dY W^T, col2im scatters dcol into dx.

#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>

// ---- begin mien/core/gemm.hpp ----
// mien/core/gemm.hpp -- the matrix product every heavy layer reduces to.
//
//   C[i][j] (+)= sum_k A(i, k) * B[k][j]      i < M, j < N, k < K
//
// A is read through two strides (A(i, k) = A[i * a_row + k * a_col]) so A or A^T can be used
// without copying; B and C are row-major with leading dimensions ldb and ldc. Convolutions,
// pointwise and dense layers, and the attention products all call this.
//
// gemm_reference is the plain triple loop the tests compare against; gemm is the
// register-blocked xsimd kernel: MR rows of C by NV SIMD registers of columns stay in registers
// while k runs, so each loaded B vector feeds MR fused multiply-adds and each broadcast A value
// feeds NV. With 32 registers (AVX-512) the blocks are 6x4, 8x3, 12x2 and 8x1 registers: 24
// accumulators plus the B vectors and one broadcast. Columns left over (fewer than one
// register) fall back to scalar code.
//
// detail::gemm_strided runs k in `segments` runs of `len` steps, each run starting at its own
// offset into A and B. That is what a convolution is without im2col: the patch row of output
// pixel i, for kernel row ky, is K * Cin contiguous values of the (padded) input, and the rows
// ky are Wp * Cin apart (see layers/conv2d.hpp).

#include <cstddef>


namespace mien {

struct gemm_args {
    std::size_t a_row, a_col;  // strides of A
    std::size_t ldb, ldc;      // leading dimensions of B and C
};

template <class T>
void gemm_reference(std::size_t M, std::size_t N, std::size_t K, T const* A, T const* B, T* C, gemm_args s,
                    bool accumulate) {
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            T sum = accumulate ? C[i * s.ldc + j] : T(0);
            for (std::size_t k = 0; k < K; ++k) sum += A[i * s.a_row + k * s.a_col] * B[k * s.ldb + j];
            C[i * s.ldc + j] = sum;
        }
}

namespace detail {

// The register block's loops over rows and registers must be unrolled for the accumulators to
// stay in registers; -O2/-O3 do that by themselves, -Os (usual in firmware) does not, and then
// every multiply-add loads and stores its accumulator (5x the instructions on a Cortex-M7).
#if defined(__GNUC__)
#define MIEN_UNROLL _Pragma("GCC unroll 16")
#else
#define MIEN_UNROLL
#endif

// How k runs: `segments` runs of `len` steps. Step k of run s reads A(i) at
// A[i * a_row + s * a_seg + k * a_col] and B at B[s * b_seg + k * ldb].
struct gemm_loop {
    std::size_t segments, len, a_seg, b_seg;
};

// One MR x (NV * width) block of C, all of k.
template <std::size_t MR, std::size_t NV, class T>
inline void gemm_block(gemm_loop L, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    using batch = simd_batch<T>;
    constexpr std::size_t V = batch::size;
    batch acc[MR][NV];
    if (accumulate) {
        MIEN_UNROLL for (std::size_t r = 0; r < MR; ++r)
            MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[r][v] = batch::load_unaligned(C + r * s.ldc + v * V);
    } else {
        MIEN_UNROLL for (std::size_t r = 0; r < MR; ++r)
            MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[r][v] = batch(T(0));
    }
    for (std::size_t seg = 0; seg < L.segments; ++seg) {
        T const* a = A + seg * L.a_seg;
        T const* b = B + seg * L.b_seg;
        for (std::size_t k = 0; k < L.len; ++k, a += s.a_col, b += s.ldb) {
            batch bv[NV];
            MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) bv[v] = batch::load_unaligned(b + v * V);
            MIEN_UNROLL for (std::size_t r = 0; r < MR; ++r) {
                batch const av(a[r * s.a_row]);
                MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[r][v] = detail::fma(av, bv[v], acc[r][v]);
            }
        }
    }
    MIEN_UNROLL for (std::size_t r = 0; r < MR; ++r)
        MIEN_UNROLL for (std::size_t v = 0; v < NV; ++v) acc[r][v].store_unaligned(C + r * s.ldc + v * V);
}

// Rows [0, R) of a panel in blocks of fewer than MR rows (R < MR), one template per count.
template <std::size_t MR, std::size_t NV, class T>
inline void gemm_rows_tail(std::size_t R, gemm_loop L, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    if constexpr (MR > 1) {
        if (R == MR - 1) return gemm_block<MR - 1, NV>(L, A, B, C, s, accumulate);
        gemm_rows_tail<MR - 1, NV>(R, L, A, B, C, s, accumulate);
    }
}

// All rows for one column panel of NV registers, MR rows at a time, then the leftover rows.
template <std::size_t MR, std::size_t NV, class T>
inline void gemm_panel(std::size_t M, gemm_loop L, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    std::size_t i = 0;
    for (; i + MR <= M; i += MR) gemm_block<MR, NV>(L, A + i * s.a_row, B, C + i * s.ldc, s, accumulate);
    if (i < M) gemm_rows_tail<MR, NV>(M - i, L, A + i * s.a_row, B, C + i * s.ldc, s, accumulate);
}

// Scalar columns [0, N) (fewer than one register), with the same k loop.
template <class T>
inline void gemm_scalar(std::size_t M, std::size_t N, gemm_loop L, T const* A, T const* B, T* C, gemm_args s,
                        bool accumulate) {
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < N; ++j) {
            T sum = accumulate ? C[i * s.ldc + j] : T(0);
            for (std::size_t seg = 0; seg < L.segments; ++seg)
                for (std::size_t k = 0; k < L.len; ++k)
                    sum += A[i * s.a_row + seg * L.a_seg + k * s.a_col] * B[seg * L.b_seg + k * s.ldb + j];
            C[i * s.ldc + j] = sum;
        }
}

// C (+)= the product with k run as described by L (see gemm_loop).
template <class T>
void gemm_strided(std::size_t M, std::size_t N, gemm_loop L, T const* A, T const* B, T* C, gemm_args s,
                  bool accumulate) {
    constexpr std::size_t V = simd_width<T>;
    constexpr bool wide = simd_batch<T>::size * sizeof(T) >= 64;  // 32 registers: AVX-512
    std::size_t j = 0;
    // With the scalar batch (V = 1, a target without SIMD) the same blocking keeps 3x4 (4x3,
    // 6x2, 8x1) accumulators in floating-point registers: a Cortex-M7 has 32 of them.
    for (; j + 4 * V <= N; j += 4 * V) gemm_panel<wide ? 6 : 3, 4>(M, L, A, B + j, C + j, s, accumulate);
    if (j + 3 * V <= N) {
        gemm_panel<wide ? 8 : 4, 3>(M, L, A, B + j, C + j, s, accumulate);
        j += 3 * V;
    } else if (j + 2 * V <= N) {
        gemm_panel<wide ? 12 : 6, 2>(M, L, A, B + j, C + j, s, accumulate);
        j += 2 * V;
    } else if (j + V <= N) {
        gemm_panel<8, 1>(M, L, A, B + j, C + j, s, accumulate);
        j += V;
    }
    if (j < N) gemm_scalar(M, N - j, L, A, B + j, C + j, s, accumulate);
}

}  // namespace detail

template <class T>
void gemm(std::size_t M, std::size_t N, std::size_t K, T const* A, T const* B, T* C, gemm_args s, bool accumulate) {
    detail::gemm_strided(M, N, detail::gemm_loop{1, K, 0, 0}, A, B, C, s, accumulate);
}

}  // namespace mien
// ---- end mien/core/gemm.hpp ----

namespace mien {

enum class padding { same, valid };
inline constexpr padding same = padding::same;
inline constexpr padding valid = padding::valid;
inline constexpr bool with_bias = true;

namespace detail {
struct conv2d_name { static constexpr std::string_view value = "conv2d"; };
struct pointwise_name { static constexpr std::string_view value = "pointwise"; };

// He-uniform initialisation: keeps the activation variance steady through ReLU layers.
template <class T>
inline void he_uniform(T* w, std::size_t count, std::size_t fan_in, random_generator& rng) {
    double const limit = std::sqrt(6.0 / static_cast<double>(fan_in));
    for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(rng.uniform(-limit, limit));
}

// dst ((Hs+2B) x (Ws+2B) x C) = src (Hs x Ws x C) with a border of B zeros: the input of a
// convolution without bounds checks.
template <std::size_t Hs, std::size_t Ws, std::size_t C, std::size_t B, class T>
inline void border(T const* src, T* dst) {
    constexpr std::size_t Wd = Ws + 2 * B;
    fill(B * Wd * C, T(0), dst);
    for (std::size_t r = 0; r < Hs; ++r) {
        T* row = dst + (r + B) * Wd * C;
        fill(B * C, T(0), row);
        copy(Ws * C, src + r * Ws * C, row + B * C);
        fill(B * C, T(0), row + (B + Ws) * C);
    }
    fill(B * Wd * C, T(0), dst + (Hs + B) * Wd * C);
}
}  // namespace detail

template <Shape In, class T, std::size_t F, std::size_t K, padding Pad, std::size_t S, bool Bias, class Name>
struct conv2d_layer : leaf_layer {
    static_assert(F > 0, "conv2d: the number of filters must be at least 1");
    static_assert(K > 0, "conv2d: the kernel size must be at least 1");
    static_assert(S > 0, "conv2d: the stride must be at least 1");
    static_assert(Pad == padding::valid || K % 2 == 1, "conv2d: same padding needs an odd kernel size");
    static constexpr std::size_t pad = Pad == padding::same ? (K - 1) / 2 : 0;
    static_assert(K <= In::height + 2 * pad, "conv2d: kernel taller than the padded input");
    static_assert(K <= In::width + 2 * pad, "conv2d: kernel wider than the padded input");

    using input_shape = In;
    using output_shape = shape<conv_output_extent(In::height, K, pad, S), conv_output_extent(In::width, K, pad, S), F>;
    using scalar = T;
    static constexpr std::string_view name = Name::value;

    static constexpr std::size_t Cin = In::channels;
    static constexpr std::size_t patch = K * K * Cin;           // one row of the patch matrix
    static constexpr std::size_t P = output_shape::pixels;      // rows of the patch matrix
    static constexpr bool direct = K == 1 && S == 1 && pad == 0;  // x is already the patch matrix
    static constexpr bool implicit = !direct && S == 1;              // no patch matrix (see above)
    static constexpr std::size_t weights = patch * F;
    static constexpr std::size_t params = weights + (Bias ? F : 0);
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = P * patch * F;
    static constexpr std::size_t saved_per_sample = 0;
    // Implicit path: the bordered input, the bordered dY (Hq x Wq x F) and the flipped weights.
    static constexpr std::size_t Hp = In::height + 2 * pad, Wp = In::width + 2 * pad;
    static constexpr std::size_t dpad = K - 1 - pad;
    static constexpr std::size_t Hq = output_shape::height + 2 * dpad, Wq = output_shape::width + 2 * dpad;
    static constexpr std::size_t temp_size =
        direct ? weights : implicit ? (pad ? Hp * Wp * Cin : 0) + Hq * Wq * F + weights : 2 * P * patch + weights;
    // Forward needs only the first part: the bordered input, or the patch matrix.
    static constexpr std::size_t forward_temp_size = direct ? 0 : implicit ? (pad ? Hp * Wp * Cin : 0) : P * patch;
    static constexpr std::array<double, 5> settings{double(F), double(K), double(pad), double(S), double(Bias)};

    static void init(T* p, T*, random_generator& rng) {
        detail::he_uniform(p, weights, patch, rng);
        if constexpr (Bias) detail::fill<T>(F, T(0), p + weights);
    }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "weight", 0, {K, K, Cin, F}));
        if constexpr (Bias) v(detail::tensor(name, "bias", weights, {F}));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        if constexpr (implicit) return forward_implicit(f, x, y);
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* col = f.temp_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T* ys = y + s * output_shape::size;
                T const* a = xs;
                if constexpr (!direct) {
                    im2col(xs, col);
                    a = col;
                }
                if constexpr (Bias)
                    for (std::size_t p = 0; p < P; ++p) detail::copy(F, f.params + weights, ys + p * F);
                gemm<T>(P, F, patch, a, f.params, ys, {patch, 1, F, F}, Bias);
            }
        };
        f.for_samples(work);
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        if constexpr (implicit) return backward_implicit(f, x, dy, dx);
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* col = f.temp_of(t);
            T* dcol = direct ? nullptr : col + P * patch;
            T* wt = direct ? col : dcol + P * patch;  // W^T, F x patch
            T* g = f.grads_of(t);
            if (dx) detail::transpose(patch, F, f.params, F, wt);
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T const* dys = dy + s * output_shape::size;
                T const* a = xs;
                if constexpr (!direct) {
                    im2col(xs, col);
                    a = col;
                }
                gemm<T>(patch, F, P, a, dys, g, {1, patch, F, F}, true);  // dW += col^T dY
                if constexpr (Bias)
                    for (std::size_t p = 0; p < P; ++p) detail::add_to(F, dys + p * F, g + weights);
                if (!dx) continue;
                T* dxs = dx + s * In::size;
                if constexpr (direct) {
                    gemm<T>(P, Cin, F, dys, wt, dxs, {F, 1, Cin, Cin}, false);
                } else {
                    gemm<T>(P, patch, F, dys, wt, dcol, {F, 1, patch, patch}, false);
                    col2im(dcol, dxs);
                }
            }
        };
        f.for_samples(work);
    }

    // ---- stride 1 without a patch matrix -----------------------------------------------------

    // y (OH x OW x Co) (+)= the correlation of xp (a bordered map Wx pixels wide, Ci channels)
    // with w [K][K][Ci][Co]: per output row, k runs over ky (K runs) x (kx, ci) (K*Ci contiguous).
    template <std::size_t OH, std::size_t OW, std::size_t Wx, std::size_t Ci, std::size_t Co>
    static void correlate(T const* xp, T const* w, T* y, bool accumulate) {
        detail::gemm_loop const loop{K, K * Ci, Wx * Ci, K * Ci * Co};
        for (std::size_t oy = 0; oy < OH; ++oy)
            detail::gemm_strided<T>(OW, Co, loop, xp + oy * Wx * Ci, w, y + oy * OW * Co, {Ci, 1, Co, Co}, accumulate);
    }

    // The bordered input of one sample (x itself when there is no padding).
    static T const* bordered_input(T const* xs, T* buffer) {
        if constexpr (pad == 0) return xs;
        detail::border<In::height, In::width, Cin, pad>(xs, buffer);
        return buffer;
    }

    static void forward_implicit(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* xp = f.temp_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                T* ys = y + s * output_shape::size;
                if constexpr (Bias)
                    for (std::size_t p = 0; p < P; ++p) detail::copy(F, f.params + weights, ys + p * F);
                correlate<output_shape::height, output_shape::width, Wp, Cin, F>(bordered_input(x + s * In::size, xp),
                                                                                f.params, ys, Bias);
            }
        };
        f.for_samples(work);
    }

    static void backward_implicit(frame<T> const& f, T const* x, T const* dy, T* dx) {
        constexpr std::size_t OH = output_shape::height, OW = output_shape::width;
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* xp = f.temp_of(t);
            T* dyq = xp + (pad ? Hp * Wp * Cin : 0);  // dY with a border of K-1-P zeros
            T* wf = dyq + Hq * Wq * F;                 // flipped weights [K-1-ky][K-1-kx][F][Cin]
            T* g = f.grads_of(t);
            if (dx)
                for (std::size_t tap = 0; tap < K * K; ++tap)
                    detail::transpose(Cin, F, f.params + (K * K - 1 - tap) * Cin * F, F, wf + tap * F * Cin);
            // dW[ky] (rows kx, ci) += sum over output pixels of xp[oy+ky][ox+kx][ci] * dY[oy][ox]
            detail::gemm_loop const rows{OH, OW, Wp * Cin, OW * F};
            for (std::size_t s = begin; s < end; ++s) {
                T const* xps = bordered_input(x + s * In::size, xp);
                T const* dys = dy + s * output_shape::size;
                for (std::size_t ky = 0; ky < K; ++ky)
                    detail::gemm_strided<T>(K * Cin, F, rows, xps + ky * Wp * Cin, dys, g + ky * K * Cin * F,
                                            {1, Cin, F, F}, true);
                if constexpr (Bias)
                    for (std::size_t p = 0; p < P; ++p) detail::add_to(F, dys + p * F, g + weights);
                if (!dx) continue;
                detail::border<OH, OW, F, dpad>(dys, dyq);
                correlate<In::height, In::width, Wq, F, Cin>(dyq, wf, dx + s * In::size, false);
            }
        };
        f.for_samples(work);
    }

    // ---- other strides: im2col + gemm ------------------------------------------------------

    // Patch matrix of one sample: row (oy, ox), column (ky, kx, ci); zeros where padded.
    static void im2col(T const* x, T* col) {
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                T* row = col + (oy * output_shape::width + ox) * patch;
                for (std::size_t ky = 0; ky < K; ++ky) {
                    std::ptrdiff_t const iy = std::ptrdiff_t(oy * S + ky) - std::ptrdiff_t(pad);
                    for (std::size_t kx = 0; kx < K; ++kx) {
                        std::ptrdiff_t const ix = std::ptrdiff_t(ox * S + kx) - std::ptrdiff_t(pad);
                        T* dst = row + (ky * K + kx) * Cin;
                        if (iy < 0 || ix < 0 || iy >= std::ptrdiff_t(In::height) || ix >= std::ptrdiff_t(In::width))
                            detail::fill(Cin, T(0), dst);
                        else
                            detail::copy(Cin, x + (std::size_t(iy) * In::width + std::size_t(ix)) * Cin, dst);
                    }
                }
            }
    }

    // The adjoint of im2col: adds every patch entry back onto the input pixel it came from.
    static void col2im(T const* col, T* dx) {
        detail::fill(In::size, T(0), dx);
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                T const* row = col + (oy * output_shape::width + ox) * patch;
                for (std::size_t ky = 0; ky < K; ++ky) {
                    std::ptrdiff_t const iy = std::ptrdiff_t(oy * S + ky) - std::ptrdiff_t(pad);
                    if (iy < 0 || iy >= std::ptrdiff_t(In::height)) continue;
                    for (std::size_t kx = 0; kx < K; ++kx) {
                        std::ptrdiff_t const ix = std::ptrdiff_t(ox * S + kx) - std::ptrdiff_t(pad);
                        if (ix < 0 || ix >= std::ptrdiff_t(In::width)) continue;
                        detail::add_to(Cin, row + (ky * K + kx) * Cin,
                                       dx + (std::size_t(iy) * In::width + std::size_t(ix)) * Cin);
                    }
                }
            }
    }
};

// conv2d<Filters, Kernel, padding = same, Stride = 1, Bias = false>
template <std::size_t Filters, std::size_t Kernel, padding Pad = same, std::size_t Stride = 1, bool Bias = false>
struct conv2d {
    template <Shape In, class T>
    using bind = conv2d_layer<In, T, Filters, Kernel, Pad, Stride, Bias, detail::conv2d_name>;
};

// pointwise<Filters>: a 1x1 convolution, the second half of a separable convolution.
template <std::size_t Filters, bool Bias = false>
struct pointwise {
    template <Shape In, class T>
    using bind = conv2d_layer<In, T, Filters, 1, valid, 1, Bias, detail::pointwise_name>;
};

}  // namespace mien
// ---- end mien/layers/conv2d.hpp ----
// ---- begin mien/layers/max_pool.hpp ----
// mien/layers/max_pool.hpp -- the largest value of each PxP window, per channel.
//
// Shapes: HxWxC -> OHxOWxC with OH = (H - P) / S + 1 (valid windows; S defaults to P).
// No parameters; macs = 0. Backward routes dy to the first position in each window that holds
// the maximum, found again by comparison with the saved output (nothing extra is stored).

#include <array>
#include <cstddef>
#include <string_view>


namespace mien {

template <Shape In, class T, std::size_t P, std::size_t S>
struct max_pool_layer
    : parameterless_layer<In, T, shape<conv_output_extent(In::height, P, 0, S), conv_output_extent(In::width, P, 0, S), In::channels>> {
    static_assert(P > 0, "max_pool: the window must be at least 1");
    static_assert(S > 0, "max_pool: the stride must be at least 1");
    static_assert(P <= In::height, "max_pool: window taller than the input");
    static_assert(P <= In::width, "max_pool: window wider than the input");
    static constexpr std::size_t C = In::channels;
    using output_shape = typename max_pool_layer::output_shape;
    static constexpr std::string_view name = "max_pool";
    static constexpr std::array<double, 2> settings{double(P), double(S)};  // window, stride

    static std::size_t at(std::size_t y, std::size_t x) { return (y * In::width + x) * C; }

    // Samples are independent: each thread pools its own slice of the batch.
    static void forward(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t s = begin; s < end; ++s) forward_one(x + s * In::size, y + s * output_shape::size);
        };
        f.for_samples(work);
    }

    static void backward(frame<T> const& f, T const* x, T const* y, T const* dy, T* dx) {
        if (!dx) return;
        auto work = [&](std::size_t begin, std::size_t end, std::size_t) {
            for (std::size_t s = begin; s < end; ++s)
                backward_one(x + s * In::size, y + s * output_shape::size, dy + s * output_shape::size, dx + s * In::size);
        };
        f.for_samples(work);
    }

private:
    using batch = detail::simd_batch<T>;
    static constexpr std::size_t V = batch::size;
    static constexpr std::size_t full = C - C % V;  // channels done in whole registers

    static void forward_one(T const* xs, T* ys) {
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                T* out = ys + (oy * output_shape::width + ox) * C;
                T const* first = xs + at(oy * S, ox * S);
                // m = in > m ? in : m over the window, in scan order (as the scalar tail below).
                for (std::size_t c = 0; c < full; c += V) {
                    batch m = batch::load_unaligned(first + c);
                    for (std::size_t ky = 0; ky < P; ++ky)
                        for (std::size_t kx = 0; kx < P; ++kx) {
                            batch const in = batch::load_unaligned(xs + at(oy * S + ky, ox * S + kx) + c);
                            m = detail::select(in > m, in, m);
                        }
                    m.store_unaligned(out + c);
                }
                for (std::size_t c = full; c < C; ++c) {
                    T m = first[c];
                    for (std::size_t ky = 0; ky < P; ++ky)
                        for (std::size_t kx = 0; kx < P; ++kx) {
                            T const in = xs[at(oy * S + ky, ox * S + kx) + c];
                            m = in > m ? in : m;
                        }
                    out[c] = m;
                }
            }
    }

    // dy goes to the first window position (scan order) whose value equals the output.
    static void backward_one(T const* xs, T const* ys, T const* dys, T* dxs) {
        detail::fill(In::size, T(0), dxs);
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                std::size_t const o = (oy * output_shape::width + ox) * C;
                for (std::size_t c = 0; c < full; c += V) {
                    batch const m = batch::load_unaligned(ys + o + c), g = batch::load_unaligned(dys + o + c);
                    typename batch::batch_bool_type routed(false);
                    for (std::size_t ky = 0; ky < P; ++ky)
                        for (std::size_t kx = 0; kx < P; ++kx) {
                            std::size_t const i = at(oy * S + ky, ox * S + kx) + c;
                            auto const hit = (batch::load_unaligned(xs + i) == m) & ~routed;
                            (batch::load_unaligned(dxs + i) + detail::select(hit, g, batch(T(0)))).store_unaligned(dxs + i);
                            routed = routed | hit;
                        }
                }
                for (std::size_t c = full; c < C; ++c) {
                    bool routed = false;
                    for (std::size_t ky = 0; ky < P && !routed; ++ky)
                        for (std::size_t kx = 0; kx < P && !routed; ++kx) {
                            std::size_t const i = at(oy * S + ky, ox * S + kx) + c;
                            if (xs[i] == ys[o + c]) {
                                dxs[i] += dys[o + c];
                                routed = true;
                            }
                        }
                }
            }
    }
};

// max_pool<Window, Stride = Window>
template <std::size_t Window, std::size_t Stride = Window>
struct max_pool {
    template <Shape In, class T>
    using bind = max_pool_layer<In, T, Window, Stride>;
};

}  // namespace mien
// ---- end mien/layers/max_pool.hpp ----
// ---- begin mien/layers/relu.hpp ----
// mien/layers/relu.hpp -- y = max(x, 0), element-wise.
//
// Shape unchanged; no parameters; macs = 0. Backward passes dy where the output is positive,
// so nothing needs saving beyond the output the caller keeps anyway.

#include <cstddef>
#include <string_view>


namespace mien {

template <Shape In, class T>
struct relu_layer : parameterless_layer<In, T> {
    static constexpr std::string_view name = "relu";
    static constexpr bool in_place = true;  // element-wise: each value is read before it is written

    // Element-wise, so each thread takes the values of its slice of samples.
    static void forward(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t) {
            std::size_t i = begin * In::size;
            std::size_t const n = end * In::size, full = n - (n - i) % batch::size;
            for (; i < full; i += batch::size) {
                batch const v = batch::load_unaligned(x + i);
                detail::select(v > zero(), v, zero()).store_unaligned(y + i);
            }
            for (; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
        };
        f.for_samples(work);
    }

    static void backward(frame<T> const& f, T const*, T const* y, T const* dy, T* dx) {
        if (!dx) return;
        auto work = [&](std::size_t begin, std::size_t end, std::size_t) {
            std::size_t i = begin * In::size;
            std::size_t const n = end * In::size, full = n - (n - i) % batch::size;
            for (; i < full; i += batch::size)
                detail::select(batch::load_unaligned(y + i) > zero(), batch::load_unaligned(dy + i), zero()).store_unaligned(dx + i);
            for (; i < n; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
        };
        f.for_samples(work);
    }

private:
    using batch = detail::simd_batch<T>;
    static batch zero() { return batch(T(0)); }
};

struct relu {
    template <Shape In, class T>
    using bind = relu_layer<In, T>;
};

}  // namespace mien
// ---- end mien/layers/relu.hpp ----

namespace mien {

template <Shape In, class T, std::size_t F, std::size_t K>
struct conv_block_layer
    : sequential_layer<In, T, typename detail::chain<In, T, conv2d<F, K, same>, batch_norm, relu, max_pool<2>>::layers> {
    using base = sequential_layer<In, T, typename detail::chain<In, T, conv2d<F, K, same>, batch_norm, relu, max_pool<2>>::layers>;
    using conv = typename base::template layer<0>;
    using output_shape = typename base::output_shape;
    static constexpr std::size_t pad = conv::pad, W = In::width, Cin = In::channels, Wp = W + 2 * pad;
    static constexpr std::size_t PH = output_shape::height, PW = output_shape::width;

    // The layers bound to row shapes: K + 1 bordered input rows -> 2 convolved rows -> 1 pooled row.
    using input_rows = shape<K + 1, Wp, Cin>;
    using rows = shape<2, W, F>;
    using row_conv = conv2d_layer<input_rows, T, F, K, padding::valid, 1, false, detail::conv2d_name>;
    using row_norm = batch_norm_layer<rows, T>;
    using row_relu = relu_layer<rows, T>;
    using row_pool = max_pool_layer<rows, T, 2, 2>;
    static_assert(row_conv::output_shape::size == rows::size && row_pool::output_shape::size == PW * F);

    static constexpr std::size_t rows_at = arena_round<T>(input_rows::size);
    static constexpr std::size_t norm_at = rows_at + arena_round<T>(rows::size);
    static constexpr std::size_t conv_at = norm_at + arena_round<T>(mien::infer_size<row_norm>);
    static constexpr std::size_t infer_size = conv_at + mien::infer_size<row_conv>;
    static constexpr bool in_place = false;

    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
        T* in = scratch;
        T* out = scratch + rows_at;
        frame<T> const fc = base::child(f, 0), fn = base::child(f, 1), fr = base::child(f, 2), fp = base::child(f, 3);
        for (std::size_t py = 0; py < PH; ++py) {
            for (std::size_t i = 0; i <= K; ++i) {  // bordered rows 2 py .. 2 py + K
                std::ptrdiff_t const iy = std::ptrdiff_t(2 * py + i) - std::ptrdiff_t(pad);
                T* row = in + i * Wp * Cin;
                if (iy < 0 || iy >= std::ptrdiff_t(In::height)) {
                    detail::fill(Wp * Cin, T(0), row);
                } else {
                    detail::fill(pad * Cin, T(0), row);
                    detail::copy(W * Cin, x + std::size_t(iy) * W * Cin, row + pad * Cin);
                    detail::fill(pad * Cin, T(0), row + (pad + W) * Cin);
                }
            }
            mien::infer<row_conv>(fc, static_cast<T const*>(in), out, scratch + conv_at);
            mien::infer<row_norm>(fn, static_cast<T const*>(out), out, scratch + norm_at);
            mien::infer<row_relu>(fr, static_cast<T const*>(out), out, scratch + conv_at);
            mien::infer<row_pool>(fp, static_cast<T const*>(out), y + py * PW * F, scratch + conv_at);
        }
    }
};

// conv_block<Filters, Kernel = 3>: the paper's normal block as one spec.
template <std::size_t Filters, std::size_t Kernel = 3>
struct conv_block {
    template <Shape In, class T>
    using bind = conv_block_layer<In, T, Filters, Kernel>;
};

}  // namespace mien
// ---- end mien/blocks/conv_block.hpp ----
// ---- begin mien/blocks/residual.hpp ----
// mien/blocks/residual.hpp -- a branch plus a shortcut: y = shortcut(x) + branch(x).
//
// residual<Branch> uses the identity shortcut (the paper's separable blocks:
// y = x + BN(PW(DW(x))), the ReLU follows outside). residual<Branch, Shortcut> projects the
// shortcut (for example sequential<pointwise<64>, batch_norm>) when the branch changes the
// shape. Both paths must end in the same shape; the check names the differing dimension.
// params, macs, state: those of branch and shortcut. Backward: dx = dbranch(dy) + dshortcut(dy).

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>


namespace mien {

// The identity shortcut (a layer of its own, so residual has one code path).
template <Shape In, class T>
struct identity_layer : parameterless_layer<In, T, In> {
    static constexpr std::string_view name = "identity";
    static constexpr bool in_place = true;
    static void forward(frame<T> const& f, T const* x, T* y) {
        if (x != y) detail::copy(f.n * In::size, x, y);
    }
    static void backward(frame<T> const& f, T const*, T const*, T const* dy, T* dx) {
        if (dx) detail::copy(f.n * In::size, dy, dx);
    }
};

struct identity {
    template <Shape In, class T>
    using bind = identity_layer<In, T>;
};

template <Shape In, class T, class B, class S>
struct residual_layer {
    static_assert(Layer<B>, "residual: the branch is not a Layer (see the unsatisfied requirement below)");
    static_assert(Layer<S>, "residual: the shortcut is not a Layer (see the unsatisfied requirement below)");
    static_assert(B::output_shape::height == S::output_shape::height, "residual: branch output height != shortcut height");
    static_assert(B::output_shape::width == S::output_shape::width, "residual: branch output width != shortcut width");
    static_assert(B::output_shape::channels == S::output_shape::channels,
                  "residual: branch output channels != shortcut channels");
    using input_shape = In;
    using output_shape = plain_shape<typename B::output_shape>;
    using scalar = T;
    static constexpr std::string_view name = "residual";
    static constexpr std::array<double, 0> settings{};
    static constexpr std::size_t params = B::params + S::params;
    static constexpr std::size_t state_size = B::state_size + S::state_size;
    static constexpr std::size_t macs = B::macs + S::macs;
    static constexpr std::size_t temp_size = std::max(B::temp_size, S::temp_size);
    // Saved per sample: [branch saved][branch out][shortcut saved][shortcut out][dx of shortcut]
    static constexpr std::size_t out = output_shape::size;
    static constexpr std::size_t shortcut_at = B::saved_per_sample + out;
    static constexpr std::size_t spare_at = shortcut_at + S::saved_per_sample + out;
    static constexpr std::size_t saved_per_sample = spare_at + In::size;

    static frame<T> branch(frame<T> const& f) { return f.child(0, 0, 0); }
    static frame<T> shortcut(frame<T> const& f) { return f.child(B::params, B::state_size, shortcut_at); }
    static T* branch_out(frame<T> const& f) { return f.saved + f.n * B::saved_per_sample; }
    static T* shortcut_out(frame<T> const& f) { return f.saved + f.n * (shortcut_at + S::saved_per_sample); }

    static void init(T* p, T* s, random_generator& rng) {
        B::init(p, s, rng);
        S::init(p + B::params, s + B::state_size, rng);
    }

    template <class Self, class F>
    static constexpr void visit(F&& f, std::size_t param_offset, std::size_t state_offset, std::size_t depth) {
        B::template visit<B>(f, param_offset, state_offset, depth + 1);
        S::template visit<S>(f, param_offset + B::params, state_offset + B::state_size, depth + 1);
    }
    template <class V>
    static constexpr void for_each_tensor(V&&) {}

    static void forward(frame<T> const& f, T const* x, T* y) {
        B::forward(branch(f), x, branch_out(f));
        S::forward(shortcut(f), x, shortcut_out(f));
        detail::add(f.n * out, branch_out(f), shortcut_out(f), y);
    }

    // Prediction: the branch writes y directly; an identity shortcut is added from x, another
    // shortcut's output gets the front of the scratch, its own scratch behind it.
    static constexpr bool identity_shortcut = std::is_same_v<S, identity_layer<In, T>>;
    static constexpr std::size_t infer_size =
        identity_shortcut ? mien::infer_size<B> : std::max(mien::infer_size<B>, arena_round<T>(out) + mien::infer_size<S>);
    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
        mien::infer<B>(branch(f), x, y, scratch);
        if constexpr (identity_shortcut) {
            detail::add_to(out, x, y);
        } else {
            mien::infer<S>(shortcut(f), x, scratch, scratch + arena_round<T>(out));
            detail::add_to(out, scratch, y);
        }
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        // The sum passes dy unchanged to both paths.
        B::backward(branch(f), x, branch_out(f), dy, dx);
        T* spare = dx ? f.dsaved + f.n * spare_at : nullptr;
        S::backward(shortcut(f), x, shortcut_out(f), dy, spare);
        if (dx) detail::add_to(f.n * In::size, spare, dx);
    }
};

// residual<Branch, Shortcut = identity>
template <class Branch, class Shortcut = identity>
struct residual {
    template <Shape In, class T>
    using bind = residual_layer<In, T, mien::bind<Branch, In, T>, mien::bind<Shortcut, In, T>>;
};

}  // namespace mien
// ---- end mien/blocks/residual.hpp ----
// ---- begin mien/blocks/sequential.hpp ----
// mien/blocks/sequential.hpp -- layers applied one after another (defined in core/sequential.hpp,
// because a network is a sequential; this header keeps the blocks together for users).

// ---- end mien/blocks/sequential.hpp ----
// ---- begin mien/core/error.hpp ----
// mien/core/error.hpp -- how mien reports bad run-time input.
//
// Hosted builds throw mien::error (a std::runtime_error) whose message names what was expected
// and what was found. Builds with -fno-exceptions print the same message to stderr and abort:
// embedded users get a loud stop instead of silent garbage.
//
// Messages are never cut: a topology mismatch lists every layer of both networks, which runs to
// kilobytes. The exceptions path measures the message with a first vsnprintf and formats it into
// a std::string of that size; the no-exceptions path (no heap there) prints it with vfprintf
// straight to stderr. fail() is a C variadic function so that the compiler checks every format
// string against its arguments (a variadic template cannot carry the format attribute).

#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define MIEN_HAS_EXCEPTIONS 1
#include <stdexcept>
#include <string>
#else
#define MIEN_HAS_EXCEPTIONS 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MIEN_PRINTF_FORMAT(format_index, first_argument) __attribute__((format(printf, format_index, first_argument)))
#else
#define MIEN_PRINTF_FORMAT(format_index, first_argument)
#endif

namespace mien {

#if MIEN_HAS_EXCEPTIONS
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
#endif

// Raise an error with a printf-style message of any length (no heap in the no-exceptions path).
[[noreturn]] inline void fail(char const* format, ...) MIEN_PRINTF_FORMAT(1, 2);

[[noreturn]] inline void fail(char const* format, ...) {
    std::va_list args;
    va_start(args, format);
#if MIEN_HAS_EXCEPTIONS
    std::va_list measure;
    va_copy(measure, args);
    int const length = std::vsnprintf(nullptr, 0, format, measure);
    va_end(measure);
    std::string message;
    if (length < 0) {
        // Only an encoding error (a wide argument that does not convert) gets here: say so
        // rather than throw an empty message.
        message = "mien: cannot format the message of an error; its format is: ";
        message += format;
    } else {
        message.resize(static_cast<std::size_t>(length));
        // std::string keeps a terminator past size(), so length + 1 bytes are writable.
        std::vsnprintf(message.data(), message.size() + 1, format, args);
    }
    va_end(args);
    throw error(message);
#else
    std::fputs("mien: ", stderr);
    std::vfprintf(stderr, format, args);
    std::fputc('\n', stderr);
    va_end(args);
    std::abort();
#endif
}

// The common case: a buffer of the wrong size.
[[noreturn]] inline void fail_size(char const* where, std::size_t expected, std::size_t found) {
    fail("%s: expected %zu values, found %zu", where, expected, found);
}

}  // namespace mien
// ---- end mien/core/error.hpp ----
// ---- begin mien/core/finite.hpp ----
// mien/core/finite.hpp -- checking inputs for NaN and infinity before they reach a network.
//
// mien does not scan inputs on every call (predict must stay cheap and allocation-free), and
// the network cannot be relied on to pass a NaN through to its output: ReLU and max-pool
// compare, and a comparison with NaN is false, so a NaN pixel can come out as an ordinary-
// looking probability. A caller that takes data from outside checks it first:
//
//   if (!mien::all_finite(face)) reject(face);                  // or
//   if (auto i = mien::first_non_finite(face); i < face.size()) report(i);
//
// Built with -ffast-math (-ffinite-math-only), the compiler may assume there is no NaN or
// infinity and fold these checks to "finite": do not use that flag where inputs are untrusted.

#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

namespace mien {

// The index of the first NaN or infinite value, or values.size() if there is none.
template <class T>
std::size_t first_non_finite(std::span<T const> values) {
    for (std::size_t i = 0; i < values.size(); ++i)
        if (!std::isfinite(values[i])) return i;
    return values.size();
}

// The same for any contiguous container: std::vector, std::array, std::span<T>, a network's output.
template <class Container>
    requires requires(Container const& c) { std::span(c.data(), c.size()); }
std::size_t first_non_finite(Container const& c) {
    using T = std::remove_cvref_t<decltype(*c.data())>;
    return first_non_finite(std::span<T const>(c.data(), c.size()));
}

// True when no value is NaN or infinite (an empty input is finite).
template <class Values>
bool all_finite(Values const& values) {
    return first_non_finite(values) == values.size();
}

}  // namespace mien
// ---- end mien/core/finite.hpp ----
// ---- begin mien/core/network.hpp ----
// mien/core/network.hpp -- a whole model: one type, its parameters and its prediction arena.
//
//   using net_t = mien::network<mien::input<48, 48, 1>, mien::conv2d<32, 3>, mien::relu, ...>;
//   static_assert(net_t::macs == ...);      // shapes and costs are compile-time constants
//   net_t net;  net.init(seed);             // every buffer is a member: no heap, ever
//   auto const& p = net.predict(face);      // softmax probabilities
//
// The layer specs are bound in order to the input shape; a mis-wired network does not compile.
// Prediction runs in one arena of inference_bytes, planned at compile time by liveness (see
// core/sequential.hpp): only the activations still needed are alive. A network_view predicts
// with parameters it does not own (const arrays in flash, say) into an arena the caller owns:
//
//   static_assert(net_t::inference_bytes <= 256 * 1024);   // the RAM budget, checked by the compiler
//   alignas(64) static std::byte arena[net_t::inference_bytes];
//   mien::network_view<net_t> view(params, state);         // std::span<float const, ...> each
//   auto probs = view.predict(face, arena);                // no heap, no copy of the parameters
//
// Training state (batch workspace, gradients, optimiser moments) lives in mien::trainer.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string_view>

// ---- begin mien/core/softmax.hpp ----
// mien/core/softmax.hpp -- numerically stable softmax and its backward, row by row.

#include <cmath>
#include <cstddef>

namespace mien::detail {

// p = softmax(z) over n values (max subtracted first, so large logits cannot overflow).
template <class T>
inline void softmax(std::size_t n, T const* z, T* p) {
    T m = z[0];
    for (std::size_t i = 1; i < n; ++i) m = z[i] > m ? z[i] : m;
    T sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += (p[i] = std::exp(z[i] - m));
    for (std::size_t i = 0; i < n; ++i) p[i] /= sum;
}

// dz = p * (dp - sum(dp * p)): the gradient through p = softmax(z).
template <class T>
inline void softmax_backward(std::size_t n, T const* p, T const* dp, T* dz) {
    T dot = 0;
    for (std::size_t i = 0; i < n; ++i) dot += dp[i] * p[i];
    for (std::size_t i = 0; i < n; ++i) dz[i] = p[i] * (dp[i] - dot);
}

}  // namespace mien::detail
// ---- end mien/core/softmax.hpp ----

namespace mien {

template <class T, Shape In, class... Specs>
class basic_network {
public:
    using body = bind<sequential<Specs...>, In, T>;
    static_assert(Layer<body>);
    using scalar = T;
    using input_shape = In;
    using output_shape_type = typename body::output_shape;
    static constexpr output_shape_type output_shape{};
    static constexpr In input{};

    static constexpr std::size_t inputs = In::size;
    static constexpr std::size_t outputs = output_shape_type::size;
    static constexpr std::size_t params = body::params;
    static constexpr std::size_t state_size = body::state_size;
    static constexpr std::size_t macs = body::macs;
    static constexpr std::size_t saved_per_sample = body::saved_per_sample;
    static constexpr std::size_t temp_size = body::temp_size;

    // Memory, in bytes. Workspace (training, saliency) = activations kept for backward, outputs
    // and per-thread scratch.
    static constexpr std::size_t parameter_bytes = (params + state_size) * sizeof(T);
    static constexpr std::size_t workspace_bytes(std::size_t batch, std::size_t threads = 1) {
        return (batch * (saved_per_sample + outputs) + threads * temp_size) * sizeof(T);
    }
    // Prediction's arena: [logits][probabilities][the body's planned scratch], each part starting
    // on a 64-byte boundary. This is all the memory a prediction writes.
    static constexpr std::size_t logits_at = 0;
    static constexpr std::size_t probs_at = arena_round<T>(outputs);
    static constexpr std::size_t body_at = 2 * arena_round<T>(outputs);
    static constexpr std::size_t inference_values = body_at + infer_size<body>;
    static constexpr std::size_t inference_bytes = inference_values * sizeof(T);
    // What prediction would need if every activation stayed alive (as training keeps them).
    static constexpr std::size_t unplanned_inference_bytes = workspace_bytes(1, 1) + 2 * outputs * sizeof(T);
    // Training at batch B: activations and their gradients, logits and their gradients,
    // per-thread gradients and scratch, and two optimiser moments (Adam).
    template <std::size_t B, std::size_t Threads = 1>
    static constexpr std::size_t training_bytes =
        (2 * B * (saved_per_sample + outputs) + B * outputs + Threads * (temp_size + params) + 2 * params) * sizeof(T);

    // Softmax probabilities of x with the given parameters and state, computed in `arena`
    // (inference_bytes, aligned for T; 64-byte alignment is best). The result lives in the arena.
    static std::span<T const, outputs> predict(std::span<T const, params> p, std::span<T const, state_size> s,
                                               std::span<T const, inputs> x, std::span<std::byte, inference_bytes> arena) {
        if (reinterpret_cast<std::uintptr_t>(arena.data()) % alignof(T) != 0)
            fail("predict: the arena must be aligned to %zu bytes", alignof(T));
        T* a = reinterpret_cast<T*>(arena.data());
        run(p.data(), s.data(), x.data(), a + logits_at, a + body_at);
        detail::softmax(outputs, a + logits_at, a + probs_at);
        return std::span<T const, outputs>(a + probs_at, outputs);
    }

    basic_network() { init(0); }

    // Fresh random parameters (deterministic for a seed) and reset running statistics.
    void init(std::uint64_t seed) {
        random_generator rng(seed);
        body::init(params_.data(), state_.data(), rng);
    }

    std::span<T, params> parameters() { return params_; }
    std::span<T const, params> parameters() const { return params_; }
    std::span<T, state_size> state() { return state_; }
    std::span<T const, state_size> state() const { return state_; }

    // Sets the rate of every dropout layer (0 <= rate < 1).
    void set_dropout_rate(double rate) {
        if (!(rate >= 0.0 && rate < 1.0)) fail("set_dropout_rate: expected a rate in [0, 1), found %g", rate);
        for_each_tensor([&](tensor_info const& t) {
            if (t.rate) state_[t.offset] = T(rate);
        });
    }

    // Softmax probabilities for one input (H*W*C values, HWC order, pixels scaled to [0, 1]).
    std::array<T, outputs> const& predict(std::span<T const, inputs> x) {
        run(params_.data(), state_.data(), x.data(), logits_.data(), arena_.data());
        detail::softmax(outputs, logits_.data(), probs_.data());
        return probs_;
    }
    // Same, for a run-time sized buffer: its size is checked.
    std::array<T, outputs> const& predict(std::span<T const> x) {
        if (x.size() != inputs) fail_size("predict: input", inputs, x.size());
        return predict(std::span<T const, inputs>(x.data(), inputs));
    }
    template <class Container>
        requires requires(Container const& c) { c.data(); c.size(); }
    std::array<T, outputs> const& predict(Container const& c) {
        return predict(std::span<T const>(c.data(), c.size()));
    }

    // The raw outputs (logits) of the last forward pass.
    std::array<T, outputs> const& logits() const { return logits_; }

    // Calls f(tensor_info) for every named tensor, with offsets into parameters() / state().
    // Static and constexpr: the tensors are facts of the type (tensor_table below).
    template <class F>
    static constexpr void for_each_tensor(F&& f) {
        std::size_t index = 0;
        for_each_layer<body>([&]<class L>(std::size_t p, std::size_t s, std::size_t) {
            L::for_each_tensor([&](tensor_info t) {
                t.offset += t.trainable ? p : s;
                t.layer_index = index;
                f(t);
            });
            ++index;
        });
    }

    // Prints every layer with its output shape, parameters and MACs, then the totals.
    static void print_cost_table(std::FILE* out = stdout) {
        std::fprintf(out, "%-4s %-24s %-14s %12s %14s\n", "#", "layer", "output", "params", "MACs");
        std::size_t index = 0;
        for_each_layer<body>([&]<class L>(std::size_t, std::size_t, std::size_t) {
            using S = typename L::output_shape;
            char shape_text[48];
            std::snprintf(shape_text, sizeof shape_text, "%zux%zux%zu", S::height, S::width, S::channels);
            std::fprintf(out, "%-4zu %-24.*s %-14s %12zu %14zu\n", index++, int(L::name.size()), L::name.data(),
                         shape_text, std::size_t(L::params), std::size_t(L::macs));
        });
        std::fprintf(out, "total: %zu params (+%zu running statistics), %zu MACs per sample\n", params, state_size - rate_states(), macs);
        std::fprintf(out, "memory: %zu B parameters, %zu B prediction arena (batch 1, planned; %zu B if every activation stayed alive)\n",
                     parameter_bytes, inference_bytes, unplanned_inference_bytes);
    }

    // Non-trainable values that are settings (dropout rates) rather than statistics.
    static constexpr std::size_t rate_states() {
        std::size_t count = 0;
        for_each_layer<body>([&]<class L>(std::size_t, std::size_t, std::size_t) { count += rate_size<L>; });
        return count;
    }

    // A frame over this network's parameters and state (no activations: the caller brings
    // saved values and scratch, as the trainer and saliency do).
    frame<T> parameter_frame() {
        frame<T> f;
        f.params = params_.data();
        f.state = state_.data();
        return f;
    }

private:
    // One prediction's logits; `scratch` holds infer_size<body> values.
    static void run(T const* p, T const* s, T const* x, T* logits, T* scratch) {
        frame<T> f;
        // Prediction never writes parameters or state (batch norm updates its statistics only when
        // training), so const arrays -- in flash, say -- are safe behind these pointers.
        f.params = const_cast<T*>(p);
        f.state = const_cast<T*>(s);
        mien::infer<body>(f, x, logits, scratch);
    }

    std::array<T, params> params_{};
    std::array<T, state_size> state_{};
    alignas(64) std::array<T, infer_size<body> + 1> arena_{};
    std::array<T, outputs> logits_{}, probs_{};
};

// A network that holds only pointers to its parameters and state: for parameters that live
// elsewhere (const arrays the linker puts in flash, a memory-mapped file) and an arena the
// caller owns. Net is a basic_network type.
template <class Net>
class network_view {
public:
    using T = typename Net::scalar;
    network_view(std::span<T const, Net::params> params, std::span<T const, Net::state_size> state)
        : params_(params), state_(state) {}
    // Probabilities of x, computed in (and living in) the arena.
    std::span<T const, Net::outputs> predict(std::span<T const, Net::inputs> x,
                                             std::span<std::byte, Net::inference_bytes> arena) const {
        return Net::predict(params_, state_, x, arena);
    }

private:
    std::span<T const, Net::params> params_;
    std::span<T const, Net::state_size> state_;
};

template <Shape In, class... Specs>
using network = basic_network<float, In, Specs...>;

// Every named tensor of a network type (a basic_network), in file order (for each layer: its
// parameters, then its state), as a compile-time table: layer and tensor name, dims, rank,
// offset into parameters() or state(), trainable. What the xtensor interop needs to give each
// tensor a view whose shape is a constant of its type (interop/xtensor.hpp).
template <class Net>
inline constexpr std::size_t tensor_count = [] {
    std::size_t n = 0;
    Net::for_each_tensor([&](tensor_info const&) { ++n; });
    return n;
}();
template <class Net>
inline constexpr std::array<tensor_info, tensor_count<Net>> tensor_table = [] {
    std::array<tensor_info, tensor_count<Net>> table{};
    std::size_t i = 0;
    Net::for_each_tensor([&](tensor_info const& t) { table[i++] = t; });
    return table;
}();

}  // namespace mien
// ---- end mien/core/network.hpp ----
// ---- begin mien/core/parallel.hpp ----
// mien/core/parallel.hpp -- a fixed team of threads for splitting a batch.
//
// The threads are created once, by the constructor; run() hands each thread one contiguous
// slice of [0, count) and waits for all of them. Nothing is allocated per call (the work is a
// function pointer and a context pointer), and the slicing depends only on the thread count,
// so which thread handles which sample never depends on timing.
//
// A training step runs about a hundred of these calls (every layer, forward and backward), each
// a few tens of microseconds, so waking a sleeping thread through the condition variable is a
// visible share of the step. Both sides therefore spin briefly (spin_limit pauses, some tens of
// microseconds) on the atomic counters before they block: +6 % paper training images/s on the
// 2-core reference machine, and no loss when another program holds a core (the spin is
// bounded, unlike an OpenMP barrier's).
//
// Targets without threads (arm-none-eabi's newlib has no gthreads) get a team of one that runs
// everything on the calling thread: the header still compiles there, and MIEN_HAS_THREADS says
// which kind this build has.

#include <cstddef>


#if defined(__GLIBCXX__) ? defined(_GLIBCXX_HAS_GTHREADS) : (__STDC_HOSTED__ + 0)
#define MIEN_HAS_THREADS 1
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#else
#define MIEN_HAS_THREADS 0
#endif
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

namespace mien {

namespace detail {
// One spin-wait step: tells the core this is a busy-wait loop (frees resources for the other
// hyper-thread, saves power) where the architecture has such an instruction.
inline void spin_pause() {
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    _mm_pause();
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
}  // namespace detail

#if MIEN_HAS_THREADS
class thread_team : public team_base {
public:
    explicit thread_team(std::size_t threads = 1) : team_base(&dispatch), size_(threads == 0 ? 1 : threads) {
        workers_.reserve(size_ - 1);
        for (std::size_t t = 1; t < size_; ++t) workers_.emplace_back([this, t] { work(t); });
    }
    thread_team(thread_team const&) = delete;
    thread_team& operator=(thread_team const&) = delete;
    ~thread_team() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            generation_.fetch_add(1);
        }
        wake_.notify_all();
        for (auto& w : workers_) w.join();
    }

    std::size_t size() const { return size_; }

    // The slice of [0, count) that thread t of `threads` owns.
    static void slice(std::size_t count, std::size_t threads, std::size_t t, std::size_t& begin, std::size_t& end) {
        begin = count * t / threads;
        end = count * (t + 1) / threads;
    }

    // Calls fn(begin, end, thread) on every thread with its slice; returns when all are done.
    template <class F>
    void run(std::size_t count, F& fn) {
        if (size_ == 1 || count < 2) {
            fn(std::size_t{0}, count, std::size_t{0});
            return;
        }
        {
            std::lock_guard lock(mutex_);
            job_ = &call<F>;
            context_ = &fn;
            count_ = count;
            pending_.store(size_ - 1);
            generation_.fetch_add(1);
        }
        wake_.notify_all();
        std::size_t b, e;
        slice(count, size_, 0, b, e);
        fn(b, e, std::size_t{0});
        for (int i = 0; i < spin_limit && pending_.load(std::memory_order_acquire) != 0; ++i) detail::spin_pause();
        std::unique_lock lock(mutex_);
        done_.wait(lock, [this] { return pending_.load() == 0; });
    }

private:
    struct erased {
        job_type job;
        void* context;
        void operator()(std::size_t b, std::size_t e, std::size_t t) const { job(context, b, e, t); }
    };
    static void dispatch(team_base* self, std::size_t count, job_type job, void* context) {
        erased e{job, context};
        static_cast<thread_team*>(self)->run(count, e);
    }

    void work(std::size_t t) {
        std::size_t seen = 0;
        for (;;) {
            void (*job)(void*, std::size_t, std::size_t, std::size_t);
            void* context;
            std::size_t count;
            for (int i = 0; i < spin_limit && generation_.load(std::memory_order_acquire) == seen; ++i) detail::spin_pause();
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [&] { return generation_.load() != seen; });
                seen = generation_.load();
                if (stopping_) return;
                job = job_;
                context = context_;
                count = count_;
            }
            std::size_t b, e;
            slice(count, size_, t, b, e);
            job(context, b, e, t);
            {
                std::lock_guard lock(mutex_);
                --pending_;
            }
            done_.notify_one();
        }
    }

    std::size_t size_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    void (*job_)(void*, std::size_t, std::size_t, std::size_t) = nullptr;
    void* context_ = nullptr;
    static constexpr int spin_limit = 2000;  // pauses before blocking
    std::size_t count_ = 0;
    std::atomic<std::size_t> pending_{0}, generation_{0};  // written under mutex_, read by spinners too
    bool stopping_ = false;
};
#else
// No threads on this target: a team of one.
class thread_team : public team_base {
public:
    explicit thread_team(std::size_t = 1) : team_base(&dispatch) {}
    thread_team(thread_team const&) = delete;
    thread_team& operator=(thread_team const&) = delete;
    std::size_t size() const { return 1; }
    static void slice(std::size_t count, std::size_t, std::size_t, std::size_t& begin, std::size_t& end) {
        begin = 0;
        end = count;
    }
    template <class F>
    void run(std::size_t count, F& fn) {
        fn(std::size_t{0}, count, std::size_t{0});
    }

private:
    static void dispatch(team_base*, std::size_t count, job_type job, void* context) { job(context, 0, count, 0); }
};
#endif

}  // namespace mien
// ---- end mien/core/parallel.hpp ----
// ---- begin mien/core/saliency.hpp ----
// mien/core/saliency.hpp -- which input pixels drove a decision: the gradient of a class score
// with respect to the input (a saliency map, Simonyan et al. 2014), from mien's own backward pass.
//
//   auto net = std::make_unique<mien::models::paper<>>();         // trained weights loaded
//   auto map = std::make_unique<mien::saliency<mien::models::paper<>>>();
//   auto const& grad = map->gradient(*net, face, label);         // 48*48 values, HWC like face
//   // |grad[i]| large: changing pixel i changes the score of `label` most
//
// The score is the class's logit (before softmax), as in Simonyan et al.: the softmax couples
// the classes, the logit is the evidence for one. The pass is an inference pass (batch norm
// uses its running statistics, dropout is off), so the gradient is that of exactly the function
// predict() computes. Backward needs every activation of the forward pass, which prediction's
// planned arena does not keep, so the saved activations, their gradients, the scratch and the
// parameter gradients (which the layers' backward accumulates, unused here) are members sized
// at compile time: no allocation per call, and the object is large (allocate it
// with std::make_unique). One saliency object serves any network of type Net, one call at a time.

#include <array>
#include <cstddef>
#include <span>


namespace mien {

template <class Net>
class saliency {
public:
    using T = typename Net::scalar;
    using body = typename Net::body;
    static constexpr std::size_t inputs = Net::inputs;
    static constexpr std::size_t outputs = Net::outputs;

    // d logit[k] / d x, for one input x (the layout of Net::predict's input). Also leaves the
    // probabilities of x in probabilities().
    std::array<T, inputs> const& gradient(Net& net, std::span<T const, inputs> x, std::size_t k) {
        if (k >= outputs) fail("saliency: class %zu is outside [0, %zu)", k, outputs);
        frame<T> f = net.parameter_frame();  // inference mode: running statistics, no dropout
        f.saved = saved_.data();
        f.temp = temp_.data();
        f.temp_stride = Net::temp_size;
        f.grads = grads_.data();
        f.grad_stride = Net::params;
        f.dsaved = dsaved_.data();
        body::forward(f, x.data(), logits_.data());
        detail::softmax(outputs, logits_.data(), probs_.data());
        detail::fill(outputs, T(0), dlogits_.data());
        dlogits_[k] = T(1);
        detail::fill(Net::params, T(0), grads_.data());  // unused, but kept finite
        body::backward(f, x.data(), logits_.data(), dlogits_.data(), dx_.data());
        return dx_;
    }
    // Same, for any contiguous container (its size is checked).
    template <class Container>
        requires requires(Container const& c) { c.data(); c.size(); }
    std::array<T, inputs> const& gradient(Net& net, Container const& x, std::size_t k) {
        if (x.size() != inputs) fail_size("saliency: input", inputs, x.size());
        return gradient(net, std::span<T const, inputs>(x.data(), inputs), k);
    }

    // Of the input of the last gradient() call.
    std::array<T, outputs> const& probabilities() const { return probs_; }
    std::array<T, outputs> const& logits() const { return logits_; }

private:
    std::array<T, Net::saved_per_sample + 1> saved_{}, dsaved_{};
    std::array<T, Net::temp_size + 1> temp_{};
    std::array<T, Net::params + 1> grads_{};
    std::array<T, outputs> logits_{}, probs_{}, dlogits_{};
    std::array<T, inputs> dx_{};
};

}  // namespace mien
// ---- end mien/core/saliency.hpp ----
// ---- begin mien/io/checkpoint.hpp ----
// mien/io/checkpoint.hpp -- training checkpoints: resume exactly where a run stopped.
//
//   mien::save_checkpoint(trainer, "run.ckpt", {{"epoch", "12"}, {"best_accuracy", "0.71"}});
//   auto c = mien::load_checkpoint(trainer, "run.ckpt");   // c.metadata["epoch"] == "12"
//
// A checkpoint is a .mien file (weights.hpp, docs/WEIGHTS_FORMAT.md) of content kind 2 holding
// the network's tensors, then the optimizer's state as "optimizer" tensors (Adam:
// optimizer.first_moment and optimizer.second_moment; SGD: optimizer.velocity; each of shape
// (params)), and in the metadata the reserved keys mien.optimizer ("adam" / "sgd"),
// mien.optimizer.steps, mien.optimizer.learning_rate (a schedule may have changed it) and
// mien.rng.state (the trainer's generator, which draws the dropout masks). With all of it
// restored, training continues bit for bit as if it had never stopped.
//
// The topology must match exactly (fingerprint included): resuming into another network is
// a bug, not a migration. Loading checks everything before it writes anything.

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

// ---- begin mien/io/weights.hpp ----
// mien/io/weights.hpp -- versioned binary weights (.mien); the container checkpoints share.
//
//   mien::save_weights(net, "model.mien");                  // atomic: old file kept on failure
//   auto r = mien::load_weights(net, "model.mien");         // validates everything first
//   if (!r.topology_matches) std::puts(r.warning.c_str());
//
// The layout is in docs/WEIGHTS_FORMAT.md: "MIEN", version, file size, content kind, topology
// fingerprint and description, key/value metadata, named tensors (float32 little-endian),
// CRC-32. A load parses and checks the whole file before it touches the network, so a bad
// file leaves the network as it was. Errors name the source and, for a shape mismatch, the
// first differing tensor with both shapes:
//   "03.conv2d.weight: file shape (3,3,1,64) != model shape (3,3,1,32)".
//
// Topology policy: tensors are matched by position, and their kinds and shapes must agree.
// When they do but the fingerprints differ (say a relu was inserted, which shifts the layer
// indices in the names) the default, topology_check::shapes, loads and reports it in
// load_result (topology_matches = false, warning says what differs); topology_check::exact
// makes it an error. Checkpoints (checkpoint.hpp) always use exact.
//
// Class names travel with the weights: save_weights stores the names of the outputs (given, or
// the default of the output count) under the reserved metadata key mien.labels, and
// load_result::labels returns them. The layout is unchanged (still version 1): readers that
// predate the key ignore it, and files without it get the default names (models/labels.hpp).

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// ---- begin mien/models/labels.hpp ----
// mien/models/labels.hpp -- the class names a model's outputs stand for.
//
// A model's label set travels with its weights: a .mien file (format version 2) stores the
// names of its outputs (io/weights.hpp, load_result::labels). Files that do not name them
// (version 1, or written without names) get the default of their output count:
//   7 outputs  FER2013 order: angry, disgust, fear, happy, sad, surprise, neutral
//   8 outputs  FER+ order:    neutral, happiness, surprise, sadness, anger, disgust, fear, contempt
// and no default otherwise. Freestanding (no allocation), like the rest of models/.

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

namespace mien {

inline constexpr std::size_t expression_count = 7;
inline constexpr std::array<std::string_view, expression_count> expression_names{
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"};

inline constexpr std::size_t ferplus_class_count = 8;
inline constexpr std::array<std::string_view, ferplus_class_count> ferplus_class_names{
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"};

// The default names of a model with `outputs` outputs (empty when there is none).
constexpr std::span<std::string_view const> default_class_names(std::size_t outputs) {
    if (outputs == expression_count) return expression_names;
    if (outputs == ferplus_class_count) return ferplus_class_names;
    return {};
}

}  // namespace mien
// ---- end mien/models/labels.hpp ----
// ---- begin mien/io/binary.hpp ----
// mien/io/binary.hpp -- bytes, checksums and files for the weights, checkpoint and .npz formats.
//
// Everything here is little-endian by construction (values are assembled byte by byte), so a
// file written on any host reads back on any other. Files are written atomically: the bytes go
// to `path.tmp-<pid>`, are flushed to disk (fsync), and only then renamed over `path`, so a
// crash or a failed write never leaves a half-written file where a good one used to be.
// I/O is not the hot path: these helpers allocate freely.

#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>


#if __has_include(<unistd.h>) && __has_include(<fcntl.h>)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#define MIEN_IO_POSIX 1
#else
#define MIEN_IO_POSIX 0
#endif

namespace mien::detail {

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320): the checksum ZIP requires, reused by
// the .mien format so one well-known function guards both.
inline constexpr std::array<std::uint32_t, 256> crc32_table = [] {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}();

inline std::uint32_t crc32(std::span<std::byte const> bytes, std::uint32_t crc = 0) {
    crc = ~crc;
    for (std::byte b : bytes) crc = crc32_table[(crc ^ std::to_integer<std::uint32_t>(b)) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

// Appends little-endian values to a growing buffer.
class byte_writer {
public:
    void u8(std::uint8_t v) { bytes_.push_back(std::byte{v}); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void f32(float v) { u32(std::bit_cast<std::uint32_t>(v)); }
    void raw(std::string_view s) {
        for (char c : s) bytes_.push_back(static_cast<std::byte>(c));
    }
    void raw(std::span<std::byte const> s) { bytes_.insert(bytes_.end(), s.begin(), s.end()); }
    // A length-prefixed string: u32 byte count, then the bytes (no terminator).
    void text(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        raw(s);
    }
    // Overwrites a u32 written earlier (sizes known only at the end).
    void patch_u32(std::size_t at, std::uint32_t v) {
        for (std::size_t i = 0; i < 4; ++i) bytes_[at + i] = std::byte(static_cast<unsigned char>(v >> (8 * i)));
    }
    void patch_u64(std::size_t at, std::uint64_t v) {
        for (std::size_t i = 0; i < 8; ++i) bytes_[at + i] = std::byte(static_cast<unsigned char>(v >> (8 * i)));
    }
    std::size_t size() const { return bytes_.size(); }
    std::vector<std::byte>& bytes() { return bytes_; }

private:
    void put(std::uint64_t v, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) bytes_.push_back(std::byte(static_cast<unsigned char>(v >> (8 * i))));
    }
    std::vector<std::byte> bytes_;
};

// Reads little-endian values from a span. Running past the end is not an error here: ok()
// turns false and the caller, which knows what it was reading, words the message.
class byte_reader {
public:
    explicit byte_reader(std::span<std::byte const> bytes, std::size_t at = 0) : bytes_(bytes), at_(at) {}

    bool has(std::size_t n) const { return ok_ && n <= bytes_.size() && at_ <= bytes_.size() - n; }
    std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
    std::uint64_t u64() { return get(8); }
    float f32() { return std::bit_cast<float>(u32()); }
    std::span<std::byte const> take(std::size_t n) {
        if (!has(n)) return fail_read();
        auto s = bytes_.subspan(at_, n);
        at_ += n;
        return s;
    }
    std::string text() {
        std::uint32_t const n = u32();
        auto s = take(n);
        return std::string(reinterpret_cast<char const*>(s.data()), s.size());
    }
    void skip(std::size_t n) { take(n); }
    void seek(std::size_t at) { at_ = at; }
    std::size_t position() const { return at_; }
    std::size_t size() const { return bytes_.size(); }
    bool ok() const { return ok_; }

private:
    std::uint64_t get(std::size_t n) {
        if (!has(n)) {
            fail_read();
            return 0;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(std::to_integer<unsigned char>(bytes_[at_ + i])) << (8 * i);
        at_ += n;
        return v;
    }
    std::span<std::byte const> fail_read() {
        ok_ = false;
        return {};
    }
    std::span<std::byte const> bytes_;
    std::size_t at_ = 0;
    bool ok_ = true;
};

// "(3,3,1,32)": the shape notation of every I/O error message.
template <class Dims>
inline std::string format_shape(Dims const& dims, std::size_t rank) {
    std::string s = "(";
    for (std::size_t i = 0; i < rank; ++i) {
        if (i) s += ',';
        s += std::to_string(dims[i]);
    }
    return s + ")";
}

// The text of errno, read first: building the message may allocate and change it.
inline std::string last_error_text() {
    int const code = errno;
    return std::generic_category().message(code);
}

// The whole file, or an error naming it.
inline std::vector<std::byte> read_file(std::filesystem::path const& path, char const* who) {
    std::FILE* file = std::fopen(path.string().c_str(), "rb");
    if (!file) {
        std::string const reason = last_error_text();
        fail("%s: cannot open %s: %s", who, path.string().c_str(), reason.c_str());
    }
    std::vector<std::byte> bytes;
    std::array<std::byte, 1 << 16> chunk;
    for (;;) {
        std::size_t const n = std::fread(chunk.data(), 1, chunk.size(), file);
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(n));
        if (n < chunk.size()) break;
    }
    bool const bad = std::ferror(file) != 0;
    std::fclose(file);
    if (bad) fail("%s: cannot read %s", who, path.string().c_str());
    return bytes;
}

// Where write_file_atomically puts the bytes before the rename (tests use it to make the
// write fail on purpose).
inline std::filesystem::path temp_path_for(std::filesystem::path const& path) {
    std::filesystem::path tmp = path;
#if MIEN_IO_POSIX
    tmp += ".tmp-" + std::to_string(static_cast<long long>(::getpid()));
#else
    tmp += ".tmp-mien";
#endif
    return tmp;
}

#if MIEN_IO_POSIX
// A process killed (SIGKILL, power loss) while it wrote `path.tmp-<pid>` leaves that file
// behind: nothing can remove it at the time. The next successful write of the same path removes
// the leftovers of processes that no longer exist (kill(pid, 0) says ESRCH), and only those: a
// write in progress in another living process keeps its file.
inline void remove_stale_temps(std::filesystem::path const& path) {
    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    std::string const prefix = path.filename().string() + ".tmp-";
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::string const name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0 || name.size() - prefix.size() > 9) continue;
        long long pid = 0;
        bool digits = true;
        for (char c : std::string_view(name).substr(prefix.size())) {
            if (c < '0' || c > '9') { digits = false; break; }
            pid = pid * 10 + (c - '0');
        }
        if (!digits || pid <= 0 || pid == static_cast<long long>(::getpid())) continue;
        if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
            std::error_code ignored;
            std::filesystem::remove(it->path(), ignored);
        }
    }
}
#endif

// Writes bytes to path so that path holds either its old content or all of the new one.
// On any failure the temporary file is removed, path is untouched and an error is raised.
inline void write_file_atomically(std::filesystem::path const& path, std::span<std::byte const> bytes, char const* who) {
    std::filesystem::path const tmp = temp_path_for(path);
#if MIEN_IO_POSIX
    int const fd = ::open(tmp.string().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::string const reason = last_error_text();
        fail("%s: cannot create %s: %s", who, tmp.string().c_str(), reason.c_str());
    }
    std::size_t done = 0;
    bool ok = true;
    while (ok && done < bytes.size()) {
        ssize_t const n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = false;
        else done += static_cast<std::size_t>(n);
    }
    // Data must be on disk before the rename makes it visible, or a crash could leave an
    // empty file under the final name.
    if (ok && ::fsync(fd) != 0) ok = false;
    std::string const reason = ok ? std::string() : last_error_text();
    if (::close(fd) != 0 && ok) ok = false;
    if (!ok) {
        ::unlink(tmp.string().c_str());
        fail("%s: cannot write %s: %s", who, tmp.string().c_str(), reason.empty() ? "close failed" : reason.c_str());
    }
#else
    std::FILE* file = std::fopen(tmp.string().c_str(), "wb");
    if (!file) fail("%s: cannot create %s", who, tmp.string().c_str());
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    ok = std::fflush(file) == 0 && ok;
    ok = std::fclose(file) == 0 && ok;
    if (!ok) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        fail("%s: cannot write %s", who, tmp.string().c_str());
    }
#endif
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        fail("%s: cannot rename %s to %s: %s", who, tmp.string().c_str(), path.string().c_str(), ec.message().c_str());
    }
#if MIEN_IO_POSIX
    remove_stale_temps(path);
    // Persist the rename itself (best effort: not every file system lets a directory be synced).
    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    int const dir_fd = ::open(dir.c_str(), O_RDONLY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
#endif
}

}  // namespace mien::detail

namespace mien {

// A text file (CSV, JSON, ...) written the way mien writes its own files: either the old content
// or all of the new one, never a truncated report. `who` names the writer in errors.
inline void write_text_file(std::filesystem::path const& path, std::string_view text, char const* who) {
    detail::write_file_atomically(path, std::as_bytes(std::span<char const>(text.data(), text.size())), who);
}

}  // namespace mien
// ---- end mien/io/binary.hpp ----
// ---- begin mien/io/fingerprint.hpp ----
// mien/io/fingerprint.hpp -- a network's topology as files see it: a compile-time
// fingerprint, a readable description and the names of its tensors.
//
//   static_assert(mien::topology_fingerprint<mien::models::paper<>> != mien::topology_fingerprint<mien::models::fast>);
//
// The fingerprint is FNV-1a 64 over every leaf layer, in order: its name, input and output
// extents (H, W, C), params, state_size and settings (every template argument that changes
// what the layer computes: kernel, stride, padding, bias, window, epsilon, ...; see
// core/layer.hpp). It is a constant of the network *type*, so a weights file can say which
// network wrote it at no run-time cost. The scalar type is left out on purpose: files store
// float32, and a float file loads into a double network.
//
// Version 1 (files written before settings were hashed) left the settings out, so max_pool<2>
// and max_pool<3, 2> on a 7x7 map looked the same; legacy_topology_fingerprint_v1 still gives
// that value, so the loaders can recognise an old file of the same topology.
//
// Tensor names are "<layer index>.<layer name>.<tensor name>", e.g. "00.conv2d.weight",
// "34.dense.bias": the layer index is the row of print_cost_table(), zero-padded to two digits
// (more when the network has over 100 leaf layers) so names sort in network order.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>


namespace mien {

namespace detail {

// FNV-1a 64: tiny, constexpr, and good enough to tell topologies apart (not a security hash).
struct fnv1a64 {
    std::uint64_t value = 0xcbf29ce484222325ull;
    constexpr void byte(unsigned char b) {
        value ^= b;
        value *= 0x100000001b3ull;
    }
    // Text is followed by a 0 byte so "ab"+"c" and "a"+"bc" hash differently.
    constexpr void text(std::string_view s) {
        for (char c : s) byte(static_cast<unsigned char>(c));
        byte(0);
    }
    constexpr void number(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) byte(static_cast<unsigned char>(v >> (8 * i)));
    }
};

template <class Body>
constexpr std::uint64_t fingerprint_of(bool with_settings) {
    fnv1a64 h;
    // The recipe's name: changes with the recipe, so fingerprints of different recipes never collide.
    h.text(with_settings ? "mien topology v2" : "mien topology v1");
    for_each_layer<Body>([&]<class L>(std::size_t, std::size_t, std::size_t) {
        using I = typename L::input_shape;
        using O = typename L::output_shape;
        h.text(L::name);
        for (std::size_t v : {I::height, I::width, I::channels, O::height, O::width, O::channels})
            h.number(v);
        h.number(L::params);
        h.number(L::state_size);
        if (with_settings) {
            h.number(L::settings.size());
            for (double v : L::settings) h.number(std::bit_cast<std::uint64_t>(v));
        }
    });
    return h.value;
}

template <class Body>
constexpr std::size_t leaf_count() {
    std::size_t n = 0;
    for_each_layer<Body>([&]<class L>(std::size_t, std::size_t, std::size_t) { ++n; });
    return n;
}

// Digits of the layer index in tensor names: at least two, enough for the last index.
template <class Body>
constexpr int index_digits() {
    int digits = 1;
    for (std::size_t last = leaf_count<Body>() > 0 ? leaf_count<Body>() - 1 : 0; last >= 10; last /= 10) ++digits;
    return digits < 2 ? 2 : digits;
}

}  // namespace detail

// The topology fingerprint of a network type (a basic_network).
template <class Net>
inline constexpr std::uint64_t topology_fingerprint = detail::fingerprint_of<typename Net::body>(true);
// The version-1 fingerprint of the same type (no settings), as files written before v2 carry.
template <class Net>
inline constexpr std::uint64_t legacy_topology_fingerprint_v1 = detail::fingerprint_of<typename Net::body>(false);

// One line per leaf layer: "00 conv2d 48x48x1 -> 48x48x32 params 288 state 0 settings 32,3,1,1,0"
// (no "settings" part for a layer without any). Stored in weights files so a person (or an
// error message) can see what wrote them.
template <class Net>
std::string topology_description() {
    std::string text;
    std::size_t index = 0;
    for_each_layer<typename Net::body>([&]<class L>(std::size_t, std::size_t, std::size_t) {
        using I = typename L::input_shape;
        using O = typename L::output_shape;
        char line[160];
        std::snprintf(line, sizeof line, "%0*zu %.*s %zux%zux%zu -> %zux%zux%zu params %zu state %zu",
                      detail::index_digits<typename Net::body>(), index++, int(L::name.size()), L::name.data(),
                      I::height, I::width, I::channels, O::height, O::width, O::channels, std::size_t(L::params),
                      std::size_t(L::state_size));
        text += line;
        char const* separator = " settings ";
        for (double v : L::settings) {
            std::snprintf(line, sizeof line, "%s%.17g", separator, v);
            text += line;
            separator = ",";
        }
        text += '\n';
    });
    return text;
}

// A tensor of a network with its file name.
struct named_tensor {
    std::string name;  // "00.conv2d.weight"
    tensor_info info;  // dims, offset, trainable (offset into parameters() or state())
};

// The file name of a tensor of Net.
template <class Net>
std::string tensor_file_name(tensor_info const& t) {
    char index[24];
    std::snprintf(index, sizeof index, "%0*zu", detail::index_digits<typename Net::body>(), t.layer_index);
    std::string name = index;
    name += '.';
    name += t.layer;
    name += '.';
    name += t.name;
    return name;
}

// Every tensor of net in network order (for each layer: its parameters, then its state).
template <class Net>
std::vector<named_tensor> named_tensors(Net const& net) {
    std::vector<named_tensor> list;
    net.for_each_tensor([&](tensor_info const& t) { list.push_back({tensor_file_name<Net>(t), t}); });
    return list;
}

}  // namespace mien
// ---- end mien/io/fingerprint.hpp ----

namespace mien {

inline constexpr std::uint32_t weights_format_version = 1;

enum class topology_check { shapes, exact };

// User key/value strings stored with weights or a checkpoint (epoch, step, best accuracy...).
// Keys starting with "mien." are reserved for the library.
using file_metadata = std::map<std::string, std::string>;

struct load_result {
    bool topology_matches = true;  // the file's fingerprint is the model's
    std::string warning;           // what differs when it is not (empty otherwise)
    std::uint64_t file_fingerprint = 0;
    std::uint64_t model_fingerprint = 0;
    std::string file_topology;     // the description the writer stored
    file_metadata metadata;        // the user's key/value pairs
    // The names of the model's outputs: as stored (reserved key mien.labels), else the default of
    // the output count (models/labels.hpp: FER2013's 7, FER+'s 8), else empty.
    std::vector<std::string> labels;
};

namespace detail {

enum class file_content : std::uint32_t { weights = 1, checkpoint = 2 };
enum class tensor_kind : std::uint32_t { parameter = 0, state = 1, optimizer = 2 };
inline constexpr std::size_t header_bytes = 16;  // magic, version, file size
inline constexpr std::size_t max_rank = 4;

inline char const* kind_text(tensor_kind k) {
    return k == tensor_kind::parameter ? "parameter" : k == tensor_kind::state ? "state" : "optimizer";
}

// A tensor to write: name, shape, kind and its values (converted to float32).
template <class T>
struct tensor_view {
    std::string name;
    std::array<std::uint64_t, max_rank> dims{};
    std::size_t rank = 0;
    tensor_kind kind = tensor_kind::parameter;
    T const* data = nullptr;
    std::size_t count = 0;
};

// A tensor as found in a file: its data stays in the byte buffer until the load is approved.
struct file_tensor {
    std::string name;
    std::array<std::uint64_t, max_rank> dims{};
    std::size_t rank = 0;
    tensor_kind kind = tensor_kind::parameter;
    std::size_t data_at = 0;  // byte offset of the float32 values
    std::size_t count = 0;
};

struct parsed_file {
    file_content content = file_content::weights;
    std::uint64_t fingerprint = 0;
    std::string description;
    file_metadata metadata;
    std::vector<file_tensor> tensors;
};

inline bool reserved_key(std::string_view key) { return key.starts_with("mien."); }

// Class names are stored one per line under mien.labels. A name must be non-empty and free of
// line breaks and commas (programs write them as CSV headers).
inline std::string encode_labels(std::span<std::string const> names, std::size_t outputs, char const* who) {
    if (names.size() != outputs)
        fail("%s: %zu class names for a model with %zu outputs", who, names.size(), outputs);
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i].empty() || names[i].find_first_of(",\r\n") != std::string::npos)
            fail("%s: class name %zu '%s' is empty or holds a comma or line break", who, i, names[i].c_str());
        text += (i ? "\n" : "") + names[i];
    }
    return text;
}

inline std::vector<std::string> decode_labels(file_metadata const& metadata, std::size_t outputs, char const* source) {
    std::vector<std::string> names;
    auto const it = metadata.find("mien.labels");
    if (it == metadata.end()) {
        for (auto name : default_class_names(outputs)) names.emplace_back(name);
        return names;
    }
    std::string_view rest = it->second;
    while (true) {
        std::size_t const end = rest.find('\n');
        names.emplace_back(rest.substr(0, end));
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    if (names.size() != outputs)
        fail("%s: the file names %zu classes (mien.labels), the model has %zu outputs", source, names.size(), outputs);
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i].empty() || names[i].find_first_of(",\r") != std::string::npos)
            fail("%s: class name %zu '%s' in mien.labels is empty or holds a comma", source, i, names[i].c_str());
    return names;
}

template <class T>
std::vector<std::byte> encode_file(file_content content, std::uint64_t fingerprint, std::string_view description,
                                   file_metadata const& metadata, std::vector<tensor_view<T>> const& tensors) {
    byte_writer w;
    w.raw("MIEN");
    w.u32(weights_format_version);
    w.u64(0);  // file size, patched below
    w.u32(static_cast<std::uint32_t>(content));
    w.u64(fingerprint);
    w.text(description);
    w.u32(static_cast<std::uint32_t>(metadata.size()));
    for (auto const& [key, value] : metadata) {
        w.text(key);
        w.text(value);
    }
    w.u32(static_cast<std::uint32_t>(tensors.size()));
    for (auto const& t : tensors) {
        w.text(t.name);
        w.u32(static_cast<std::uint32_t>(t.rank));
        for (std::size_t i = 0; i < t.rank; ++i) w.u64(t.dims[i]);
        w.u32(static_cast<std::uint32_t>(t.kind));
        for (std::size_t i = 0; i < t.count; ++i) w.f32(static_cast<float>(t.data[i]));
    }
    w.patch_u64(8, w.size() + 4);
    w.u32(crc32(w.bytes()));
    return std::move(w.bytes());
}

// Checks magic, version, size and checksum, then reads the structure. When the file is
// shorter than its header says, the parse goes as far as it can to say where it was cut.
inline parsed_file parse_file(std::span<std::byte const> bytes, char const* source) {
    std::size_t const size = bytes.size();
    std::string_view const magic = "MIEN";
    for (std::size_t i = 0; i < magic.size() && i < size; ++i)
        if (std::to_integer<char>(bytes[i]) != magic[i]) fail("%s: not a mien file (bad magic)", source);
    if (size < header_bytes) fail("%s: truncated file: %zu bytes, the header alone needs %zu", source, size, header_bytes);
    byte_reader r(bytes, 4);
    std::uint32_t const version = r.u32();
    if (version != weights_format_version)
        fail("%s: unsupported format version: expected %u, found %u", source, unsigned(weights_format_version), unsigned(version));
    std::uint64_t const declared = r.u64();
    bool const truncated = size < declared;
    if (size > declared)
        fail("%s: %zu unexpected bytes after the end of the file (its header says %llu bytes)", source,
             size - std::size_t(declared), static_cast<unsigned long long>(declared));
    if (!truncated) {
        byte_reader tail(bytes, size - 4);
        std::uint32_t const stored = tail.u32(), computed = crc32(bytes.first(size - 4));
        if (stored != computed)
            fail("%s: checksum mismatch: stored 0x%08x, computed 0x%08x (the file is corrupted)", source, unsigned(stored),
                 unsigned(computed));
    }
    // Where the reader ran out of bytes: a truncation if the file is short, else malformed.
    std::string where = "the header";
    auto check = [&] {
        if (r.ok()) return;
        if (truncated)
            fail("%s: truncated file: %zu of %llu bytes; it ends inside %s, read from byte %zu", source, size,
                 static_cast<unsigned long long>(declared), where.c_str(), r.position());
        fail("%s: malformed file: %s runs past the end (byte %zu)", source, where.c_str(), r.position());
    };
    parsed_file file;
    std::uint32_t const content = r.u32();
    file.fingerprint = r.u64();
    where = "the topology description";
    file.description = r.text();
    where = "the metadata";
    std::uint32_t const entries = r.u32();
    check();
    if (content != 1 && content != 2) fail("%s: malformed file: unknown content kind %u", source, unsigned(content));
    file.content = static_cast<file_content>(content);
    for (std::uint32_t i = 0; i < entries; ++i) {
        std::string key = r.text();
        std::string value = r.text();
        check();
        file.metadata[std::move(key)] = std::move(value);
    }
    where = "the tensor count";
    std::uint32_t const count = r.u32();
    check();
    for (std::uint32_t i = 0; i < count; ++i) {
        file_tensor t;
        where = "the header of tensor " + std::to_string(i);
        t.name = r.text();
        where = "the header of tensor " + std::to_string(i) + " (" + t.name + ")";
        t.rank = r.u32();
        check();
        if (t.rank == 0 || t.rank > max_rank)
            fail("%s: malformed file: %s has rank %zu (1 to %zu supported)", source, t.name.c_str(), t.rank, max_rank);
        t.count = 1;
        bool huge = false;  // more values than the file has bytes: never multiply past that
        for (std::size_t d = 0; d < t.rank; ++d) {
            t.dims[d] = r.u64();
            if (t.dims[d] != 0 && t.count > size / t.dims[d]) huge = true;
            else t.count *= std::size_t(t.dims[d]);
        }
        std::uint32_t const kind = r.u32();
        check();
        if (kind > 2) fail("%s: malformed file: %s has unknown kind %u", source, t.name.c_str(), unsigned(kind));
        t.kind = static_cast<tensor_kind>(kind);
        where = "the data of tensor " + std::to_string(i) + " (" + t.name + ")";
        t.data_at = r.position();
        r.skip(huge ? size + 1 : t.count * 4);
        check();
        file.tensors.push_back(std::move(t));
    }
    where = "the checksum";
    r.skip(4);
    check();
    if (truncated) fail("%s: truncated file: %zu of %llu bytes", source, size, static_cast<unsigned long long>(declared));
    if (r.position() != size) fail("%s: malformed file: the tensors end at byte %zu, the file at %zu", source, r.position() - 4, size - 4);
    return file;
}

// The network's tensors as writable views.
template <class Net>
void append_network(Net const& net, std::vector<tensor_view<typename Net::scalar>>& out) {
    for (auto const& t : named_tensors(net)) {
        tensor_view<typename Net::scalar> v;
        v.name = t.name;
        v.rank = t.info.rank;
        for (std::size_t i = 0; i < t.info.rank; ++i) v.dims[i] = t.info.dims[i];
        v.kind = t.info.trainable ? tensor_kind::parameter : tensor_kind::state;
        v.data = (t.info.trainable ? net.parameters().data() : net.state().data()) + t.info.offset;
        v.count = t.info.size();
        out.push_back(std::move(v));
    }
}

inline void check_user_metadata(file_metadata const& metadata, char const* who) {
    for (auto const& entry : metadata)
        if (reserved_key(entry.first)) fail("%s: metadata key '%s' is reserved (keys starting with 'mien.')", who, entry.first.c_str());
}

// Checks that the file's network tensors fit Net; fills the load_result. Throws on a mismatch.
template <class Net>
load_result match_network(parsed_file const& file, std::vector<named_tensor> const& model, char const* source,
                          topology_check policy) {
    load_result result;
    result.file_fingerprint = file.fingerprint;
    result.model_fingerprint = topology_fingerprint<Net>;
    // A file written before settings were hashed (fingerprint v1) matches when its v1 value does.
    result.topology_matches = file.fingerprint == result.model_fingerprint ||
                              file.fingerprint == legacy_topology_fingerprint_v1<Net>;
    result.file_topology = file.description;
    for (auto const& [key, value] : file.metadata)
        if (!reserved_key(key)) result.metadata[key] = value;
    result.labels = decode_labels(file.metadata, Net::outputs, source);

    std::vector<file_tensor const*> stored;
    for (auto const& t : file.tensors)
        if (t.kind != tensor_kind::optimizer) stored.push_back(&t);
    std::string const counts = stored.size() == model.size()
                                   ? std::string()
                                   : " (and the file has " + std::to_string(stored.size()) + " tensors, the model " +
                                         std::to_string(model.size()) + ")";
    std::string renamed;
    for (std::size_t i = 0; i < stored.size() && i < model.size(); ++i) {
        file_tensor const& f = *stored[i];
        tensor_info const& m = model[i].info;
        char const* name = model[i].name.c_str();
        tensor_kind const kind = m.trainable ? tensor_kind::parameter : tensor_kind::state;
        if (f.kind != kind)
            fail("%s: %s: file tensor %s is %s, the model's is %s%s", source, name, f.name.c_str(), kind_text(f.kind),
                 kind_text(kind), counts.c_str());
        bool same = f.rank == m.rank;
        for (std::size_t d = 0; same && d < m.rank; ++d) same = f.dims[d] == m.dims[d];
        if (!same)
            fail("%s: %s: file shape %s != model shape %s%s%s", source, name, format_shape(f.dims, f.rank).c_str(),
                 format_shape(m.dims, m.rank).c_str(), f.name == model[i].name ? "" : (" (file tensor " + f.name + ")").c_str(),
                 counts.c_str());
        if (renamed.empty() && f.name != model[i].name) renamed = "file tensor " + f.name + " loaded into " + model[i].name;
    }
    if (stored.size() != model.size())
        fail("%s: tensor count mismatch: file has %zu tensors, model has %zu (first unmatched: %s)", source, stored.size(),
             model.size(),
             stored.size() > model.size() ? ("file " + stored[model.size()]->name).c_str()
                                          : ("model " + model[stored.size()].name).c_str());
    if (!result.topology_matches || !renamed.empty()) {
        char head_text[160];
        std::snprintf(head_text, sizeof head_text, "topology fingerprint mismatch: file 0x%016llx != model 0x%016llx",
                      static_cast<unsigned long long>(file.fingerprint), static_cast<unsigned long long>(result.model_fingerprint));
        std::string const head = head_text;
        result.warning = result.topology_matches ? renamed : head + (renamed.empty() ? "" : "; " + renamed);
        result.topology_matches = false;
        if (policy == topology_check::exact)
            fail("%s: %s; file topology:\n%s", source, result.warning.c_str(), file.description.c_str());
    }
    return result;
}

// A weights file holds finite numbers only. NaN or infinity in a tensor means a diverged run
// wrote it or it was damaged before its checksum was computed; loaded, it would make every
// prediction NaN far from the cause, so the load is refused here, naming the tensor. The test
// is on the bits (exponent all ones), which -ffast-math cannot fold away as it may isfinite().
inline void check_finite(parsed_file const& file, std::span<std::byte const> bytes, char const* source) {
    for (auto const& t : file.tensors) {
        byte_reader r(bytes, t.data_at);
        for (std::size_t i = 0; i < t.count; ++i) {
            std::uint32_t const bits = r.u32();
            if ((bits & 0x7F800000u) != 0x7F800000u) continue;
            char const* const what = (bits & 0x007FFFFFu) != 0 ? "NaN" : (bits >> 31) != 0 ? "-inf" : "+inf";
            fail("%s: %s: value %zu of %zu is %s (a weights file must hold finite numbers)", source, t.name.c_str(), i,
                 t.count, what);
        }
    }
}

// Reads count float32 values at `at` into out (converting to T).
template <class T>
void read_values(std::span<std::byte const> bytes, std::size_t at, std::size_t count, T* out) {
    byte_reader r(bytes, at);
    for (std::size_t i = 0; i < count; ++i) out[i] = static_cast<T>(r.f32());
}

// Copies the (already validated) network tensors into net.
template <class Net>
void apply_network(parsed_file const& file, std::vector<named_tensor> const& model, std::span<std::byte const> bytes,
                   Net& net) {
    std::size_t i = 0;
    for (auto const& f : file.tensors) {
        if (f.kind == tensor_kind::optimizer) continue;
        tensor_info const& m = model[i++].info;
        auto* base = m.trainable ? net.parameters().data() : net.state().data();
        read_values(bytes, f.data_at, f.count, base + m.offset);
    }
}


}  // namespace detail

// ---- weights ----

// `labels`: the names of the outputs, stored with the weights (mien.labels); empty: the default
// names of the output count (models/labels.hpp), when there are any.
template <class Net>
std::vector<std::byte> encode_weights(Net const& net, file_metadata const& metadata = {},
                                      std::span<std::string const> labels = {}) {
    detail::check_user_metadata(metadata, "save_weights");
    file_metadata all = metadata;
    if (!labels.empty()) {
        all["mien.labels"] = detail::encode_labels(labels, Net::outputs, "save_weights");
    } else if (auto const names = default_class_names(Net::outputs); !names.empty()) {
        std::vector<std::string> const defaults(names.begin(), names.end());
        all["mien.labels"] = detail::encode_labels(defaults, Net::outputs, "save_weights");
    }
    std::vector<detail::tensor_view<typename Net::scalar>> tensors;
    detail::append_network(net, tensors);
    return detail::encode_file(detail::file_content::weights, topology_fingerprint<Net>, topology_description<Net>(),
                               all, tensors);
}

// Loads weights (or the network part of a checkpoint) into net; net is unchanged on error.
template <class Net>
load_result decode_weights(Net& net, std::span<std::byte const> bytes, char const* source = "<memory>",
                           topology_check policy = topology_check::shapes) {
    detail::parsed_file const file = detail::parse_file(bytes, source);
    auto const model = named_tensors(net);
    load_result result = detail::match_network<Net>(file, model, source, policy);
    detail::check_finite(file, bytes, source);
    detail::apply_network(file, model, bytes, net);
    return result;
}

template <class Net>
void save_weights(Net const& net, std::filesystem::path const& path, file_metadata const& metadata = {},
                  std::span<std::string const> labels = {}) {
    detail::write_file_atomically(path, encode_weights(net, metadata, labels), "save_weights");
}

template <class Net>
load_result load_weights(Net& net, std::filesystem::path const& path, topology_check policy = topology_check::shapes) {
    auto const bytes = detail::read_file(path, "load_weights");
    return decode_weights(net, bytes, path.string().c_str(), policy);
}

}  // namespace mien
// ---- end mien/io/weights.hpp ----

namespace mien {

namespace detail {

template <class O>
concept adam_like = requires(O& o) {
    o.first_moment();
    o.second_moment();
};
template <class O>
concept sgd_like = requires(O& o) { o.velocity(); };

template <class O>
constexpr std::string_view optimizer_name() {
    static_assert(adam_like<O> || sgd_like<O>, "checkpoint: the optimizer has neither Adam moments nor SGD velocity");
    return adam_like<O> ? "adam" : "sgd";
}

// The optimizer's state arrays, with the names checkpoints give them.
template <class O, class F>
void for_each_moment(O& o, F&& f) {
    if constexpr (adam_like<O>) {
        f("optimizer.first_moment", o.first_moment());
        f("optimizer.second_moment", o.second_moment());
    } else {
        f("optimizer.velocity", o.velocity());
    }
}

inline std::string number_text(double v) {
    char text[32];
    auto const end = std::to_chars(text, text + sizeof text, v).ptr;  // shortest exact, locale-free
    return std::string(text, end);
}

template <class V>
V parse_number(file_metadata const& m, std::string const& key, char const* source) {
    auto const it = m.find(key);
    if (it == m.end()) fail("%s: checkpoint lacks '%s'", source, key.c_str());
    V v{};
    auto const [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec != std::errc() || end != it->second.data() + it->second.size())
        fail("%s: checkpoint value of '%s' is not a number: '%s'", source, key.c_str(), it->second.c_str());
    return v;
}

}  // namespace detail

template <class Net, class Optimizer>
std::vector<std::byte> encode_checkpoint(Net const& net, Optimizer& optimizer, random_generator const& rng,
                                         file_metadata const& metadata = {}) {
    using T = typename Net::scalar;
    detail::check_user_metadata(metadata, "save_checkpoint");
    file_metadata all = metadata;
    all["mien.optimizer"] = std::string(detail::optimizer_name<Optimizer>());
    all["mien.optimizer.steps"] = std::to_string(optimizer.steps());
    all["mien.optimizer.learning_rate"] = detail::number_text(optimizer.learning_rate());
    all["mien.rng.state"] = std::to_string(rng.state());
    std::vector<detail::tensor_view<T>> tensors;
    detail::append_network(net, tensors);
    detail::for_each_moment(optimizer, [&](char const* name, auto const& values) {
        detail::tensor_view<T> v;
        v.name = name;
        v.rank = 1;
        v.dims[0] = values.size();
        v.kind = detail::tensor_kind::optimizer;
        v.data = values.data();
        v.count = values.size();
        tensors.push_back(std::move(v));
    });
    return detail::encode_file(detail::file_content::checkpoint, topology_fingerprint<Net>, topology_description<Net>(),
                               all, tensors);
}

// Restores net, optimizer and rng; all three are unchanged on error.
template <class Net, class Optimizer>
load_result decode_checkpoint(Net& net, Optimizer& optimizer, random_generator& rng, std::span<std::byte const> bytes,
                              char const* source = "<memory>") {
    detail::parsed_file const file = detail::parse_file(bytes, source);
    if (file.content != detail::file_content::checkpoint)
        fail("%s: a weights file, not a checkpoint (it has no optimizer state)", source);
    auto const model = named_tensors(net);
    load_result result = detail::match_network<Net>(file, model, source, topology_check::exact);
    auto const name_it = file.metadata.find("mien.optimizer");
    std::string_view const expected = detail::optimizer_name<Optimizer>();
    if (name_it == file.metadata.end() || name_it->second != expected)
        fail("%s: checkpoint optimizer '%s' != trainer optimizer '%.*s'", source,
             name_it == file.metadata.end() ? "(none)" : name_it->second.c_str(), int(expected.size()), expected.data());
    auto const steps = detail::parse_number<std::uint64_t>(file.metadata, "mien.optimizer.steps", source);
    auto const lr = detail::parse_number<double>(file.metadata, "mien.optimizer.learning_rate", source);
    auto const state = detail::parse_number<std::uint64_t>(file.metadata, "mien.rng.state", source);
    // Match the optimizer tensors by name and size before anything is written.
    detail::for_each_moment(optimizer, [&](char const* name, auto const& values) {
        for (auto const& t : file.tensors) {
            if (t.kind != detail::tensor_kind::optimizer || t.name != name) continue;
            if (t.rank != 1 || t.dims[0] != values.size())
                fail("%s: %s: file shape %s != model shape (%zu)", source, name, detail::format_shape(t.dims, t.rank).c_str(),
                     values.size());
            return;
        }
        fail("%s: checkpoint lacks optimizer tensor %s", source, name);
    });
    detail::check_finite(file, bytes, source);  // network and optimizer tensors alike
    detail::apply_network(file, model, bytes, net);
    detail::for_each_moment(optimizer, [&](char const* name, auto& values) {
        for (auto const& t : file.tensors)
            if (t.kind == detail::tensor_kind::optimizer && t.name == name) detail::read_values(bytes, t.data_at, t.count, values.data());
    });
    optimizer.set_steps(steps);
    optimizer.set_learning_rate(lr);
    rng.set_state(state);
    return result;
}

template <class Net, class Optimizer>
void save_checkpoint(Net const& net, Optimizer& optimizer, random_generator const& rng, std::filesystem::path const& path,
                     file_metadata const& metadata = {}) {
    detail::write_file_atomically(path, encode_checkpoint(net, optimizer, rng, metadata), "save_checkpoint");
}

template <class Net, class Optimizer>
load_result load_checkpoint(Net& net, Optimizer& optimizer, random_generator& rng, std::filesystem::path const& path) {
    auto const bytes = detail::read_file(path, "load_checkpoint");
    return decode_checkpoint(net, optimizer, rng, bytes, path.string().c_str());
}

// The same for a mien::trainer (anything with network(), optimizer() and rng()).
template <class Trainer>
concept checkpointable = requires(Trainer& t) {
    t.network();
    t.optimizer();
    t.rng();
};

template <checkpointable Trainer>
std::vector<std::byte> encode_checkpoint(Trainer& trainer, file_metadata const& metadata = {}) {
    return encode_checkpoint(trainer.network(), trainer.optimizer(), trainer.rng(), metadata);
}
template <checkpointable Trainer>
load_result decode_checkpoint(Trainer& trainer, std::span<std::byte const> bytes, char const* source = "<memory>") {
    return decode_checkpoint(trainer.network(), trainer.optimizer(), trainer.rng(), bytes, source);
}
template <checkpointable Trainer>
void save_checkpoint(Trainer& trainer, std::filesystem::path const& path, file_metadata const& metadata = {}) {
    save_checkpoint(trainer.network(), trainer.optimizer(), trainer.rng(), path, metadata);
}
template <checkpointable Trainer>
load_result load_checkpoint(Trainer& trainer, std::filesystem::path const& path) {
    return load_checkpoint(trainer.network(), trainer.optimizer(), trainer.rng(), path);
}

}  // namespace mien
// ---- end mien/io/checkpoint.hpp ----
// ---- begin mien/io/embed.hpp ----
// mien/io/embed.hpp -- a network's parameters and state as a C++ header of constant arrays.
//
//   mien::models::fast net;
//   mien::load_weights(net, "models/fast.mien", mien::topology_check::exact);
//   std::string text = mien::weights_header(net, {.name_space = "fast_weights", .model = "fast"});
//
// The header defines, in namespace <name_space>, `parameters` and `state` as `inline constexpr
// float` arrays with Net::params and Net::state_size elements, the topology fingerprint and
// the model's name. A microcontroller build keeps them in flash (.rodata) and predicts through
// mien::network_view without a copy in RAM:
//
//   mien::network_view<mien::models::fast> view{fast_weights::parameters, fast_weights::state};
//
// Values are written as hexadecimal float literals (0x1.8p-3f): every float32 is exactly
// representable that way, so the arrays equal the loaded parameters bit for bit, which decimal
// text would only promise with 9 significant digits and a correctly rounding compiler. A
// non-finite value (which a literal cannot express) is an error naming the tensor. The header
// includes nothing of mien, so it compiles quickly and alone in a firmware build.
// `mien-embed` (examples/mien_embed.cpp) and cmake/mien_embed.cmake wrap this for a build.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>


namespace mien {

struct embed_options {
    std::string name_space = "mien_weights";  // the C++ namespace of the arrays
    std::string model;                         // the model's name, for the header's comment and `model`
    std::string source;                        // where the values came from (a .mien path), for the comment
};

namespace detail {

// A float as an exact C++ literal: "0x1.8p-3f", "-0x0p+0f".
inline void append_hex_float(std::string& out, float value) {
    char digits[32];
    auto const [end, ec] = std::to_chars(digits, digits + sizeof digits, std::fabs(value), std::chars_format::hex);
    if (ec != std::errc()) fail("weights_header: cannot format %a", double(value));
    if (std::signbit(value)) out += '-';
    out += "0x";
    out.append(digits, end);
    out += 'f';
}

inline bool valid_identifier(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

// The array `name` holding values[0, count), with each tensor of `kind` announced by a
// comment line (name, shape and offset) before its values.
template <class Net, class T>
void append_array(std::string& out, char const* name, std::size_t count, T const* values,
                  std::vector<named_tensor> const& tensors, bool trainable) {
    // C++ has no zero-length arrays; no model of mien lacks parameters or running statistics.
    if (count == 0) fail("weights_header: the network has no %s values to write", trainable ? "parameter" : "state");
    char text[192];
    std::snprintf(text, sizeof text, "alignas(16) inline constexpr float %s[%zu] = {\n", name, count);
    out += text;
    for (auto const& t : tensors) {
        if (t.info.trainable != trainable) continue;
        std::snprintf(text, sizeof text, "    // %s %s, offset %zu\n", t.name.c_str(),
                      format_shape(t.info.dims, t.info.rank).c_str(), t.info.offset);
        out += text;
        for (std::size_t i = 0; i < t.info.size(); ++i) {
            float const v = static_cast<float>(values[t.info.offset + i]);
            if (!std::isfinite(v))
                fail("weights_header: %s[%zu] is %g: a non-finite value has no C++ literal", t.name.c_str(), i, double(v));
            out += i % 8 == 0 ? "    " : " ";
            append_hex_float(out, v);
            out += ',';
            if (i % 8 == 7 || i + 1 == t.info.size()) out += '\n';
        }
    }
    out += "};\n";
}

}  // namespace detail

// The header text (see the top of this file). Throws mien::error on a bad namespace name or a
// non-finite value.
template <class Net>
std::string weights_header(Net const& net, embed_options const& o) {
    if (!detail::valid_identifier(o.name_space))
        fail("weights_header: namespace '%s' is not a C++ identifier", o.name_space.c_str());
    auto const tensors = named_tensors(net);
    std::string out;
    char text[256];
    out += "// " + o.name_space + ".hpp -- GENERATED by mien-embed";
    if (!o.source.empty()) out += " from " + o.source;
    out += "; do not edit.\n//\n";
    out += "// The parameters and running statistics of " + (o.model.empty() ? std::string("a mien network") : "mien model '" + o.model + "'") +
           " as constant arrays\n// (mien/io/embed.hpp):\n";
    out += "//   mien::network_view<Net> view{" + o.name_space + "::parameters, " + o.name_space + "::state};\n";
    out += "//   static_assert(" + o.name_space + "::topology_fingerprint == mien::topology_fingerprint<Net>);\n";
    out += "//\n// Topology:\n";
    std::string const description = topology_description<Net>();
    for (std::size_t at = 0; at < description.size();) {
        std::size_t const end = description.find('\n', at);
        out += "//   " + description.substr(at, end - at) + "\n";
        at = end == std::string::npos ? description.size() : end + 1;
    }
    out += "#pragma once\n\n#include <cstddef>\n#include <cstdint>\n\nnamespace " + o.name_space + " {\n\n";
    out += "inline constexpr char model[] = \"" + o.model + "\";\n";
    std::snprintf(text, sizeof text, "inline constexpr std::uint64_t topology_fingerprint = 0x%016llxull;\n",
                  static_cast<unsigned long long>(topology_fingerprint<Net>));
    out += text;
    std::snprintf(text, sizeof text, "inline constexpr std::size_t params = %zu;\ninline constexpr std::size_t state_size = %zu;\n\n",
                  std::size_t(Net::params), std::size_t(Net::state_size));
    out += text;
    detail::append_array<Net>(out, "parameters", Net::params, net.parameters().data(), tensors, true);
    out += '\n';
    detail::append_array<Net>(out, "state", Net::state_size, net.state().data(), tensors, false);
    out += "\n}  // namespace " + o.name_space + "\n";
    return out;
}

}  // namespace mien
// ---- end mien/io/embed.hpp ----
// ---- begin mien/io/npz.hpp ----
// mien/io/npz.hpp -- the network's tensors as a NumPy .npz archive, and back.
//
//   mien::save_npz(net, "model.npz");        // np.load("model.npz")["00.conv2d.weight"]
//   auto r = mien::load_npz(net, "model.npz");
//
// An .npz is a ZIP archive of .npy files. Arrays are named like the tensors of a .mien file
// ("00.conv2d.weight", see fingerprint.hpp), dtype '<f4', C order, shape = the tensor's dims:
//   conv2d / pointwise weight  [K][K][Cin][F] (HWIO, as Keras/TF)   bias [F]
//   depthwise_conv2d weight    [K][K][C]
//   dense weight               [In][Out]                           bias [Out]
//   qk_projection query_weight [C][Dq], query_bias [Dq], key_weight [C][Dk], key_bias [Dk]
//   additive_attention query_weight, key_weight [D][D], bias, score [D]
//   batch_norm gamma, beta, running_mean, running_var [C]         dropout rate [1]
// State tensors (running statistics, dropout rate) are included, so the archive is complete.
//
// Writing: stored (uncompressed) entries, our own ZIP headers and CRC-32; no zlib, and the
// output is deterministic (fixed timestamps). Reading accepts what np.savez writes (stored
// entries, zip64 extras, .npy versions 1 to 3, '<f4' or '<f8', C or Fortran order).
// Deflated entries (np.savez_compressed) are inflated with zlib when MIEN_WITH_ZLIB is defined
// and zlib linked (the CMake target mien::zlib does both); without it they are a clear error.
// zlib stays out of every other header, so the core and the umbrella need nothing but xsimd.
// Define MIEN_WITH_ZLIB for every translation unit of a program or for none: this header's
// inline functions differ with it.
// Loading checks every array before it writes any: the network is unchanged on error. Arrays
// the model has no tensor for are not an error; their names come back in npz_result::unused.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#if defined(MIEN_WITH_ZLIB)
#include <zlib.h>
#endif


namespace mien {

// One array of an .npz, in C order, whatever order and float width the file used.
struct npy_array {
    std::vector<std::size_t> shape;
    std::vector<double> values;
};

struct npz_result {
    std::vector<std::string> unused;  // arrays in the file that no model tensor took
};

namespace detail {

inline constexpr std::uint32_t zip_local_signature = 0x04034b50u;
inline constexpr std::uint32_t zip_central_signature = 0x02014b50u;
inline constexpr std::uint32_t zip_end_signature = 0x06054b50u;
inline constexpr std::uint32_t zip64_end_signature = 0x06064b50u;
inline constexpr std::uint32_t zip64_locator_signature = 0x07064b50u;
inline constexpr std::uint16_t zip_dos_date = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible files

// The .npy v1.0 header: magic, version, length, then the dict padded to 64 bytes with '\n'.
inline std::string npy_header(std::span<std::size_t const> shape) {
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
    dict += shape.size() == 1 ? ",), }" : "), }";  // Python's tuples: (32,) and (3, 3)
    std::size_t const unpadded = 10 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict += '\n';
    std::string header = "\x93NUMPY";
    header += '\x01';
    header += '\x00';
    header += static_cast<char>(dict.size() & 0xFF);
    header += static_cast<char>(dict.size() >> 8);
    return header + dict;
}

struct npz_entry_out {
    std::string name;  // without ".npy"
    std::vector<std::size_t> shape;
    std::vector<float> values;
};

inline std::vector<std::byte> encode_zip_of_npy(std::vector<npz_entry_out> const& arrays) {
    if (arrays.size() >= 0xFFFF) fail("save_npz: %zu arrays, a ZIP without zip64 holds at most 65534", arrays.size());
    byte_writer w;
    struct placed { std::string name; std::uint32_t crc; std::uint32_t size; std::uint32_t offset; };
    std::vector<placed> central;
    for (auto const& a : arrays) {
        byte_writer body;
        body.raw(npy_header(a.shape));
        for (float v : a.values) body.f32(v);
        if (body.size() >= 0xFFFFFFFFu || w.size() >= 0xFFFFFFFFu) fail("save_npz: %s: over 4 GiB needs zip64, which mien does not write", a.name.c_str());
        placed p{a.name + ".npy", crc32(body.bytes()), static_cast<std::uint32_t>(body.size()), static_cast<std::uint32_t>(w.size())};
        w.u32(zip_local_signature);
        for (std::uint16_t v : {std::uint16_t(20), std::uint16_t(0), std::uint16_t(0), std::uint16_t(0), zip_dos_date}) w.u16(v);  // version, flags, stored, time, date
        w.u32(p.crc);
        w.u32(p.size);  // compressed size = size: stored
        w.u32(p.size);
        w.u16(static_cast<std::uint16_t>(p.name.size()));
        w.u16(0);
        w.raw(p.name);
        w.raw(body.bytes());
        central.push_back(std::move(p));
    }
    std::size_t const directory_at = w.size();
    for (auto const& p : central) {
        w.u32(zip_central_signature);
        for (std::uint16_t v : {std::uint16_t(20), std::uint16_t(20), std::uint16_t(0), std::uint16_t(0), std::uint16_t(0), zip_dos_date}) w.u16(v);
        w.u32(p.crc);
        w.u32(p.size);
        w.u32(p.size);
        w.u16(static_cast<std::uint16_t>(p.name.size()));
        for (int i = 0; i < 4; ++i) w.u16(0);  // extra, comment, disk, internal attributes
        w.u32(0);                               // external attributes
        w.u32(p.offset);
        w.raw(p.name);
    }
    std::size_t const directory_size = w.size() - directory_at;
    if (w.size() >= 0xFFFFFFFFu) fail("save_npz: archive over 4 GiB needs zip64, which mien does not write");
    w.u32(zip_end_signature);
    w.u16(0);
    w.u16(0);
    w.u16(static_cast<std::uint16_t>(central.size()));
    w.u16(static_cast<std::uint16_t>(central.size()));
    w.u32(static_cast<std::uint32_t>(directory_size));
    w.u32(static_cast<std::uint32_t>(directory_at));
    w.u16(0);
    return std::move(w.bytes());
}

struct zip_entry {
    std::string name;
    std::uint16_t method = 0;  // 0 stored, 8 deflate
    std::uint32_t crc = 0;
    std::uint64_t size = 0;           // uncompressed size, from the central directory
    std::span<std::byte const> data;  // as stored (compressed if method != 0)
};

// The central directory, with each entry's data located through its local header.
inline std::vector<zip_entry> read_zip(std::span<std::byte const> bytes, char const* source) {
    std::size_t const size = bytes.size();
    if (size < 22) fail("%s: not a ZIP/.npz file (%zu bytes, too short)", source, size);
    std::size_t end = size - 22;
    std::size_t const lowest = size >= 22 + 0xFFFF ? size - 22 - 0xFFFF : 0;  // the comment is at most 64 KiB
    for (;; --end) {
        if (byte_reader(bytes, end).u32() == zip_end_signature) break;
        if (end == lowest) fail("%s: not a ZIP/.npz file (no end of central directory)", source);
    }
    byte_reader e(bytes, end + 10);
    std::uint64_t count = e.u16();
    e.skip(4);  // directory size: the entries say their own lengths
    std::uint64_t directory_at = e.u32();
    if ((count == 0xFFFF || directory_at == 0xFFFFFFFFu) && end >= 20 && byte_reader(bytes, end - 20).u32() == zip64_locator_signature) {
        byte_reader locator(bytes, end - 12);
        std::uint64_t const at = locator.u64();
        byte_reader z(bytes, at > size ? size : std::size_t(at));
        if (z.u32() != zip64_end_signature) fail("%s: corrupt ZIP: bad zip64 end record", source);
        z.skip(28);
        count = z.u64();
        z.skip(8);
        directory_at = z.u64();
        if (!z.ok()) fail("%s: truncated ZIP: zip64 end record", source);
    }
    std::vector<zip_entry> entries;
    byte_reader c(bytes, directory_at > size ? size : std::size_t(directory_at));
    for (std::uint64_t i = 0; i < count; ++i) {
        if (c.u32() != zip_central_signature) fail("%s: corrupt ZIP: bad central directory entry %llu", source, static_cast<unsigned long long>(i));
        c.skip(4);
        std::uint16_t const flags = c.u16();
        zip_entry entry;
        entry.method = c.u16();
        c.skip(4);
        entry.crc = c.u32();
        std::uint64_t packed = c.u32();
        std::uint64_t unpacked = c.u32();
        std::uint16_t const name_length = c.u16(), extra_length = c.u16(), comment_length = c.u16();
        c.skip(8);
        std::uint64_t local_at = c.u32();
        auto const name = c.take(name_length);
        entry.name.assign(reinterpret_cast<char const*>(name.data()), name.size());
        // zip64: the 0xFFFFFFFF fields are in extra block 0x0001, in this order.
        byte_reader extra(c.take(extra_length));
        while (extra.has(4)) {
            std::uint16_t const id = extra.u16(), length = extra.u16();
            std::size_t const next = extra.position() + length;
            if (id == 0x0001) {
                if (unpacked == 0xFFFFFFFFu) unpacked = extra.u64();
                if (packed == 0xFFFFFFFFu) packed = extra.u64();
                if (local_at == 0xFFFFFFFFu) local_at = extra.u64();
            }
            extra.seek(next);
        }
        c.skip(comment_length);
        if (!c.ok()) fail("%s: truncated ZIP central directory (entry %llu)", source, static_cast<unsigned long long>(i));
        if (flags & 1u) fail("%s: %s is encrypted", source, entry.name.c_str());
        byte_reader local(bytes, local_at > size ? size : std::size_t(local_at));
        if (local.u32() != zip_local_signature) fail("%s: corrupt ZIP: bad local header for %s", source, entry.name.c_str());
        local.skip(22);
        std::uint16_t const local_name = local.u16(), local_extra = local.u16();
        local.skip(std::size_t(local_name) + local_extra);
        entry.data = local.take(packed > size ? size + 1 : std::size_t(packed));
        if (!local.ok()) fail("%s: truncated file: the data of %s runs past the end", source, entry.name.c_str());
        if (entry.method == 0 && unpacked != packed) fail("%s: corrupt ZIP: stored %s has two sizes", source, entry.name.c_str());
        entry.size = unpacked;
        entries.push_back(std::move(entry));
    }
    return entries;
}

// Finds `'key':` in a .npy header dict and returns what follows it, spaces skipped.
inline std::string_view npy_field(std::string_view dict, std::string_view key, char const* source, std::string const& name) {
    std::size_t at = dict.find("'" + std::string(key) + "'");
    if (at == std::string_view::npos) at = dict.find("\"" + std::string(key) + "\"");
    if (at == std::string_view::npos) fail("%s: %s: .npy header lacks '%.*s'", source, name.c_str(), int(key.size()), key.data());
    at = dict.find(':', at);
    if (at == std::string_view::npos) fail("%s: %s: malformed .npy header", source, name.c_str());
    std::string_view rest = dict.substr(at + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return rest;
}

// One stored .npy file, converted to double in C order.
inline npy_array parse_npy(std::span<std::byte const> bytes, char const* source, std::string const& name) {
    byte_reader r(bytes);
    auto const magic = r.take(6);
    if (!r.ok() || std::string_view(reinterpret_cast<char const*>(magic.data()), 6) != "\x93NUMPY")
        fail("%s: %s: not a .npy array (bad magic)", source, name.c_str());
    std::uint8_t const major = r.u8();
    r.u8();
    std::size_t const length = major == 1 ? r.u16() : r.u32();
    if (major < 1 || major > 3) fail("%s: %s: unsupported .npy version %u", source, name.c_str(), unsigned(major));
    auto const text = r.take(length);
    if (!r.ok()) fail("%s: %s: truncated .npy header", source, name.c_str());
    std::string_view const dict(reinterpret_cast<char const*>(text.data()), text.size());

    std::string_view descr = npy_field(dict, "descr", source, name);
    std::size_t const close = descr.find(descr.empty() ? '\'' : descr.front(), 1);
    descr = close == std::string_view::npos ? std::string_view() : descr.substr(1, close - 1);
    std::size_t const item = descr == "<f4" ? 4 : descr == "<f8" ? 8 : 0;
    if (item == 0)
        fail("%s: %s: dtype '%.*s' is not supported (expected '<f4' or '<f8')", source, name.c_str(), int(descr.size()), descr.data());
    bool const fortran = npy_field(dict, "fortran_order", source, name).starts_with("True");

    npy_array a;
    std::string_view shape = npy_field(dict, "shape", source, name);
    if (shape.empty() || shape.front() != '(') fail("%s: %s: malformed .npy shape", source, name.c_str());
    std::size_t count = 1;
    for (std::size_t i = 1; i < shape.size() && shape[i] != ')';) {
        if (shape[i] < '0' || shape[i] > '9') {
            ++i;
            continue;
        }
        std::size_t d = 0;
        while (i < shape.size() && shape[i] >= '0' && shape[i] <= '9') d = d * 10 + std::size_t(shape[i++] - '0');
        a.shape.push_back(d);
        count = d != 0 && count > bytes.size() / d ? bytes.size() + 1 : count * d;
    }
    auto const data = r.take(count > bytes.size() ? bytes.size() + 1 : count * item);
    if (!r.ok())
        fail("%s: %s: truncated array data: shape %s needs %zu bytes, %zu present", source, name.c_str(),
             format_shape(a.shape, a.shape.size()).c_str(), count * item, bytes.size() - r.position());
    a.values.resize(count);
    byte_reader v(data);
    // Fortran order: the first index varies fastest. Walk the C-order index and its file offset.
    std::vector<std::size_t> index(a.shape.size(), 0), stride(a.shape.size(), 1);
    for (std::size_t k = 1; k < a.shape.size(); ++k) stride[k] = stride[k - 1] * a.shape[k - 1];
    for (std::size_t i = 0; i < count; ++i) {
        std::size_t at = i;
        if (fortran) {
            at = 0;
            for (std::size_t k = 0; k < a.shape.size(); ++k) at += index[k] * stride[k];
            for (std::size_t k = a.shape.size(); k-- > 0;) {
                if (++index[k] < a.shape[k]) break;
                index[k] = 0;
            }
        }
        v.seek(at * item);
        a.values[i] = item == 4 ? double(v.f32()) : std::bit_cast<double>(v.u64());
    }
    return a;
}

inline std::string_view array_name(std::string_view entry) {
    return entry.ends_with(".npy") ? entry.substr(0, entry.size() - 4) : entry;
}

#if defined(MIEN_WITH_ZLIB)
// A deflated entry (ZIP method 8: raw deflate, no zlib header), inflated to exactly the size the
// central directory gives. Deflate cannot expand data more than about 1032 times, so a larger
// claimed size is a corrupt (or hostile) file, refused before anything is allocated for it.
inline std::vector<std::byte> inflate_entry(zip_entry const& e, char const* source, std::string const& name) {
    if (e.size > 1032 * std::uint64_t(e.data.size()) + 1024)
        fail("%s: %s: corrupt ZIP: %llu bytes cannot inflate to the %llu claimed", source, name.c_str(),
             static_cast<unsigned long long>(e.data.size()), static_cast<unsigned long long>(e.size));
    std::vector<std::byte> out(static_cast<std::size_t>(e.size));
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail("%s: %s: zlib: inflateInit2 failed", source, name.c_str());
    // zlib counts in uInt (32 bits): feed and drain in chunks that type holds.
    constexpr std::size_t chunk = std::size_t(1) << 30;
    std::size_t in_at = 0, out_at = 0;
    std::byte spare{};  // room for one byte past the claimed size, to notice a longer stream
    std::string problem;
    for (;;) {
        if (z.avail_in == 0 && in_at < e.data.size()) {
            std::size_t const n = std::min(chunk, e.data.size() - in_at);
            z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(e.data.data() + in_at));  // zlib does not write it
            z.avail_in = static_cast<uInt>(n);
            in_at += n;
        }
        bool const full = out_at == out.size();
        std::size_t const room = full ? 1 : std::min(chunk, out.size() - out_at);
        z.next_out = reinterpret_cast<Bytef*>(full ? &spare : out.data() + out_at);
        z.avail_out = static_cast<uInt>(room);
        int const status = inflate(&z, Z_NO_FLUSH);
        std::size_t const produced = room - z.avail_out;
        if (full && produced > 0) {
            problem = "it inflates to more than the " + std::to_string(out.size()) + " bytes the directory gives";
            break;
        }
        out_at += produced;
        if (status == Z_STREAM_END) break;
        if (status == Z_BUF_ERROR && z.avail_in == 0 && in_at == e.data.size()) {
            problem = "the deflate stream is cut short";
            break;
        }
        if (status != Z_OK && status != Z_BUF_ERROR) {
            problem = z.msg ? std::string("zlib: ") + z.msg : "zlib error " + std::to_string(status);
            break;
        }
    }
    inflateEnd(&z);
    if (!problem.empty()) fail("%s: %s: cannot inflate the compressed entry: %s", source, name.c_str(), problem.c_str());
    if (out_at != out.size())
        fail("%s: %s: cannot inflate the compressed entry: the stream ends after %zu of the %zu bytes the directory gives",
             source, name.c_str(), out_at, out.size());
    return out;
}
#endif

inline npy_array read_entry(zip_entry const& e, char const* source) {
    std::string const name(array_name(e.name));
    std::span<std::byte const> data = e.data;
#if defined(MIEN_WITH_ZLIB)
    std::vector<std::byte> inflated;
    if (e.method == 8) {
        inflated = inflate_entry(e, source, name);
        data = inflated;
    } else if (e.method != 0) {
        fail("%s: %s: ZIP method %u is not supported (expected 0, stored, or 8, deflate)", source, name.c_str(), unsigned(e.method));
    }
#else
    if (e.method != 0)
        fail("%s: %s is compressed (ZIP method %u); this build reads stored entries only: define MIEN_WITH_ZLIB and link "
             "zlib (CMake: mien::zlib), or save with np.savez, not np.savez_compressed",
             source, name.c_str(), unsigned(e.method));
#endif
    // The CRC-32 is of the uncompressed bytes (ZIP's rule), so it checks the inflater too.
    if (crc32(data) != e.crc) fail("%s: %s: CRC-32 mismatch (the file is corrupted)", source, name.c_str());
    return parse_npy(data, source, name);
}

}  // namespace detail

// Every array of an .npz (names without ".npy").
inline std::map<std::string, npy_array> decode_npz_arrays(std::span<std::byte const> bytes, char const* source = "<memory>") {
    std::map<std::string, npy_array> arrays;
    for (auto const& e : detail::read_zip(bytes, source)) arrays[std::string(detail::array_name(e.name))] = detail::read_entry(e, source);
    return arrays;
}

inline std::map<std::string, npy_array> read_npz(std::filesystem::path const& path) {
    auto const bytes = detail::read_file(path, "read_npz");
    return decode_npz_arrays(bytes, path.string().c_str());
}

template <class Net>
std::vector<std::byte> encode_npz(Net const& net) {
    std::vector<detail::npz_entry_out> arrays;
    for (auto const& t : named_tensors(net)) {
        detail::npz_entry_out a;
        a.name = t.name;
        a.shape.assign(t.info.dims.begin(), t.info.dims.begin() + static_cast<std::ptrdiff_t>(t.info.rank));
        auto const* data = (t.info.trainable ? net.parameters().data() : net.state().data()) + t.info.offset;
        a.values.assign(data, data + t.info.size());
        arrays.push_back(std::move(a));
    }
    return detail::encode_zip_of_npy(arrays);
}

// Loads every tensor of net from the archive; net is unchanged on error.
template <class Net>
npz_result decode_npz(Net& net, std::span<std::byte const> bytes, char const* source = "<memory>") {
    using T = typename Net::scalar;
    auto const entries = detail::read_zip(bytes, source);
    std::map<std::string_view, detail::zip_entry const*> by_name;
    for (auto const& e : entries) by_name[detail::array_name(e.name)] = &e;
    auto const model = named_tensors(net);
    std::vector<std::vector<T>> values;  // staged: nothing is written until all arrays passed
    for (auto const& t : model) {
        std::string const shape = detail::format_shape(t.info.dims, t.info.rank);
        auto const it = by_name.find(t.name);
        if (it == by_name.end()) fail("%s: missing array %s (model shape %s)", source, t.name.c_str(), shape.c_str());
        npy_array const a = detail::read_entry(*it->second, source);
        bool same = a.shape.size() == t.info.rank;
        for (std::size_t d = 0; same && d < t.info.rank; ++d) same = a.shape[d] == t.info.dims[d];
        if (!same)
            fail("%s: %s: file shape %s != model shape %s", source, t.name.c_str(),
                 detail::format_shape(a.shape, a.shape.size()).c_str(), shape.c_str());
        values.emplace_back(a.values.begin(), a.values.end());
        by_name.erase(it);
    }
    for (std::size_t i = 0; i < model.size(); ++i) {
        auto const& t = model[i].info;
        T* base = t.trainable ? net.parameters().data() : net.state().data();
        std::copy(values[i].begin(), values[i].end(), base + t.offset);
    }
    npz_result result;
    for (auto const& [name, entry] : by_name) result.unused.emplace_back(name);
    return result;
}

template <class Net>
void save_npz(Net const& net, std::filesystem::path const& path) {
    detail::write_file_atomically(path, encode_npz(net), "save_npz");
}

template <class Net>
npz_result load_npz(Net& net, std::filesystem::path const& path) {
    auto const bytes = detail::read_file(path, "load_npz");
    return decode_npz(net, bytes, path.string().c_str());
}

}  // namespace mien
// ---- end mien/io/npz.hpp ----
// ---- begin mien/layers/additive_attention.hpp ----
// mien/layers/additive_attention.hpp -- additive (Bahdanau) attention, the paper's eq. (2).
//
//   E_ij = v^T tanh(Q_i W1 + Kt_j W2 + b),  B = softmax_rows(E),  O = B V
// Input: the qkv_shape<H, W, D, D, Cv> of a qk_projection (N = H*W tokens); output HxWxCv.
// Parameters W1 [D][D], W2 [D][D], b [D], v [D] (ARCHITECTURE.md section 2).
// macs = 2*N*D*D (the two projections) + N*N*D (the v-dot of every pair) + N*N*Cv (B V); tanh
// and softmax are not multiply-accumulates. Saves tanh(...) (N*N*D) and B (N*N) per sample.

#include <cmath>
#include <cstddef>
#include <string_view>

// ---- begin mien/core/fast_math.hpp ----
// mien/core/fast_math.hpp -- a vectorised tanh for float.
//
// Additive attention evaluates tanh N*N*D times per face (82,944 for the paper network), so a
// scalar std::tanh would cost more than all the convolutions. This is a rational minimax
// approximation x * P(x^2) / Q(x^2) on [-7.9, 7.9] (beyond that tanh is +-1 in float), with a
// maximum error of a few float ulps. Double precision keeps std::tanh: the gradient checks
// run in double and need tanh and its derivative 1 - tanh^2 to agree exactly.

#include <cmath>
#include <cstddef>
#include <type_traits>


namespace mien::detail {

template <class B>
inline B tanh_rational(B x) {
    using T = typename B::value_type;
    B const limit(T(7.90531110763549805));
    x = detail::select(x > limit, limit, detail::select(x < -limit, -limit, x));
    B const x2 = x * x;
    B p(T(-2.76076847742355e-16));
    p = detail::fma(p, x2, B(T(2.00018790482477e-13)));
    p = detail::fma(p, x2, B(T(-8.60467152213735e-11)));
    p = detail::fma(p, x2, B(T(5.12229709037114e-08)));
    p = detail::fma(p, x2, B(T(1.48572235717979e-05)));
    p = detail::fma(p, x2, B(T(6.37261928875436e-04)));
    p = detail::fma(p, x2, B(T(4.89352455891786e-03)));
    B q(T(1.19825839466702e-06));
    q = detail::fma(q, x2, B(T(1.18534705686654e-04)));
    q = detail::fma(q, x2, B(T(2.26843463243900e-03)));
    q = detail::fma(q, x2, B(T(4.89352518554385e-03)));
    return x * p / q;
}

// out[i] = tanh(a[i] + b[i]); returns sum_i out[i] * w[i].
template <class T>
inline T tanh_sum_dot(std::size_t n, T const* a, T const* b, T const* w, T* out) {
    std::size_t i = 0;
    T sum = 0;
    if constexpr (std::is_same_v<T, float>) {
        using batch = simd_batch<T>;
        batch acc(T(0));
        for (std::size_t const full = n - n % batch::size; i < full; i += batch::size) {
            batch const h = tanh_rational(batch::load_unaligned(a + i) + batch::load_unaligned(b + i));
            h.store_unaligned(out + i);
            acc = detail::fma(h, batch::load_unaligned(w + i), acc);
        }
        alignas(64) T lanes[batch::size];
        acc.store_aligned(lanes);
        for (std::size_t l = 0; l < batch::size; ++l) sum += lanes[l];
    }
    for (; i < n; ++i) {
        out[i] = std::tanh(a[i] + b[i]);
        sum += out[i] * w[i];
    }
    return sum;
}

}  // namespace mien::detail
// ---- end mien/core/fast_math.hpp ----

namespace mien {

template <Shape In, class T>
struct additive_attention_layer : leaf_layer {
    static_assert(detail::is_qkv_shape<In>::value,
                  "additive_attention: input must be the query/key/value tokens of a qk_projection");
    static_assert(In::query_width == In::key_width, "additive_attention: query width != key width");
    static constexpr std::size_t N = In::pixels, D = In::query_width, Cv = In::value_width, width = In::channels;
    static constexpr std::size_t q = 0, k = D, v = 2 * D;  // column offsets in a token row
    static constexpr std::size_t w1 = 0, w2 = D * D, b = 2 * D * D, vv = 2 * D * D + D;  // parameter offsets
    using input_shape = In;
    using output_shape = shape<In::height, In::width, Cv>;
    using scalar = T;
    static constexpr std::string_view name = "additive_attention";
    static constexpr std::size_t params = 2 * D * D + 2 * D;
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = 2 * N * D * D + N * N * D + N * N * Cv;
    static constexpr std::size_t saved_per_sample = N * N * D + N * N;
    static constexpr std::size_t temp_size = Cv * N + 2 * N * N + 2 * N * D + D * D;
    // Prediction keeps no tanh values (N*N*D of them: 332 KB for the paper network, more than
    // all its other activations): P, R, the scores, the weights and one row of D.
    static constexpr std::size_t infer_size = 2 * N * D + 2 * N * N + D;

    static void init(T* p, T*, random_generator& rng) {
        double const limit = std::sqrt(6.0 / double(2 * D));
        for (std::size_t i = 0; i < 2 * D * D; ++i) p[i] = T(rng.uniform(-limit, limit));
        detail::fill(D, T(0), p + b);
        double const lv = std::sqrt(6.0 / double(D + 1));
        for (std::size_t i = 0; i < D; ++i) p[vv + i] = T(rng.uniform(-lv, lv));
    }

    template <class V>
    static constexpr void for_each_tensor(V&& f) {
        f(detail::tensor(name, "query_weight", w1, {D, D}));
        f(detail::tensor(name, "key_weight", w2, {D, D}));
        f(detail::tensor(name, "bias", b, {D}));
        f(detail::tensor(name, "score", vv, {D}));
    }

    // Samples are independent: each thread takes a slice, with its own scratch and gradients.
    static void forward(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* pm = f.temp_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                T* th = f.saved + s * saved_per_sample;  // tanh values, [i][j][D], kept for backward
                one_sample(f.params, x + s * In::size, y + s * output_shape::size, pm, th + N * N * D, th, D);
            }
        };
        f.for_samples(work);
    }

    // Prediction keeps one tanh row at a time.
    static void infer(frame<T> const& f, T const* x, T* y, T* scratch) {
        T* th = scratch + 2 * N * D + 2 * N * N;
        one_sample(f.params, x, y, scratch, scratch + 2 * N * D + N * N, th, 0);
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* vt = f.temp_of(t);     // V^T, Cv x N
            T* datt = vt + Cv * N;    // dB, N x N
            T* de = datt + N * N;     // dE, N x N
            T* dp = de + N * N;       // dP, N x D
            T* dr = dp + N * D;       // dR, N x D
            T* wt = dr + N * D;       // W^T, D x D
            T* g = f.grads_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T const* dys = dy + s * output_shape::size;
                T const* th = f.saved + s * saved_per_sample;
                T const* att = th + N * N * D;
                detail::transpose(N, Cv, xs + v, width, vt);
                gemm<T>(N, N, Cv, dys, vt, datt, {Cv, 1, N, N}, false);  // dB = dO V^T
                if (dx) gemm<T>(N, Cv, N, att, dys, dx + s * In::size + v, {1, N, Cv, width}, false);  // dV = B^T dO
                for (std::size_t i = 0; i < N; ++i) detail::softmax_backward(N, att + i * N, datt + i * N, de + i * N);
                gemm<T>(1, D, N * N, de, th, g + vv, {1, 1, D, D}, true);  // dv += sum_ij dE_ij tanh_ij
                score_backward(f.params + vv, de, th, dp, dr);
                for (std::size_t i = 0; i < N; ++i) detail::add_to(D, dp + i * D, g + b);
                gemm<T>(D, D, N, xs + q, dp, g + w1, {1, width, D, D}, true);  // dW1 += Q^T dP
                gemm<T>(D, D, N, xs + k, dr, g + w2, {1, width, D, D}, true);  // dW2 += K^T dR
                if (!dx) continue;
                T* dxs = dx + s * In::size;
                detail::transpose(D, D, f.params + w1, D, wt);
                gemm<T>(N, D, D, dp, wt, dxs + q, {D, 1, D, width}, false);  // dQ = dP W1^T
                detail::transpose(D, D, f.params + w2, D, wt);
                gemm<T>(N, D, D, dr, wt, dxs + k, {D, 1, D, width}, false);  // dK = dR W2^T
            }
        };
        f.for_samples(work);
    }

private:
    // y = B V with B = softmax_j(v . tanh(P_i + R_j)): pm holds P and R (2 N x D) and the scores
    // (N x N), att receives B, the tanh row of (i, j) goes to th + (i * N + j) * th_step.
    static void one_sample(T const* p, T const* xs, T* ys, T* pm, T* att, T* th, std::size_t th_step) {
        T* rm = pm + N * D;  // K W2
        T* e = rm + N * D;   // scores
        for (std::size_t i = 0; i < N; ++i) detail::copy(D, p + b, pm + i * D);
        gemm<T>(N, D, D, xs + q, p + w1, pm, {width, 1, D, D}, true);
        gemm<T>(N, D, D, xs + k, p + w2, rm, {width, 1, D, D}, false);
        for (std::size_t i = 0; i < N; ++i)
            for (std::size_t j = 0; j < N; ++j)
                e[i * N + j] = detail::tanh_sum_dot(D, pm + i * D, rm + j * D, p + vv, th + (i * N + j) * th_step);
        for (std::size_t i = 0; i < N; ++i) detail::softmax(N, e + i * N, att + i * N);
        gemm<T>(N, Cv, N, att, xs + v, ys, {N, 1, width, Cv}, false);
    }

    // dT_ij = dE_ij v (1 - tanh_ij^2);  dP_i = sum_j dT_ij,  dR_j = sum_i dT_ij.
    static void score_backward(T const* sv, T const* de, T const* th, T* dp, T* dr) {
        using batch = detail::simd_batch<T>;
        constexpr std::size_t V = batch::size, full = D - D % V;
        detail::fill(N * D, T(0), dr);
        for (std::size_t i = 0; i < N; ++i) {
            for (std::size_t c = 0; c < full; c += V) {
                batch const vc = batch::load_unaligned(sv + c);
                batch acc(T(0));
                for (std::size_t j = 0; j < N; ++j) {
                    batch const tv = batch::load_unaligned(th + (i * N + j) * D + c);
                    batch const dt = batch(de[i * N + j]) * vc * (batch(T(1)) - tv * tv);
                    acc += dt;
                    (batch::load_unaligned(dr + j * D + c) + dt).store_unaligned(dr + j * D + c);
                }
                acc.store_unaligned(dp + i * D + c);
            }
            for (std::size_t c = full; c < D; ++c) {
                T acc = 0;
                for (std::size_t j = 0; j < N; ++j) {
                    T const tv = th[(i * N + j) * D + c];
                    T const dt = de[i * N + j] * sv[c] * (T(1) - tv * tv);
                    acc += dt;
                    dr[j * D + c] += dt;
                }
                dp[i * D + c] = acc;
            }
        }
    }
};

struct additive_attention {
    template <Shape In, class T>
    using bind = additive_attention_layer<In, T>;
};

}  // namespace mien
// ---- end mien/layers/additive_attention.hpp ----
// ---- begin mien/layers/dense.hpp ----
// mien/layers/dense.hpp -- fully connected layer on the flattened input.
//
//   y[o] = b[o] + sum_i x[i] * w[i][o]
//
// Shapes: any HxWxC (read as a vector of N = H*W*C values) -> 1x1xOut. Weights [N][Out], bias
// [Out]. macs = N * Out. Template parameters: Out, ExpectedIn (0: accept any length; otherwise
// the input length must equal it, which catches a network wired to the wrong width), Bias.

#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>


namespace mien {

template <Shape In, class T, std::size_t Out, std::size_t ExpectedIn, bool Bias>
struct dense_layer : leaf_layer {
    static constexpr std::size_t N = In::size;
    static_assert(Out > 0, "dense: the number of outputs must be at least 1");
    // Written as one comparison so that g++ prints both lengths.
    static_assert(N == (ExpectedIn == 0 ? N : ExpectedIn), "dense: input length differs from the declared input length");
    using input_shape = In;
    using output_shape = flat<Out>;
    using scalar = T;
    static constexpr std::string_view name = "dense";
    static constexpr std::size_t weights = N * Out;
    static constexpr std::size_t params = weights + (Bias ? Out : 0);
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = N * Out;
    static constexpr std::size_t saved_per_sample = 0;
    static constexpr std::size_t temp_size = weights;  // W^T for the input gradient
    static constexpr std::size_t forward_temp_size = 0;
    static constexpr std::array<double, 2> settings{double(Out), double(Bias)};

    // Glorot-uniform, as Keras does for Dense.
    static void init(T* p, T*, random_generator& rng) {
        double const limit = std::sqrt(6.0 / double(N + Out));
        for (std::size_t i = 0; i < weights; ++i) p[i] = T(rng.uniform(-limit, limit));
        if constexpr (Bias) detail::fill(Out, T(0), p + weights);
    }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "weight", 0, {N, Out}));
        if constexpr (Bias) v(detail::tensor(name, "bias", weights, {Out}));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        if constexpr (Bias)
            for (std::size_t s = 0; s < f.n; ++s) detail::copy(Out, f.params + weights, y + s * Out);
        gemm<T>(f.n, Out, N, x, f.params, y, {N, 1, Out, Out}, Bias);
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        gemm<T>(N, Out, f.n, x, dy, f.grads, {1, N, Out, Out}, true);  // dW += X^T dY
        if constexpr (Bias)
            for (std::size_t s = 0; s < f.n; ++s) detail::add_to(Out, dy + s * Out, f.grads + weights);
        if (!dx) return;
        T* wt = f.temp_of(0);
        detail::transpose(N, Out, f.params, Out, wt);
        gemm<T>(f.n, N, Out, dy, wt, dx, {Out, 1, N, N}, false);  // dX = dY W^T
    }
};

// dense<Out, ExpectedIn = 0 (any), Bias = true>
template <std::size_t Out, std::size_t ExpectedIn = 0, bool Bias = true>
struct dense {
    template <Shape In, class T>
    using bind = dense_layer<In, T, Out, ExpectedIn, Bias>;
};

}  // namespace mien
// ---- end mien/layers/dense.hpp ----
// ---- begin mien/layers/depthwise_conv2d.hpp ----
// mien/layers/depthwise_conv2d.hpp -- one KxK filter per channel (the first half of a
// separable convolution).
//
//   y[oy][ox][c] = sum_{ky,kx} x[oy*S + ky - P][ox*S + kx - P][c] * w[ky][kx][c]
//
// Shapes: HxWxC -> OHxOWxC, OH = (H - K + 2P) / S + 1. Weights [K][K][C], no bias.
// macs = OH * OW * K * K * C (the paper's 3 * 5 * 5 * 8 * 8 = 4,800 for its example).
// The channel loop is innermost and contiguous, so each tap is one vectorised multiply-add.
// The input is copied into a zero-bordered buffer first (no bounds checks); for each register of
// channels the K*K weights stay in registers while the output pixels run. Backward: dW by K*K
// accumulators per register of channels; for stride 1, dx is the same correlation of dY
// (bordered with K-1-P zeros) with the flipped weights, other strides scatter tap by tap.

#include <array>
#include <cstddef>
#include <string_view>


namespace mien {

template <Shape In, class T, std::size_t K, padding Pad, std::size_t S>
struct depthwise_conv2d_layer : leaf_layer {
    static_assert(K > 0, "depthwise_conv2d: the kernel size must be at least 1");
    static_assert(S > 0, "depthwise_conv2d: the stride must be at least 1");
    static_assert(Pad == padding::valid || K % 2 == 1, "depthwise_conv2d: same padding needs an odd kernel size");
    static constexpr std::size_t pad = Pad == padding::same ? (K - 1) / 2 : 0;
    static_assert(K <= In::height + 2 * pad, "depthwise_conv2d: kernel taller than the padded input");
    static_assert(K <= In::width + 2 * pad, "depthwise_conv2d: kernel wider than the padded input");

    static constexpr std::size_t C = In::channels;
    using input_shape = In;
    using output_shape = shape<conv_output_extent(In::height, K, pad, S), conv_output_extent(In::width, K, pad, S), C>;
    using scalar = T;
    static constexpr std::string_view name = "depthwise_conv2d";
    static constexpr std::size_t params = K * K * C;
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = output_shape::pixels * K * K * C;
    static constexpr std::size_t saved_per_sample = 0;
    static constexpr std::size_t OH = output_shape::height, OW = output_shape::width;
    static constexpr std::size_t Hp = In::height + 2 * pad, Wp = In::width + 2 * pad;  // bordered input
    static constexpr std::size_t dpad = K - 1 - pad;                                    // border of dY
    static constexpr std::size_t Hq = OH + 2 * dpad, Wq = OW + 2 * dpad;
    // bordered x, then (stride 1) bordered dY and the flipped weights
    static constexpr std::size_t temp_size = Hp * Wp * C + (S == 1 ? Hq * Wq * C + K * K * C : 0);
    static constexpr std::size_t forward_temp_size = Hp * Wp * C;  // the bordered x only
    // Prediction borders K input rows at a time, not the whole map (21,632 values for the
    // paper's 24x24x32 map, more than its output): the same sums in the same order.
    static constexpr std::size_t infer_size = K * Wp * C;
    static constexpr std::array<double, 3> settings{double(K), double(pad), double(S)};

    static void init(T* p, T*, random_generator& rng) { detail::he_uniform(p, params, K * K, rng); }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "weight", 0, {K, K, C}));
    }

    // Calls tap(input pixel offset, weight offset, output pixel offset) for every in-bounds tap.
    template <class Tap>
    static void for_each_tap(Tap&& tap) {
        for (std::size_t oy = 0; oy < output_shape::height; ++oy)
            for (std::size_t ox = 0; ox < output_shape::width; ++ox) {
                std::size_t const o = (oy * output_shape::width + ox) * C;
                for (std::size_t ky = 0; ky < K; ++ky) {
                    std::ptrdiff_t const iy = std::ptrdiff_t(oy * S + ky) - std::ptrdiff_t(pad);
                    if (iy < 0 || iy >= std::ptrdiff_t(In::height)) continue;
                    for (std::size_t kx = 0; kx < K; ++kx) {
                        std::ptrdiff_t const ix = std::ptrdiff_t(ox * S + kx) - std::ptrdiff_t(pad);
                        if (ix < 0 || ix >= std::ptrdiff_t(In::width)) continue;
                        tap((std::size_t(iy) * In::width + std::size_t(ix)) * C, (ky * K + kx) * C, o);
                    }
                }
            }
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* xp = f.temp_of(t);
            for (std::size_t s = begin; s < end; ++s) {
                detail::border<In::height, In::width, C, pad>(x + s * In::size, xp);
                correlate<OH, OW, Wp, S>(xp, f.params, y + s * output_shape::size);
            }
        };
        f.for_samples(work);
    }

    static void infer(frame<T> const& f, T const* x, T* y, T* rows) {
        for (std::size_t oy = 0; oy < OH; ++oy) {
            for (std::size_t ky = 0; ky < K; ++ky) {
                std::ptrdiff_t const iy = std::ptrdiff_t(oy * S + ky) - std::ptrdiff_t(pad);
                T* row = rows + ky * Wp * C;
                if (iy < 0 || iy >= std::ptrdiff_t(In::height)) {
                    detail::fill(Wp * C, T(0), row);
                } else {
                    detail::fill(pad * C, T(0), row);
                    detail::copy(In::width * C, x + std::size_t(iy) * In::width * C, row + pad * C);
                    detail::fill((Wp - pad - In::width) * C, T(0), row + (pad + In::width) * C);
                }
            }
            correlate<1, OW, Wp, S>(rows, f.params, y + oy * OW * C);
        }
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* xp = f.temp_of(t);
            T* dyq = xp + Hp * Wp * C;
            T* wf = dyq + Hq * Wq * C;  // [K-1-ky][K-1-kx][C]
            T* g = f.grads_of(t);
            if constexpr (S == 1)
                if (dx)
                    for (std::size_t tap = 0; tap < K * K; ++tap) detail::copy(C, f.params + (K * K - 1 - tap) * C, wf + tap * C);
            for (std::size_t s = begin; s < end; ++s) {
                T const* dys = dy + s * output_shape::size;
                detail::border<In::height, In::width, C, pad>(x + s * In::size, xp);
                weight_gradient(xp, dys, g);
                if (!dx) continue;
                T* dxs = dx + s * In::size;
                if constexpr (S == 1) {
                    detail::border<OH, OW, C, dpad>(dys, dyq);
                    correlate<In::height, In::width, Wq, 1>(dyq, wf, dxs);
                } else {
                    detail::fill(In::size, T(0), dxs);
                    for_each_tap([&](std::size_t i, std::size_t w, std::size_t o) {
                        detail::multiply_add(C, f.params + w, dys + o, dxs + i);
                    });
                }
            }
        };
        f.for_samples(work);
    }

private:
    using batch = detail::simd_batch<T>;
    static constexpr std::size_t V = batch::size;
    static constexpr std::size_t full = C - C % V;  // channels done in whole registers

    // One register of channels (B = batch) or one channel (B = T).
    static batch load(batch, T const* p) { return batch::load_unaligned(p); }
    static T load(T, T const* p) { return *p; }
    static void store(batch v, T* p) { v.store_unaligned(p); }
    static void store(T v, T* p) { *p = v; }
    static batch madd(batch a, batch b, batch c) { return detail::fma(a, b, c); }
    static T madd(T a, T b, T c) { return c + a * b; }

    // y (Ho x Wo x C) = sum_{ky,kx} xp[oy*St + ky][ox*St + kx] * w[ky][kx], xp Wx pixels wide.
    template <std::size_t Ho, std::size_t Wo, std::size_t Wx, std::size_t St>
    static void correlate(T const* xp, T const* w, T* y) {
        auto channels = [&](std::size_t c, auto tag) {
            using B = decltype(tag);
            B wv[K * K];
            for (std::size_t t = 0; t < K * K; ++t) wv[t] = load(tag, w + t * C + c);
            for (std::size_t oy = 0; oy < Ho; ++oy)
                for (std::size_t ox = 0; ox < Wo; ++ox) {
                    T const* in = xp + ((oy * St) * Wx + ox * St) * C + c;
                    B acc(T(0));
                    for (std::size_t ky = 0; ky < K; ++ky)
                        for (std::size_t kx = 0; kx < K; ++kx) acc = madd(load(tag, in + (ky * Wx + kx) * C), wv[ky * K + kx], acc);
                    store(acc, y + (oy * Wo + ox) * C + c);
                }
        };
        for (std::size_t c = 0; c < full; c += V) channels(c, batch());
        for (std::size_t c = full; c < C; ++c) channels(c, T());
    }

    // g[ky][kx] += sum over output pixels of xp[oy*S + ky][ox*S + kx] * dy[oy][ox]
    static void weight_gradient(T const* xp, T const* dys, T* g) {
        auto channels = [&](std::size_t c, auto tag) {
            using B = decltype(tag);
            B acc[K * K];
            for (std::size_t t = 0; t < K * K; ++t) acc[t] = B(T(0));
            for (std::size_t oy = 0; oy < OH; ++oy)
                for (std::size_t ox = 0; ox < OW; ++ox) {
                    T const* in = xp + ((oy * S) * Wp + ox * S) * C + c;
                    B const d = load(tag, dys + (oy * OW + ox) * C + c);
                    for (std::size_t ky = 0; ky < K; ++ky)
                        for (std::size_t kx = 0; kx < K; ++kx)
                            acc[ky * K + kx] = madd(load(tag, in + (ky * Wp + kx) * C), d, acc[ky * K + kx]);
                }
            for (std::size_t t = 0; t < K * K; ++t) store(load(tag, g + t * C + c) + acc[t], g + t * C + c);
        };
        for (std::size_t c = 0; c < full; c += V) channels(c, batch());
        for (std::size_t c = full; c < C; ++c) channels(c, T());
    }
};

// depthwise_conv2d<Kernel, padding = same, Stride = 1>
template <std::size_t Kernel, padding Pad = same, std::size_t Stride = 1>
struct depthwise_conv2d {
    template <Shape In, class T>
    using bind = depthwise_conv2d_layer<In, T, Kernel, Pad, Stride>;
};

}  // namespace mien
// ---- end mien/layers/depthwise_conv2d.hpp ----
// ---- begin mien/layers/dot_product_attention.hpp ----
// mien/layers/dot_product_attention.hpp -- normal (multiplicative) attention.
//
//   S = Q Kt^T / sqrt(D),  A = softmax_rows(S),  O = A V
// Input: the qkv_shape<H, W, D, D, Cv> of a qk_projection (N = H*W tokens); output HxWxCv
// (one attended value row per token). No parameters of its own (the projections are shared
// with additive attention). macs = N*N*D (scores) + N*N*Cv (A V); the scale and softmax are
// not multiply-accumulates. Saves A (N x N per sample) for backward.

#include <cmath>
#include <cstddef>
#include <string_view>


namespace mien {

template <Shape In, class T>
struct dot_product_attention_layer : parameterless_layer<In, T, shape<In::height, In::width, In::value_width>> {
    static_assert(detail::is_qkv_shape<In>::value,
                  "dot_product_attention: input must be the query/key/value tokens of a qk_projection");
    static_assert(In::query_width == In::key_width, "dot_product_attention: query width != key width");
    static constexpr std::size_t N = In::pixels, D = In::query_width, Cv = In::value_width, width = In::channels;
    static constexpr std::size_t q = 0, k = D, v = 2 * D;
    using output_shape = typename dot_product_attention_layer::output_shape;
    static constexpr std::string_view name = "dot_product_attention";
    static constexpr std::size_t macs = N * N * D + N * N * Cv;
    static constexpr std::size_t saved_per_sample = N * N;
    static constexpr std::size_t temp_size = 2 * N * N + (D > Cv ? D : Cv) * N;
    static constexpr std::size_t forward_temp_size = D * N + N * N;  // K^T and the scores

    // Samples are independent: each thread takes a slice, with its own scratch.
    static void forward(frame<T> const& f, T const* x, T* y) {
        T const scale = T(1.0 / std::sqrt(double(D)));
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* kt = f.temp_of(t);
            T* scores = kt + D * N;
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T* att = f.saved + s * N * N;
                detail::transpose(N, D, xs + k, width, kt);
                gemm<T>(N, N, D, xs + q, kt, scores, {width, 1, N, N}, false);
                for (std::size_t i = 0; i < N * N; ++i) scores[i] *= scale;
                for (std::size_t i = 0; i < N; ++i) detail::softmax(N, scores + i * N, att + i * N);
                gemm<T>(N, Cv, N, att, xs + v, y + s * output_shape::size, {N, 1, width, Cv}, false);
            }
        };
        f.for_samples(work);
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        if (!dx) return;  // no parameters: only the input gradient matters
        T const scale = T(1.0 / std::sqrt(double(D)));
        auto work = [&](std::size_t begin, std::size_t end, std::size_t t) {
            T* vt = f.temp_of(t);
            T* datt = vt + (D > Cv ? D : Cv) * N;
            T* dscore = datt + N * N;
            for (std::size_t s = begin; s < end; ++s) {
                T const* xs = x + s * In::size;
                T const* dys = dy + s * output_shape::size;
                T const* att = f.saved + s * N * N;
                T* dxs = dx + s * In::size;
                detail::transpose(N, Cv, xs + v, width, vt);
                gemm<T>(N, N, Cv, dys, vt, datt, {Cv, 1, N, N}, false);                // dA = dO V^T
                gemm<T>(N, Cv, N, att, dys, dxs + v, {1, N, Cv, width}, false);        // dV = A^T dO
                for (std::size_t i = 0; i < N; ++i) detail::softmax_backward(N, att + i * N, datt + i * N, dscore + i * N);
                for (std::size_t i = 0; i < N * N; ++i) dscore[i] *= scale;
                gemm<T>(N, D, N, dscore, xs + k, dxs + q, {N, 1, width, width}, false);  // dQ = dS K
                gemm<T>(N, D, N, dscore, xs + q, dxs + k, {1, N, width, width}, false);  // dK = dS^T Q
            }
        };
        f.for_samples(work);
    }
};

struct dot_product_attention {
    template <Shape In, class T>
    using bind = dot_product_attention_layer<In, T>;
};

}  // namespace mien
// ---- end mien/layers/dot_product_attention.hpp ----
// ---- begin mien/layers/dropout.hpp ----
// mien/layers/dropout.hpp -- inverted dropout.
//
// Training: each value is zeroed with probability p, survivors are scaled by 1 / (1 - p), so
// inference is the identity. The rate p is a run-time value kept in the layer's state (the
// paper searches p in {0.1, 0.2, 0.3}); the mask comes from the frame's seeded generator and
// is saved for backward. Shape unchanged; macs = 0.

#include <cstddef>
#include <string_view>


namespace mien {

template <Shape In, class T>
struct dropout_layer : leaf_layer {
    using input_shape = In;
    using output_shape = plain_shape<In>;
    using scalar = T;
    static constexpr std::string_view name = "dropout";
    static constexpr std::size_t params = 0, state_size = 1, macs = 0, temp_size = 0;
    static constexpr std::size_t rate_size = 1;  // the state is the rate, a setting
    static constexpr std::size_t saved_per_sample = In::size;  // the scaled mask
    static constexpr double default_rate = 0.2;
    // Prediction is the identity: in place, and no mask to keep.
    static constexpr bool in_place = true;
    static constexpr std::size_t infer_size = 0;
    static void infer(frame<T> const&, T const* x, T* y, T*) {
        if (x != y) detail::copy(In::size, x, y);
    }

    static void init(T*, T* s, random_generator&) { s[0] = T(default_rate); }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "rate", 0, {1}, false, true));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        std::size_t const n = f.n * In::size;
        double const p = double(f.state[0]);
        if (!f.training || p <= 0.0 || !f.rng) {
            if (x != y) detail::copy(n, x, y);
            if (f.training) detail::fill(n, T(1), f.saved);
            return;
        }
        T const keep = T(1.0 / (1.0 - p));
        for (std::size_t i = 0; i < n; ++i) {
            f.saved[i] = f.rng->uniform() < p ? T(0) : keep;
            y[i] = x[i] * f.saved[i];
        }
    }

    static void backward(frame<T> const& f, T const*, T const*, T const* dy, T* dx) {
        if (!dx) return;
        std::size_t const n = f.n * In::size;
        if (!f.training) {
            detail::copy(n, dy, dx);
            return;
        }
        for (std::size_t i = 0; i < n; ++i) dx[i] = dy[i] * f.saved[i];
    }
};

struct dropout {
    template <Shape In, class T>
    using bind = dropout_layer<In, T>;
};

}  // namespace mien
// ---- end mien/layers/dropout.hpp ----
// ---- begin mien/layers/global_avg_pool.hpp ----
// mien/layers/global_avg_pool.hpp -- the mean of each channel over all pixels (tokens).
//
// Shapes: HxWxC -> 1x1xC. No parameters; macs = 0 (a mean is not a multiply-accumulate in
// the cost model). After the attentions it is the "mean over tokens" of ARCHITECTURE.md.

#include <cstddef>
#include <string_view>


namespace mien {

template <Shape In, class T>
struct global_avg_pool_layer : parameterless_layer<In, T, flat<In::channels>> {
    static constexpr std::size_t C = In::channels;
    static constexpr std::string_view name = "global_avg_pool";

    static void forward(frame<T> const& f, T const* x, T* y) {
        T const scale = T(1) / T(In::pixels);
        for (std::size_t s = 0; s < f.n; ++s) {
            T* ys = y + s * C;
            detail::fill(C, T(0), ys);
            for (std::size_t p = 0; p < In::pixels; ++p) detail::add_to(C, x + s * In::size + p * C, ys);
            for (std::size_t c = 0; c < C; ++c) ys[c] *= scale;
        }
    }

    static void backward(frame<T> const& f, T const*, T const*, T const* dy, T* dx) {
        if (!dx) return;
        T const scale = T(1) / T(In::pixels);
        for (std::size_t s = 0; s < f.n; ++s)
            for (std::size_t p = 0; p < In::pixels; ++p)
                for (std::size_t c = 0; c < C; ++c) dx[s * In::size + p * C + c] = dy[s * C + c] * scale;
    }
};

struct global_avg_pool {
    template <Shape In, class T>
    using bind = global_avg_pool_layer<In, T>;
};

}  // namespace mien
// ---- end mien/layers/global_avg_pool.hpp ----
// ---- begin mien/layers/qk_projection.hpp ----
// mien/layers/qk_projection.hpp -- the two projections that feed both attentions.
//
// Reads the HxWxC map row-major as N = H*W tokens X (N x C) and produces, per token,
//   [ Q = X Wq + bq  (Dq) | Kt = X Wk + bk  (Dk) | V = X  (C) ]
// as a qkv_shape<H, W, Dq, Dk, C>, which the attention layers split again. The widths travel
// in the type, so an attention fed projections of different widths does not compile.
// Parameters Wq [C][Dq], bq [Dq], Wk [C][Dk], bk [Dk]. macs = N * C * (Dq + Dk).

#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>


namespace mien {

template <Shape In, class T, std::size_t Dq, std::size_t Dk>
struct qk_projection_layer : leaf_layer {
    static_assert(Dq > 0, "qk_projection: the query width must be at least 1");
    static_assert(Dk > 0, "qk_projection: the key width must be at least 1");
    static constexpr std::size_t N = In::pixels, C = In::channels, width = Dq + Dk + C;
    using input_shape = In;
    using output_shape = qkv_shape<In::height, In::width, Dq, Dk, C>;
    using scalar = T;
    static constexpr std::string_view name = "qk_projection";
    static constexpr std::size_t wq = 0, bq = C * Dq, wk = bq + Dq, bk = wk + C * Dk;
    static constexpr std::size_t params = bk + Dk;
    static constexpr std::size_t state_size = 0;
    static constexpr std::size_t macs = N * C * (Dq + Dk);
    static constexpr std::size_t saved_per_sample = 0;
    static constexpr std::size_t temp_size = C * (Dq > Dk ? Dq : Dk);
    static constexpr std::size_t forward_temp_size = 0;
    static constexpr std::array<double, 2> settings{double(Dq), double(Dk)};

    static void init(T* p, T*, random_generator& rng) {
        double const lq = std::sqrt(6.0 / double(C + Dq)), lk = std::sqrt(6.0 / double(C + Dk));
        for (std::size_t i = 0; i < C * Dq; ++i) p[wq + i] = T(rng.uniform(-lq, lq));
        for (std::size_t i = 0; i < C * Dk; ++i) p[wk + i] = T(rng.uniform(-lk, lk));
        detail::fill(Dq, T(0), p + bq);
        detail::fill(Dk, T(0), p + bk);
    }

    template <class V>
    static constexpr void for_each_tensor(V&& v) {
        v(detail::tensor(name, "query_weight", wq, {C, Dq}));
        v(detail::tensor(name, "query_bias", bq, {Dq}));
        v(detail::tensor(name, "key_weight", wk, {C, Dk}));
        v(detail::tensor(name, "key_bias", bk, {Dk}));
    }

    static void forward(frame<T> const& f, T const* x, T* y) {
        for (std::size_t s = 0; s < f.n; ++s) {
            T const* xs = x + s * In::size;
            T* ys = y + s * output_shape::size;
            for (std::size_t t = 0; t < N; ++t) {
                T* row = ys + t * width;
                detail::copy(Dq, f.params + bq, row);
                detail::copy(Dk, f.params + bk, row + Dq);
                detail::copy(C, xs + t * C, row + Dq + Dk);
            }
            gemm<T>(N, Dq, C, xs, f.params + wq, ys, {C, 1, Dq, width}, true);
            gemm<T>(N, Dk, C, xs, f.params + wk, ys + Dq, {C, 1, Dk, width}, true);
        }
    }

    static void backward(frame<T> const& f, T const* x, T const*, T const* dy, T* dx) {
        for (std::size_t s = 0; s < f.n; ++s) {
            T const* xs = x + s * In::size;
            T const* dys = dy + s * output_shape::size;
            gemm<T>(C, Dq, N, xs, dys, f.grads + wq, {1, C, width, Dq}, true);       // dWq += X^T dQ
            gemm<T>(C, Dk, N, xs, dys + Dq, f.grads + wk, {1, C, width, Dk}, true);  // dWk += X^T dK
            for (std::size_t t = 0; t < N; ++t) {
                detail::add_to(Dq, dys + t * width, f.grads + bq);
                detail::add_to(Dk, dys + t * width + Dq, f.grads + bk);
            }
        }
        if (!dx) return;
        T* wt = f.temp_of(0);
        for (std::size_t s = 0; s < f.n; ++s)  // dX = dV, then + dQ Wq^T + dK Wk^T
            for (std::size_t t = 0; t < N; ++t) detail::copy(C, dy + s * output_shape::size + t * width + Dq + Dk, dx + s * In::size + t * C);
        detail::transpose(C, Dq, f.params + wq, Dq, wt);
        for (std::size_t s = 0; s < f.n; ++s)
            gemm<T>(N, C, Dq, dy + s * output_shape::size, wt, dx + s * In::size, {width, 1, C, C}, true);
        detail::transpose(C, Dk, f.params + wk, Dk, wt);
        for (std::size_t s = 0; s < f.n; ++s)
            gemm<T>(N, C, Dk, dy + s * output_shape::size + Dq, wt, dx + s * In::size, {width, 1, C, C}, true);
    }
};

// qk_projection<QueryWidth, KeyWidth = QueryWidth>
template <std::size_t Dq, std::size_t Dk = Dq>
struct qk_projection {
    template <Shape In, class T>
    using bind = qk_projection_layer<In, T, Dq, Dk>;
};

}  // namespace mien
// ---- end mien/layers/qk_projection.hpp ----
// ---- begin mien/layers/separable_conv2d.hpp ----
// mien/layers/separable_conv2d.hpp -- depthwise KxK then pointwise 1x1 (Xception's separable
// convolution, the paper's Figure 2 and 3).
//
// Shapes: HxWxC -> OHxOWxF. macs = OH*OW*K*K*C (depthwise) + OH*OW*C*F (pointwise); for the
// paper's example, 12x12x3 -> 8x8x256 with K = 5 valid: 4,800 + 49,152 = 53,952.
// It is a two-layer sequential, so the cost table lists both halves.

#include <cstddef>


namespace mien {

// separable_conv2d<Filters, Kernel, padding = same, Stride = 1>
template <std::size_t Filters, std::size_t Kernel, padding Pad = same, std::size_t Stride = 1>
struct separable_conv2d {
    template <Shape In, class T>
    using bind = mien::bind<sequential<depthwise_conv2d<Kernel, Pad, Stride>, pointwise<Filters>>, In, T>;
};

}  // namespace mien
// ---- end mien/layers/separable_conv2d.hpp ----
// ---- begin mien/models/paper.hpp ----
// mien/models/paper.hpp -- the seed paper's network (ARCHITECTURE.md), and its named blocks.
//
//   48x48x1 -> [normal_block C1][separable_block C1] -> 24x24xC1
//           -> [normal_block C2][separable_block C2] -> 12x12xC2
//           -> [normal_block C3][separable_block C3] ->  6x6xC3
//           -> attention_merge<D> (36 tokens, dot-product + additive attention, means) -> 2*C3
//           -> dense<Hd> -> relu -> dropout -> dense<K>  (softmax in predict / the loss)
//
// Defaults: C1 32, C2 64, C3 128, D 64, Hd 128, K 7: 175,495 parameters, 25,373,056 MACs.

#include <cstddef>


namespace mien {

// Conv 3x3 same (no bias) -> BN -> ReLU -> max-pool 2x2: halves the map, sets the width.
// (conv_block: those four layers, predicted two rows at a time.)
template <std::size_t C>
using normal_block = conv_block<C, 3>;

// y = ReLU(x + BN(PW(DW(x)))): a separable convolution with an identity shortcut.
template <std::size_t C>
using separable_block = sequential<residual<sequential<depthwise_conv2d<3, same>, pointwise<C>, batch_norm>>, relu>;

// Q and K projections of width D, both attentions on the same tokens, the mean over tokens.
template <std::size_t D>
using attention_merge = sequential<qk_projection<D>, concat<dot_product_attention, additive_attention>, global_avg_pool>;

// The classifier MLP: dense -> ReLU -> dropout -> dense (logits).
template <std::size_t Hidden, std::size_t Classes>
using classifier = sequential<dense<Hidden>, relu, dropout, dense<Classes>>;

namespace models {

template <std::size_t C1 = 32, std::size_t C2 = 64, std::size_t C3 = 128, std::size_t D = 64, std::size_t Hd = 128,
          std::size_t K = 7, std::size_t H = 48, std::size_t W = 48, std::size_t Cin = 1>
using basic_paper = sequential<normal_block<C1>, separable_block<C1>, normal_block<C2>, separable_block<C2>,
                               normal_block<C3>, separable_block<C3>, attention_merge<D>, classifier<Hd, K>>;

// The paper network with its widths as template parameters.
template <std::size_t C1 = 32, std::size_t C2 = 64, std::size_t C3 = 128, std::size_t D = 64, std::size_t Hd = 128,
          std::size_t K = 7, std::size_t H = 48, std::size_t W = 48, std::size_t Cin = 1>
using paper = network<input<H, W, Cin>, basic_paper<C1, C2, C3, D, Hd, K, H, W, Cin>>;

// A quarter of the paper's MACs: widths 16, 32, 64, D 32, Hd 64.
using fast = paper<16, 32, 64, 32, 64>;

// Twice the paper's widths (64, 128, 256, D 128, Hd 256): about four times its MACs and
// parameters. A teacher for distilling into the paper network (issue 12, docs/RESULTS.md), and
// the accurate end of the accuracy-latency curve.
using large = paper<64, 128, 256, 128, 256>;

}  // namespace models
}  // namespace mien
// ---- end mien/models/paper.hpp ----
// ---- begin mien/train/class_weights.hpp ----
// mien/train/class_weights.hpp -- class weights that undo a training set's imbalance.
//
//   auto w = mien::balanced_class_weights<float, 7>(train.labels);   // FER2013: disgust 436, happy 7,215
//   tr->set_class_weights(w);
//
// "Balanced" weights, as scikit-learn defines them: w_k = n / (C n_k) over the C classes that
// occur, so every class contributes the same total weight and the mean weight per face is 1.
// A class with no face gets 0 (it cannot be learned from this set anyway).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>


namespace mien {

template <class T, std::size_t K>
std::array<T, K> balanced_class_weights(std::span<std::int32_t const> labels) {
    std::array<std::size_t, K> counts{};
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || std::size_t(labels[i]) >= K)
            fail("balanced_class_weights: label %d of face %zu is outside [0, %zu)", int(labels[i]), i, K);
        ++counts[std::size_t(labels[i])];
    }
    std::size_t present = 0;
    for (auto c : counts) present += c > 0;
    if (present == 0) fail("balanced_class_weights: no labels (an empty training set)");
    std::array<T, K> w{};
    for (std::size_t k = 0; k < K; ++k)
        if (counts[k] > 0) w[k] = T(double(labels.size()) / (double(present) * double(counts[k])));
    return w;
}

}  // namespace mien
// ---- end mien/train/class_weights.hpp ----
// ---- begin mien/train/distill.hpp ----
// mien/train/distill.hpp -- knowledge distillation: an ensemble of trained teachers as targets.
//
//   mien::teacher_ensemble<mien::models::paper<>> teachers(4.0);            // temperature T
//   teachers.add("runs/a/best.mien");  teachers.add("runs/b/best.mien");
//   eo.teacher = teachers.function();  eo.teacher_weight = 0.7;             // epoch.hpp
//   // teachers of two networks: each group's mean weighted by its size
//   eo.teacher = mien::mix_teachers({{large.function(), large.size()}, {teachers.function(), 2}}, 7);
//
// The teachers' target for a face is the mean over teachers of softmax(z / T), z a teacher's
// logits, in inference mode (running batch-norm statistics, no dropout). The epoch loop blends
// it into the student's target, (1 - W) hard + W teacher, and trains the student with its
// ordinary softmax at temperature 1 (trainer::step_soft). On the temperature-squared factor of
// Hinton et al. (2015): it compensates the 1 / T that a student softened at T puts on its own
// gradient (d/dz of CE(q_T, softmax(z / T)) is (p_T - q_T) / T, on a T^2-scaled loss T (p_T -
// q_T)). Here the student is not softened: the gradient of the blended loss is (1 - W)(p - y) +
// W (p - q_T), both terms at the same scale whatever T is, so no T^2 factor is needed and W is
// the teacher's share of the gradient as written. T only flattens the teachers' distribution.
//
// softmax(z / T) is computed from the teachers' probabilities p = softmax(z) as p^(1/T),
// renormalised (log p = z - logsumexp(z)); a probability that underflowed below 1e-30 is taken
// as 1e-30, which only matters for classes the teacher rules out anyway.
//
// Teachers load with topology_check::exact: distilling from a file that only matches by
// shapes would teach whatever that other network computes.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

// ---- begin mien/train/epoch.hpp ----
// mien/train/epoch.hpp -- one seeded training epoch over an in-memory data set.
//
//   auto tr = std::make_unique<mien::trainer<net_t, 32, mien::adam, 2>>(net, {}, seed, 2);
//   for (std::size_t e = 0; e < epochs; ++e) {
//       mien::epoch_options o{.seed = seed, .epoch = e, .total_steps = epochs * mien::batches_per_epoch(*tr, train)};
//       mien::train_epoch(*tr, train, o);
//       std::printf("%f\n", mien::evaluate(*tr, val, true).accuracy);   // evaluate.hpp
//   }
//
// Per batch: the shuffled faces, augmented (data/augment.hpp); the learning rate of the
// one-cycle schedule (or constant); then one trainer step on the faces' targets: hard labels
// (with label smoothing), optionally blended with per-face soft rows (targets.hpp), mixed
// pairwise (mixup), and blended with a teacher's softened predictions on the same augmented
// images (knowledge distillation, distill.hpp).
//
// Determinism: the epoch's shuffle comes from (seed, epoch); every batch draws its augmentation
// and mixup from a generator seeded by (seed, epoch, batch), its dropout masks from one seeded by
// (seed ^ 0xD50, epoch, batch) and its FER+ label draws from one seeded by (seed ^ 0x1ABE1,
// epoch, batch); the trainer sums the threads' gradients in a fixed order, and a teacher is a
// deterministic function of the images. So a seed and a thread count give the same weights on
// every run, and a run resumed at a batch continues exactly as an uninterrupted one.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <vector>

// ---- begin mien/data/augment.hpp ----
// mien/data/augment.hpp -- seeded augmentation of square grayscale faces (no OpenCV).
//
// What the field found to matter on FER2013: random shifts (reflect-pad, then crop), horizontal
// flips, small rotations and brightness/contrast changes; optionally random erasing (Zhong et al.
// 2017: a rectangle of the face replaced by noise, so that no single region can carry the
// decision; issue 12 measured it on val, docs/RESULTS.md). Every draw comes from the caller's
// mien::random_generator, so an epoch is reproducible from its seed. Images are S x S floats in
// [0, 1], row-major; output may not alias input.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>


namespace mien {

struct augment_options {
    int max_shift = 4;            // pixels, each direction (reflect padding)
    bool flip = true;             // horizontal flip with probability 1/2
    double max_rotation = 10.0;   // degrees, uniform in [-r, r]
    double brightness = 0.1;      // added offset, uniform in [-b, b]
    double contrast = 0.2;        // gain, uniform in [1 - c, 1 + c] around the image mean
    double erase = 0.0;           // random erasing: probability of one erased rectangle (0: none, nothing drawn)
    static augment_options none() { return {0, false, 0.0, 0.0, 0.0, 0.0}; }
};

namespace detail {
inline int reflect(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

// Random erasing's rectangle: 2 % to 25 % of the face, aspect ratio (height / width) from 0.3 to
// 3.3 (log-uniform), placed uniformly where it fits, filled with uniform noise in [0, 1]: the
// values of Zhong et al. 2017. Sides are clamped to the face, so every draw erases something.
inline void erase_rectangle(float* out, int size, random_generator& rng) {
    double const area = rng.uniform(0.02, 0.25) * double(size) * double(size);
    double const aspect = std::exp(rng.uniform(std::log(0.3), std::log(3.3)));
    int const h = std::clamp(int(std::lround(std::sqrt(area * aspect))), 1, size);
    int const w = std::clamp(int(std::lround(std::sqrt(area / aspect))), 1, size);
    int const y0 = int(rng.below(std::uint64_t(size - h + 1))), x0 = int(rng.below(std::uint64_t(size - w + 1)));
    for (int y = y0; y < y0 + h; ++y)
        for (int x = x0; x < x0 + w; ++x) out[y * size + x] = float(rng.uniform());
}
}  // namespace detail

// One augmented copy of `in` (size x size) into `out`.
inline void augment(float const* in, float* out, int size, augment_options const& o, random_generator& rng) {
    int const dx = o.max_shift > 0 ? int(rng.below(2 * o.max_shift + 1)) - o.max_shift : 0;
    int const dy = o.max_shift > 0 ? int(rng.below(2 * o.max_shift + 1)) - o.max_shift : 0;
    bool const flip = o.flip && rng.below(2) == 1;
    double const angle = o.max_rotation > 0 ? rng.uniform(-o.max_rotation, o.max_rotation) * 3.14159265358979 / 180 : 0.0;
    double const gain = o.contrast > 0 ? rng.uniform(1 - o.contrast, 1 + o.contrast) : 1.0;
    double const offset = o.brightness > 0 ? rng.uniform(-o.brightness, o.brightness) : 0.0;
    double const c = std::cos(angle), s = std::sin(angle), centre = (size - 1) / 2.0;
    double mean = 0;
    for (int i = 0; i < size * size; ++i) mean += in[i];
    mean /= double(size * size);
    auto pixel = [&](int y, int x) { return double(in[detail::reflect(y, size) * size + detail::reflect(x, size)]); };
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
            // Where this output pixel comes from: undo the flip, the shift, then the rotation.
            double const ox = (flip ? size - 1 - x : x) - dx - centre, oy = y - dy - centre;
            double const sx = c * ox + s * oy + centre, sy = -s * ox + c * oy + centre;
            double value;
            if (angle == 0.0) {
                value = pixel(int(std::lround(sy)), int(std::lround(sx)));
            } else {  // bilinear
                int const x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
                double const fx = sx - x0, fy = sy - y0;
                value = (1 - fy) * ((1 - fx) * pixel(y0, x0) + fx * pixel(y0, x0 + 1)) +
                        fy * ((1 - fx) * pixel(y0 + 1, x0) + fx * pixel(y0 + 1, x0 + 1));
            }
            value = (value - mean) * gain + mean + offset;
            out[y * size + x] = float(std::clamp(value, 0.0, 1.0));
        }
    // Drawn after the rest, and only when enabled, so that runs without it keep their random
    // stream (and their weights) bit for bit.
    if (o.erase > 0 && rng.uniform() < o.erase) detail::erase_rectangle(out, size, rng);
}

// Horizontal mirror (for test-time flip averaging).
inline void mirror(float const* in, float* out, int size) {
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) out[y * size + x] = in[y * size + size - 1 - x];
}

}  // namespace mien
// ---- end mien/data/augment.hpp ----
// ---- begin mien/data/dataset.hpp ----
// mien/data/dataset.hpp -- a labelled set of square grayscale faces held in memory.
//
// Pixels stay 8-bit (FER2013's 28,709 training faces take 66 MB this way, 264 MB as floats);
// to_float converts one face to the network's [0, 1] input on the fly.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>


namespace mien {

struct dataset {
    int side = 48;                      // faces are side x side
    std::vector<std::uint8_t> pixels;   // size() * side * side, row-major per face
    std::vector<std::int32_t> labels;   // class index per face
    std::vector<std::string> sources;   // file (or "file:line") each face came from
    std::vector<std::string> subjects;  // subject id per face where the data set has one, else ""
    std::size_t skipped = 0;            // bad entries skipped on request (see loader options)

    std::size_t size() const { return labels.size(); }
    std::size_t face_size() const { return std::size_t(side) * std::size_t(side); }
    std::uint8_t const* face(std::size_t i) const { return pixels.data() + i * face_size(); }

    void add(std::uint8_t const* face_pixels, std::int32_t label, std::string source, std::string subject = {}) {
        pixels.insert(pixels.end(), face_pixels, face_pixels + face_size());
        labels.push_back(label);
        sources.push_back(std::move(source));
        subjects.push_back(std::move(subject));
    }

    // Face i as floats in [0, 1].
    void to_float(std::size_t i, float* out) const {
        std::uint8_t const* p = face(i);
        for (std::size_t k = 0; k < face_size(); ++k) out[k] = float(p[k]) / 255.0f;
    }

    // Faces per class.
    std::vector<std::size_t> class_counts(std::size_t classes) const {
        std::vector<std::size_t> counts(classes, 0);
        for (auto l : labels) counts[std::size_t(l)]++;
        return counts;
    }

    // The subset with the given indices (for folds).
    dataset subset(std::vector<std::size_t> const& indices) const {
        dataset d;
        d.side = side;
        for (auto i : indices) d.add(face(i), labels[i], sources[i], subjects[i]);
        return d;
    }
};

}  // namespace mien
// ---- end mien/data/dataset.hpp ----
// ---- begin mien/train/schedule.hpp ----
// mien/train/schedule.hpp -- learning-rate schedules as pure functions of the step.
//
// A function of the global step (not of state) so that a resumed run continues exactly where
// the interrupted one stopped. That is also why there is no plateau schedule: its rate depends
// on the validation history, which a checkpoint would have to carry; cosine annealing reaches
// the same end (a rate that decays to zero) without it.
//
//   double lr = mien::learning_rate(mien::lr_schedule::cosine, step, total_steps, peak);

#include <cmath>
#include <cstddef>
#include <string_view>

namespace mien {

enum class lr_schedule {
    one_cycle,  // warm-up to the peak, cosine down (Adam's default here)
    constant,   // the paper's recipe: Adam at a constant 0.001
    cosine,     // short linear warm-up, then cosine annealing to zero (SGD's usual companion)
};

namespace detail {
inline double cosine_between(double from, double to, double x) {
    return to + (from - to) * 0.5 * (1.0 + std::cos(3.141592653589793 * x));
}
}  // namespace detail

// One-cycle (Smith 2018, PyTorch's OneCycleLR defaults): warm-up (cosine, as PyTorch) from max/25 to max over
// the first `warmup` fraction of the steps, then cosine annealing down to max/25/1e4.
inline double one_cycle_rate(std::size_t step, std::size_t total, double max_rate, double warmup = 0.3) {
    double const start = max_rate / 25.0, end = start / 1e4;
    if (total <= 1) return max_rate;
    double const t = double(step) / double(total - 1);
    if (t < warmup) return detail::cosine_between(start, max_rate, t / warmup);
    return detail::cosine_between(max_rate, end, (t - warmup) / (1.0 - warmup));
}

// Cosine annealing (Loshchilov & Hutter 2017, without restarts) after a linear warm-up from
// max/25 over the first `warmup` fraction of the steps: SGD with momentum diverges in its first
// steps at the rates it needs later (0.01-0.1), before batch norm's statistics settle. The last
// step's rate is 0.
inline double cosine_rate(std::size_t step, std::size_t total, double max_rate, double warmup = 0.02) {
    if (total <= 1) return max_rate;
    double const t = double(step) / double(total - 1);
    if (t < warmup) return max_rate / 25.0 + (max_rate - max_rate / 25.0) * t / warmup;
    return detail::cosine_between(max_rate, 0.0, (t - warmup) / (1.0 - warmup));
}

inline double learning_rate(lr_schedule s, std::size_t step, std::size_t total, double rate) {
    switch (s) {
        case lr_schedule::one_cycle: return one_cycle_rate(step, total, rate);
        case lr_schedule::cosine: return cosine_rate(step, total, rate);
        case lr_schedule::constant: break;
    }
    return rate;
}

// "onecycle", "constant", "cosine" (the command-line names); false for anything else.
inline bool parse_lr_schedule(std::string_view name, lr_schedule& out) {
    if (name == "onecycle") out = lr_schedule::one_cycle;
    else if (name == "constant") out = lr_schedule::constant;
    else if (name == "cosine") out = lr_schedule::cosine;
    else return false;
    return true;
}

}  // namespace mien
// ---- end mien/train/schedule.hpp ----
// ---- begin mien/train/targets.hpp ----
// mien/train/targets.hpp -- the training target of each face: hard label, soft rows, blends.
//
//   auto soft = mien::soft_targets::from(mien::fer2013_soft_targets(train, root, votes));  // data/ferplus.hpp
//   epoch_options eo;  eo.soft = &soft;  eo.soft_weight = 0.5;                          // epoch.hpp
//
// A face's target row (K values summing to 1) is
//   hard(label) = (1 - e) one_hot(label) + e / K          (label smoothing e, as loss.hpp)
//   target      = (1 - w) hard(label) + w soft_row        when the face has a soft row,
//                 hard(label)                              when it has none,
// so w = 0 is plain training and w = 1 trains on the soft rows alone (FER+ "crossentropy").
// Soft rows are per face of a data set (aligned with its indices), e.g. FER+ vote
// distributions; draw_class picks one class from a row, for FER+ "probability" (label drawing).

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>


namespace mien {

struct soft_targets {
    std::size_t classes = 0;
    std::vector<float> values;          // size() x classes; rows of faces without one are 0
    std::vector<std::uint8_t> present;  // 1 when face i has a row

    std::size_t size() const { return present.size(); }
    bool has(std::size_t i) const { return present[i] != 0; }
    float const* row(std::size_t i) const { return values.data() + i * classes; }
    std::size_t count() const {
        std::size_t n = 0;
        for (auto p : present) n += p;
        return n;
    }

    // From per-face optional rows (each must sum to 1 within 1e-4: a row that does not is a bug
    // in whatever built it, and would silently scale that face's gradient).
    template <std::size_t K>
    static soft_targets from(std::vector<std::optional<std::array<float, K>>> const& rows) {
        soft_targets t;
        t.classes = K;
        t.values.assign(rows.size() * K, 0.0f);
        t.present.assign(rows.size(), 0);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (!rows[i]) continue;
            double sum = 0;
            for (std::size_t k = 0; k < K; ++k) {
                float const v = (*rows[i])[k];
                if (!(v >= 0.0f) || !std::isfinite(v)) fail("soft_targets: row %zu, class %zu is %g; expected a probability", i, k, double(v));
                t.values[i * K + k] = v;
                sum += v;
            }
            if (std::abs(sum - 1.0) > 1e-4) fail("soft_targets: row %zu sums to %.6f; expected 1", i, sum);
            t.present[i] = 1;
        }
        return t;
    }
    template <std::size_t K>
    static soft_targets from(std::vector<std::array<float, K>> const& rows) {
        return from(std::vector<std::optional<std::array<float, K>>>(rows.begin(), rows.end()));
    }
};

// The target row of one face (see the top of this file). soft may be null (no soft row).
inline void face_target(std::size_t K, std::int32_t label, double smoothing, float const* soft, double soft_weight, float* out) {
    double const w = soft ? soft_weight : 0.0;
    for (std::size_t k = 0; k < K; ++k) {
        double const hard = (1.0 - smoothing) * (std::size_t(label) == k ? 1.0 : 0.0) + smoothing / double(K);
        out[k] = float((1.0 - w) * hard + (soft ? w * double(soft[k]) : 0.0));
    }
}

// A class drawn from a row of probabilities (the last class with a non-zero share takes any
// rounding remainder).
inline std::size_t draw_class(float const* row, std::size_t K, random_generator& rng) {
    double const u = rng.uniform(0.0, 1.0);
    double cumulative = 0;
    std::size_t last = 0;
    for (std::size_t k = 0; k < K; ++k) {
        if (row[k] <= 0) continue;
        last = k;
        cumulative += double(row[k]);
        if (u < cumulative) return k;
    }
    return last;
}

}  // namespace mien
// ---- end mien/train/targets.hpp ----

namespace mien {

inline std::uint64_t batch_seed(std::uint64_t seed, std::size_t epoch, std::size_t batch) {
    random_generator g(seed * 0x9E3779B97F4A7C15ull ^ (epoch << 32) ^ batch);
    return g.next();
}

// The shuffled order of one epoch (depends only on seed and epoch).
inline std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::size_t epoch) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    random_generator g(batch_seed(seed, epoch, ~std::size_t{0}));
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[g.below(i)]);
    return order;
}

// A teacher for distillation: writes n x K probabilities for n images (n x inputs values).
// It must be a deterministic function of the images (inference mode) for runs to be repeatable.
using teacher_function = std::function<void(std::span<float const> images, std::size_t n, float* out)>;

struct epoch_options {
    std::uint64_t seed = 1;
    std::size_t epoch = 0;        // 0-based
    std::size_t first_batch = 0;  // > 0 when resuming inside the epoch
    std::size_t total_steps = 1;  // of the whole run, for the schedule
    double lr = 3e-3;             // peak (one-cycle, cosine) or constant rate
    lr_schedule schedule = lr_schedule::one_cycle;
    double label_smoothing = 0.0;
    double mixup_alpha = 0.0;  // > 0: mixup (Zhang et al. 2018), lambda ~ Beta(alpha, alpha) per batch
    augment_options augment;
    // Soft rows per face of the data set (targets.hpp), blended into the hard target with
    // soft_weight; with draw_labels, each face's row is replaced by a one-hot class drawn from it
    // (FER+ "probability": a new draw every epoch).
    soft_targets const* soft = nullptr;
    double soft_weight = 0.0;
    bool draw_labels = false;
    // Distillation: target = (1 - teacher_weight) target + teacher_weight teacher(images).
    teacher_function teacher;
    double teacher_weight = 0.0;
};

struct epoch_result {
    enum status_t { done, interrupted, not_finite } status = done;
    std::size_t batch = 0;  // where it stopped (interrupted, not_finite) or the batch count (done)
    double loss = 0;        // of the last step when not_finite
    double mean_loss = 0, accuracy = 0;  // over the batches trained (augmented faces)
    std::size_t seen = 0;
};

// Called after every batch with (batches done, mean loss so far, accuracy so far).
using batch_callback = std::function<void(std::size_t, double, double)>;

template <class Trainer>
std::size_t batches_per_epoch(dataset const& d) {
    return (d.size() + Trainer::batch - 1) / Trainer::batch;
}
template <class Trainer>
std::size_t batches_per_epoch(Trainer const&, dataset const& d) {
    return batches_per_epoch<Trainer>(d);
}

namespace detail {

// Mixup's draws for one batch: lambda folded to >= 0.5 (so that the face's own label
// dominates; labels[s] stays the dominant one) and a seeded partner permutation.
inline double mixup_draw(std::vector<std::size_t>& partner, std::size_t n, double alpha, random_generator& rng) {
    double lambda = rng.beta(alpha, alpha);
    lambda = std::max(lambda, 1 - lambda);
    std::iota(partner.begin(), partner.begin() + std::ptrdiff_t(n), std::size_t{0});
    for (std::size_t i = n; i > 1; --i) std::swap(partner[i - 1], partner[rng.below(i)]);
    return lambda;
}

inline void mix_images(std::vector<float> const& images, std::vector<float>& mixed, std::vector<std::size_t> const& partner,
                       std::size_t n, std::size_t I, double lambda) {
    float const a = float(lambda), b = float(1 - lambda);
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t k = 0; k < I; ++k) mixed[s * I + k] = a * images[s * I + k] + b * images[partner[s] * I + k];
}

// Mixup with hard labels: images and (smoothed) one-hot targets blended alike. Kept as its own
// arithmetic so that runs without soft targets reproduce their earlier results bit for bit.
template <class Trainer>
double mixup_step(Trainer& tr, std::vector<float> const& images, std::vector<float>& mixed, std::vector<float>& targets,
                  std::vector<std::int32_t> const& labels, std::vector<std::size_t>& partner, std::size_t n,
                  epoch_options const& o, random_generator& rng) {
    constexpr std::size_t I = Trainer::inputs, K = Trainer::outputs;
    double const lambda = mixup_draw(partner, n, o.mixup_alpha, rng);
    double const e = o.label_smoothing;
    mix_images(images, mixed, partner, n, I, lambda);
    for (std::size_t s = 0; s < n; ++s) {
        std::size_t const p = partner[s];
        for (std::size_t k = 0; k < K; ++k) {
            double const own = std::size_t(labels[s]) == k ? 1.0 : 0.0, other = std::size_t(labels[p]) == k ? 1.0 : 0.0;
            targets[s * K + k] = float((1 - e) * (lambda * own + (1 - lambda) * other) + e / double(K));
        }
    }
    return tr.step_soft(std::span<float const>(mixed.data(), n * I), std::span<float const>(targets.data(), n * K));
}

}  // namespace detail

// Trains tr on one epoch of d. `interrupted` (may be null) is checked before every batch;
// `on_batch` (may be empty) is called after every batch.
template <class Trainer>
epoch_result train_epoch(Trainer& tr, dataset const& d, epoch_options const& o, std::atomic<bool> const* interrupted = nullptr,
                         batch_callback const& on_batch = {}) {
    constexpr std::size_t B = Trainer::batch, I = Trainer::inputs, K = Trainer::outputs;
    bool const soft_path = o.soft != nullptr || bool(o.teacher);
    if (o.soft && (o.soft->classes != K || o.soft->size() != d.size()))
        fail("train_epoch: soft targets of %zu faces x %zu classes for a data set of %zu faces and a %zu-class network",
             o.soft->size(), o.soft->classes, d.size(), K);
    if (o.draw_labels && !o.soft) fail("train_epoch: draw_labels needs soft targets to draw from");
    if (soft_path && tr.has_class_weights())
        fail("train_epoch: soft targets and distillation carry no class weight; clear the trainer's class weights");
    std::size_t const steps = batches_per_epoch<Trainer>(d);
    auto const order = epoch_order(d.size(), o.seed, o.epoch);
    bool const mixing = o.mixup_alpha > 0;
    std::vector<float> images(B * I), face(I), mixed(mixing ? B * I : 0), targets(B * K);
    std::vector<float> base(soft_path ? B * K : 0), taught(o.teacher ? B * K : 0), drawn(o.draw_labels ? K : 0);
    std::vector<std::int32_t> labels(B);
    std::vector<std::size_t> partner(B), index(B);
    double loss_sum = 0;
    std::size_t correct = 0;
    epoch_result r;
    for (std::size_t b = o.first_batch; b < steps; ++b) {
        if (interrupted && *interrupted) {
            r.status = epoch_result::interrupted;
            r.batch = b;
            return r;
        }
        std::size_t const first = b * B, n = std::min<std::size_t>(B, d.size() - first);
        random_generator rng(batch_seed(o.seed, o.epoch, b));
        for (std::size_t s = 0; s < n; ++s) {
            std::size_t const i = order[first + s];
            d.to_float(i, face.data());
            augment(face.data(), images.data() + s * I, d.side, o.augment, rng);
            labels[s] = d.labels[i];
            index[s] = i;
        }
        std::size_t const step = o.epoch * steps + b;
        tr.optimizer().set_learning_rate(learning_rate(o.schedule, step, o.total_steps, o.lr));
        tr.rng().set_state(batch_seed(o.seed ^ 0xD50u, o.epoch, b));  // dropout masks
        double loss;
        if (!soft_path) {
            loss = mixing ? detail::mixup_step(tr, images, mixed, targets, labels, partner, n, o, rng)
                          : tr.step(std::span<float const>(images.data(), n * I),
                                    std::span<std::int32_t const>(labels.data(), n), o.label_smoothing);
        } else {
            random_generator draws(batch_seed(o.seed ^ 0x1ABE1u, o.epoch, b));
            for (std::size_t s = 0; s < n; ++s) {
                float const* soft = o.soft && o.soft->has(index[s]) ? o.soft->row(index[s]) : nullptr;
                if (soft && o.draw_labels) {
                    std::fill(drawn.begin(), drawn.end(), 0.0f);
                    drawn[draw_class(soft, K, draws)] = 1.0f;
                    soft = drawn.data();
                }
                face_target(K, labels[s], o.label_smoothing, soft, o.soft_weight, base.data() + s * K);
            }
            float const* input = images.data();
            if (mixing) {
                double const lambda = detail::mixup_draw(partner, n, o.mixup_alpha, rng);
                detail::mix_images(images, mixed, partner, n, I, lambda);
                for (std::size_t s = 0; s < n; ++s)
                    for (std::size_t k = 0; k < K; ++k)
                        targets[s * K + k] = float(lambda * base[s * K + k] + (1 - lambda) * base[partner[s] * K + k]);
                input = mixed.data();
            } else {
                std::copy(base.begin(), base.begin() + std::ptrdiff_t(n * K), targets.begin());
            }
            if (o.teacher) {
                // The teacher sees exactly the images the student sees (augmented, mixed).
                o.teacher(std::span<float const>(input, n * I), n, taught.data());
                double const w = o.teacher_weight;
                for (std::size_t k = 0; k < n * K; ++k) targets[k] = float((1 - w) * targets[k] + w * taught[k]);
            }
            loss = tr.step_soft(std::span<float const>(input, n * I), std::span<float const>(targets.data(), n * K));
        }
        if (!std::isfinite(loss)) {
            r.status = epoch_result::not_finite;
            r.batch = b;
            r.loss = loss;
            return r;
        }
        auto probs = tr.last_probabilities();
        for (std::size_t s = 0; s < n; ++s) {
            auto row = probs.subspan(s * K, K);
            correct += std::size_t(std::max_element(row.begin(), row.end()) - row.begin()) == std::size_t(labels[s]);
        }
        loss_sum += loss * double(n);
        r.seen += n;
        r.mean_loss = loss_sum / double(r.seen);
        r.accuracy = double(correct) / double(r.seen);
        if (on_batch) on_batch(b + 1, r.mean_loss, r.accuracy);
    }
    r.batch = steps;
    return r;
}

}  // namespace mien
// ---- end mien/train/epoch.hpp ----
// ---- begin mien/train/evaluate.hpp ----
// mien/train/evaluate.hpp -- accuracy, loss and confusion matrix of a network on a data set.
//
//   auto tr = std::make_unique<mien::trainer<net_t, 32>>(net);
//   mien::evaluation e = mien::evaluate(*tr, val, {.flip = true});
//   mien::classification_report r = mien::report_from_confusion(e.confusion);   // metrics.hpp
//
// Runs the trainer's batch inference (running batch-norm statistics, no dropout) over every
// face. With `flip`, each face's probabilities are averaged with those of its mirror image
// (test-time flip averaging); with `keep_probabilities`, the (averaged) n x K probabilities
// are returned too, e.g. to write them to a file.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>


namespace mien {

struct evaluation {
    double accuracy = 0, loss = 0;
    std::vector<std::vector<std::size_t>> confusion;  // [true][predicted]
    std::vector<std::int32_t> predictions;
    std::vector<float> probabilities;  // size() x K when asked for, else empty
};

struct evaluate_options {
    bool flip = false;                // average with the mirror image
    bool keep_probabilities = false;  // fill evaluation::probabilities
};

template <class Trainer>
evaluation evaluate(Trainer& tr, dataset const& data, evaluate_options const& o) {
    constexpr std::size_t B = Trainer::batch, I = Trainer::inputs, K = Trainer::outputs;
    if (data.face_size() != I)
        fail("evaluate: the data set's faces have %zu pixels, the network takes %zu inputs", data.face_size(), I);
    // Before any work: a label the model cannot output is a wrong pairing of model and data.
    for (std::size_t i = 0; i < data.size(); ++i)
        if (data.labels[i] < 0 || std::size_t(data.labels[i]) >= K)
            fail("evaluate: face %zu (%s) has label %d, outside the model's %zu classes", i, data.sources[i].c_str(),
                 int(data.labels[i]), K);
    evaluation e;
    e.confusion.assign(K, std::vector<std::size_t>(K, 0));
    if (o.keep_probabilities) e.probabilities.reserve(data.size() * K);
    std::vector<float> images(B * I), mirrored(B * I), probs(B * K);
    std::size_t correct = 0;
    for (std::size_t first = 0; first < data.size(); first += B) {
        std::size_t const n = std::min(B, data.size() - first);
        for (std::size_t s = 0; s < n; ++s) {
            data.to_float(first + s, images.data() + s * I);
            mirror(images.data() + s * I, mirrored.data() + s * I, data.side);
        }
        auto p = tr.predict_batch(std::span<float const>(images.data(), n * I));
        std::copy(p.begin(), p.end(), probs.begin());
        if (o.flip) {
            auto q = tr.predict_batch(std::span<float const>(mirrored.data(), n * I));
            for (std::size_t i = 0; i < n * K; ++i) probs[i] = 0.5f * (probs[i] + q[i]);
        }
        for (std::size_t s = 0; s < n; ++s) {
            float const* row = probs.data() + s * K;
            auto const predicted = std::int32_t(std::max_element(row, row + K) - row);
            auto const truth = data.labels[first + s];
            e.loss -= std::log(std::max(double(row[truth]), 1e-30));
            e.confusion[std::size_t(truth)][std::size_t(predicted)]++;
            e.predictions.push_back(predicted);
            correct += predicted == truth;
        }
        if (o.keep_probabilities) e.probabilities.insert(e.probabilities.end(), probs.begin(), probs.begin() + std::ptrdiff_t(n * K));
    }
    if (data.size()) {
        e.accuracy = double(correct) / double(data.size());
        e.loss /= double(data.size());
    }
    return e;
}

template <class Trainer>
evaluation evaluate(Trainer& tr, dataset const& data, bool flip = false) {
    return evaluate(tr, data, evaluate_options{.flip = flip});
}

}  // namespace mien
// ---- end mien/train/evaluate.hpp ----
// ---- begin mien/train/optimizer.hpp ----
// mien/train/optimizer.hpp -- Adam and SGD with momentum over a flat parameter array.
//
// An optimiser is a class template over the scalar type and the parameter count, so its state
// (moments, velocity) is a fixed-size member: mien::trainer owns one and nothing is allocated.
//   adam:  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//          p -= lr * m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
//          (the paper's Keras defaults: lr 0.001, b1 0.9, b2 0.999, eps 1e-7)
//   sgd:   u = momentum u + g + weight_decay p;  p -= lr * u
//          Nesterov (Sutskever et al. 2013, as PyTorch writes it): p -= lr * (g + weight_decay p + momentum u),
//          the step taken from where the momentum is about to carry the parameters

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace mien {

struct adam_options {
    double learning_rate = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-7;
    double weight_decay = 0.0;  // decoupled (AdamW); 0 = the paper's plain Adam
};

template <class T, std::size_t P>
class adam {
public:
    using options = adam_options;
    explicit adam(options o = {}) : options_(o) {}

    void step(T* params, T const* grads) {
        ++steps_;
        double const c1 = 1.0 - std::pow(options_.beta1, double(steps_));
        double const c2 = 1.0 - std::pow(options_.beta2, double(steps_));
        T const b1 = T(options_.beta1), b2 = T(options_.beta2);
        T const step_size = T(options_.learning_rate / c1);
        T const inv_c2 = T(1.0 / c2), eps = T(options_.epsilon);
        T const decay = T(options_.learning_rate * options_.weight_decay);
        for (std::size_t i = 0; i < P; ++i) {
            T const g = grads[i];
            m_[i] = b1 * m_[i] + (T(1) - b1) * g;
            v_[i] = b2 * v_[i] + (T(1) - b2) * g * g;
            params[i] -= step_size * m_[i] / (std::sqrt(v_[i] * inv_c2) + eps) + decay * params[i];
        }
    }

    void set_learning_rate(double lr) { options_.learning_rate = lr; }
    double learning_rate() const { return options_.learning_rate; }
    std::uint64_t steps() const { return steps_; }
    void reset() {
        m_.fill(T(0));
        v_.fill(T(0));
        steps_ = 0;
    }
    // State for checkpoints: both moments and the step count.
    std::array<T, P>& first_moment() { return m_; }
    std::array<T, P>& second_moment() { return v_; }
    void set_steps(std::uint64_t s) { steps_ = s; }

private:
    options options_;
    std::array<T, P> m_{}, v_{};
    std::uint64_t steps_ = 0;
};

struct sgd_options {
    double learning_rate = 1e-2;
    double momentum = 0.9;
    double weight_decay = 0.0;  // L2: joins the gradient (coupled, unlike adam_options')
    bool nesterov = false;
};

template <class T, std::size_t P>
class sgd {
public:
    using options = sgd_options;
    explicit sgd(options o = {}) : options_(o) {}

    void step(T* params, T const* grads) {
        ++steps_;
        T const lr = T(options_.learning_rate), mu = T(options_.momentum), wd = T(options_.weight_decay);
        if (options_.nesterov) {
            for (std::size_t i = 0; i < P; ++i) {
                T const g = grads[i] + wd * params[i];
                u_[i] = mu * u_[i] + g;
                params[i] -= lr * (g + mu * u_[i]);
            }
            return;
        }
        for (std::size_t i = 0; i < P; ++i) {
            u_[i] = mu * u_[i] + grads[i] + wd * params[i];
            params[i] -= lr * u_[i];
        }
    }

    void set_learning_rate(double lr) { options_.learning_rate = lr; }
    double learning_rate() const { return options_.learning_rate; }
    std::uint64_t steps() const { return steps_; }
    void reset() {
        u_.fill(T(0));
        steps_ = 0;
    }
    std::array<T, P>& velocity() { return u_; }
    void set_steps(std::uint64_t s) { steps_ = s; }

private:
    options options_;
    std::array<T, P> u_{};
    std::uint64_t steps_ = 0;
};

}  // namespace mien
// ---- end mien/train/optimizer.hpp ----
// ---- begin mien/train/trainer.hpp ----
// mien/train/trainer.hpp -- one training step: forward, loss, backward, optimiser update.
//
//   auto tr = std::make_unique<mien::trainer<net_t, 32>>(net);   // sized at compile time
//   double loss = tr->step(images, labels);                      // no allocation per step
//
// The trainer owns everything training needs for a batch of up to B samples: saved
// activations and their gradients, per-thread gradient copies and scratch, the optimiser's
// moments and the thread team (created once). It updates the network it was given.
//
// Determinism: samples are split across threads in fixed contiguous slices, each thread
// accumulates parameter gradients into its own copy, and the copies are summed in thread
// order. For a given seed and thread count, results never depend on timing.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

// ---- begin mien/train/loss.hpp ----
// mien/train/loss.hpp -- softmax cross-entropy on logits.
//
//   loss = -(1/n) sum_s sum_k t_sk log softmax(z_s)_k,   dz = (softmax(z) - t) / n
// with t the one-hot label, optionally smoothed: t = (1 - e) onehot + e / K.
//
// With class weights w (K values, e.g. to counter class imbalance), sample s counts w[y_s]
// times and the mean is taken over the weights, as PyTorch's weighted cross-entropy does:
//   loss = -(1/W) sum_s w[y_s] sum_k t_sk log p_sk,   dz_s = w[y_s] (p_s - t_s) / W,  W = sum_s w[y_s]

#include <cmath>
#include <cstddef>
#include <algorithm>
#include <cstdint>


namespace mien {

// Returns the mean loss over n samples of K logits each and writes dz (n x K). Labels must be
// in [0, K); probabilities (n x K) are written to `probs`. `class_weights` (K values, may be
// null: all 1) weigh each sample by its label's weight.
template <class T>
double softmax_cross_entropy(std::size_t n, std::size_t K, T const* logits, std::int32_t const* labels, T* probs,
                             T* dz, double smoothing = 0.0, T const* class_weights = nullptr) {
    double weight_sum = 0;
    for (std::size_t s = 0; s < n; ++s) {
        if (labels[s] < 0 || std::size_t(labels[s]) >= K)
            fail("softmax_cross_entropy: label %d of sample %zu is outside [0, %zu)", int(labels[s]), s, K);
        weight_sum += class_weights ? double(class_weights[labels[s]]) : 1.0;
    }
    // A batch made only of zero-weight classes teaches nothing: zero loss and gradient.
    if (weight_sum <= 0) weight_sum = 1;
    double total = 0;
    for (std::size_t s = 0; s < n; ++s) {
        double const w = class_weights ? double(class_weights[labels[s]]) : 1.0;
        T const* z = logits + s * K;
        T* p = probs + s * K;
        detail::softmax(K, z, p);
        for (std::size_t k = 0; k < K; ++k) {
            double const target = (1.0 - smoothing) * (std::size_t(labels[s]) == k ? 1.0 : 0.0) + smoothing / double(K);
            if (target > 0 && w > 0) total -= w * target * std::log(std::max(double(p[k]), 1e-30));
            if (dz) dz[s * K + k] = T(w * (double(p[k]) - target) / weight_sum);
        }
    }
    return total / weight_sum;
}

}  // namespace mien
// ---- end mien/train/loss.hpp ----

namespace mien {

template <class Net, std::size_t B, template <class, std::size_t> class Optimizer = adam, std::size_t Threads = 1>
class trainer {
public:
    static_assert(B > 0, "trainer: the batch size must be at least 1");
    static_assert(Threads > 0, "trainer: needs at least one thread");
    using T = typename Net::scalar;
    using body = typename Net::body;
    using optimizer_type = Optimizer<T, Net::params>;
    static constexpr std::size_t batch = B;
    static constexpr std::size_t inputs = Net::inputs;
    static constexpr std::size_t outputs = Net::outputs;

    // `threads` (1 to Threads) may use fewer threads than the storage was sized for.
    explicit trainer(Net& net, typename optimizer_type::options o = {}, std::uint64_t seed = 1,
                     std::size_t threads = Threads)
        : net_(net), optimizer_(o), rng_(seed), team_(threads == 0 || threads > Threads ? Threads : threads) {}

    // One step on n <= B samples (inputs n x H*W*C, labels in [0, K)). Returns the mean loss.
    double step(std::span<T const> images, std::span<std::int32_t const> labels, double label_smoothing = 0.0) {
        std::size_t const n = check_batch(images, labels);
        frame<T> f = make_frame(n, true);
        body::forward(f, images.data(), logits_.data());
        double const loss = softmax_cross_entropy(n, outputs, logits_.data(), labels.data(), probs_.data(),
                                                  dlogits_.data(), label_smoothing,
                                                  weighted_ ? class_weights_.data() : nullptr);
        backward_and_update(f, images.data());
        return loss;
    }

    // Weighs each sample of `step` by its class (K values >= 0, not all 0), e.g. from
    // balanced_class_weights; the loss is the weighted mean (see loss.hpp).
    void set_class_weights(std::span<T const> w) {
        if (w.size() != outputs) fail_size("trainer::set_class_weights: class weights", outputs, w.size());
        T sum = 0;
        for (std::size_t k = 0; k < outputs; ++k) {
            if (!(w[k] >= 0) || !std::isfinite(w[k]))
                fail("trainer::set_class_weights: weight %zu is %g; expected a finite value >= 0", k, double(w[k]));
            class_weights_[k] = w[k];
            sum += w[k];
        }
        if (sum <= 0) fail("trainer::set_class_weights: every weight is 0; at least one class must count");
        weighted_ = true;
    }
    void clear_class_weights() { weighted_ = false; }
    bool has_class_weights() const { return weighted_; }

    // Same step with soft targets (n x K rows summing to 1), for mixup and distillation.
    double step_soft(std::span<T const> images, std::span<T const> targets) {
        if (targets.size() % outputs != 0 || images.size() != targets.size() / outputs * inputs)
            fail("trainer::step_soft: %zu input values and %zu target values do not describe the same samples",
                 images.size(), targets.size());
        std::size_t const n = targets.size() / outputs;
        if (n == 0 || n > B) fail("trainer::step_soft: expected 1 to %zu samples, found %zu", B, n);
        frame<T> f = make_frame(n, true);
        body::forward(f, images.data(), logits_.data());
        double loss = 0;
        for (std::size_t s = 0; s < n; ++s) {
            detail::softmax(outputs, logits_.data() + s * outputs, probs_.data() + s * outputs);
            for (std::size_t k = 0; k < outputs; ++k) {
                double const p = double(probs_[s * outputs + k]), t = double(targets[s * outputs + k]);
                if (t > 0) loss -= t * std::log(p > 1e-30 ? p : 1e-30);
                dlogits_[s * outputs + k] = T((p - t) / double(n));
            }
        }
        backward_and_update(f, images.data());
        return loss / double(n);
    }

    // Inference on n <= B samples with the running statistics; returns n x K probabilities.
    std::span<T const> predict_batch(std::span<T const> images) {
        if (images.size() % inputs != 0 || images.size() == 0 || images.size() / inputs > B)
            fail("trainer::predict_batch: expected 1 to %zu inputs of %zu values, found %zu values", B, inputs,
                 images.size());
        std::size_t const n = images.size() / inputs;
        body::forward(make_frame(n, false), images.data(), logits_.data());
        for (std::size_t s = 0; s < n; ++s)
            detail::softmax(outputs, logits_.data() + s * outputs, probs_.data() + s * outputs);
        return std::span<T const>(probs_.data(), n * outputs);
    }

    // Probabilities and gradients of the last step (n x K), e.g. for accuracy bookkeeping.
    std::span<T const> last_probabilities() const { return probs_; }
    std::span<T const> last_gradients() const { return std::span<T const>(grads_.data(), Net::params); }

    optimizer_type& optimizer() { return optimizer_; }
    std::size_t threads() const { return team_.size(); }
    random_generator& rng() { return rng_; }
    Net& network() { return net_; }

    static constexpr std::size_t bytes = sizeof(std::array<T, B * (2 * Net::saved_per_sample + 3 * outputs) +
                                                                 Threads * (Net::temp_size + Net::params)>) +
                                         sizeof(optimizer_type);

private:
    std::size_t check_batch(std::span<T const> images, std::span<std::int32_t const> labels) const {
        std::size_t const n = labels.size();
        if (n == 0 || n > B) fail("trainer::step: expected 1 to %zu labels, found %zu", B, n);
        if (images.size() != n * inputs) fail_size("trainer::step: images (labels x input size)", n * inputs, images.size());
        // Before the forward pass, which moves the running statistics and the dropout generator.
        for (std::size_t s = 0; s < n; ++s)
            if (labels[s] < 0 || std::size_t(labels[s]) >= outputs)
                fail("trainer::step: label %d of sample %zu is outside [0, %zu)", int(labels[s]), s, outputs);
        return n;
    }

    // Gradients of dlogits_ into per-thread copies, summed in thread order (deterministic),
    // then one optimiser update.
    void backward_and_update(frame<T> const& f, T const* images) {
        detail::fill(team_.size() * Net::params, T(0), grads_.data());
        body::backward(f, images, logits_.data(), dlogits_.data(), nullptr);
        for (std::size_t t = 1; t < team_.size(); ++t)
            detail::add_to(Net::params, grads_.data() + t * Net::params, grads_.data());
        optimizer_.step(net_.parameters().data(), grads_.data());
    }

    frame<T> make_frame(std::size_t n, bool training) {
        frame<T> f;
        f.params = net_.parameters().data();
        f.state = net_.state().data();
        f.grads = grads_.data();
        f.grad_stride = Net::params;
        f.saved = saved_.data();
        f.dsaved = dsaved_.data();
        f.temp = temp_.data();
        f.temp_stride = Net::temp_size;
        f.n = n;
        f.training = training;
        f.team = team_.size() > 1 ? &team_ : nullptr;
        f.rng = &rng_;
        return f;
    }

    Net& net_;
    optimizer_type optimizer_;
    random_generator rng_;
    thread_team team_;
    std::array<T, B * Net::saved_per_sample + 1> saved_{}, dsaved_{};
    std::array<T, B * outputs> logits_{}, probs_{}, dlogits_{};
    std::array<T, outputs> class_weights_{};
    bool weighted_ = false;
    std::array<T, Threads * Net::params> grads_{};
    std::array<T, Threads * Net::temp_size + 1> temp_{};
};

}  // namespace mien
// ---- end mien/train/trainer.hpp ----

namespace mien {

// Net: the teachers' network type (all teachers share it); Chunk: images per inference call.
template <class Net, std::size_t Chunk = 16, std::size_t Threads = 2>
class teacher_ensemble {
public:
    static constexpr std::size_t inputs = Net::inputs, outputs = Net::outputs;

    explicit teacher_ensemble(double temperature, std::size_t threads = Threads) : temperature_(temperature), threads_(threads) {
        if (!(temperature > 0) || !std::isfinite(temperature))
            fail("teacher_ensemble: temperature %g; expected a positive number", temperature);
    }

    // Loads one teacher's weights (exact topology).
    void add(std::filesystem::path const& weights) {
        auto net = std::make_unique<Net>();
        load_weights(*net, weights, topology_check::exact);
        runners_.push_back(std::make_unique<runner>(*net, typename runner::optimizer_type::options{}, 1, threads_));
        nets_.push_back(std::move(net));
    }
    std::size_t size() const { return nets_.size(); }
    double temperature() const { return temperature_; }

    // n x outputs softened, averaged probabilities for n images (n x inputs values).
    void soften(std::span<float const> images, std::size_t n, float* out) {
        if (nets_.empty()) fail("teacher_ensemble: no teacher loaded");
        if (images.size() != n * inputs)
            fail("teacher_ensemble: %zu input values for %zu images of %zu values", images.size(), n, inputs);
        std::fill(out, out + n * outputs, 0.0f);
        double const share = 1.0 / double(nets_.size());
        auto& row = row_;
        for (auto& r : runners_)
            for (std::size_t first = 0; first < n; first += Chunk) {
                std::size_t const m = std::min(Chunk, n - first);
                auto const p = r->predict_batch(images.subspan(first * inputs, m * inputs));
                for (std::size_t s = 0; s < m; ++s) {
                    double top = -1e300, sum = 0;
                    for (std::size_t k = 0; k < outputs; ++k) {
                        row[k] = std::log(std::max(double(p[s * outputs + k]), 1e-30)) / temperature_;
                        top = std::max(top, row[k]);
                    }
                    for (std::size_t k = 0; k < outputs; ++k) sum += row[k] = std::exp(row[k] - top);
                    for (std::size_t k = 0; k < outputs; ++k) out[(first + s) * outputs + k] += float(share * row[k] / sum);
                }
            }
    }

    // Each teacher's own accuracy on d (its plain softmax, as mien::evaluate), to report what the
    // student is distilled from.
    std::vector<double> accuracies(dataset const& d, bool flip = false) {
        std::vector<double> a;
        for (auto& r : runners_) a.push_back(evaluate(*r, d, evaluate_options{.flip = flip}).accuracy);
        return a;
    }

    // For epoch_options::teacher (the ensemble must outlive the function).
    teacher_function function() {
        return [this](std::span<float const> images, std::size_t n, float* out) { soften(images, n, out); };
    }

private:
    using runner = trainer<Net, Chunk, adam, Threads>;
    double temperature_;
    std::size_t threads_;
    std::vector<std::unique_ptr<Net>> nets_;
    std::vector<std::unique_ptr<runner>> runners_;
    std::array<double, outputs> row_{};  // one face's softened row (scratch; no allocation per batch)
};

// Teachers of different networks as one ensemble (a large network and a paper one, say: their
// errors differ more than two of a kind, so their mean is the better teacher). Each group is a
// teacher_ensemble's function with its number of teachers; the mix weighs each group's mean by
// that number, so every teacher counts as much as it would in a single ensemble.
struct teacher_group {
    teacher_function soften;
    std::size_t count = 1;
};

inline teacher_function mix_teachers(std::vector<teacher_group> groups, std::size_t outputs) {
    std::size_t total = 0;
    for (auto const& g : groups) {
        if (!g.soften || g.count == 0) fail("mix_teachers: a group without a teacher");
        total += g.count;
    }
    if (total == 0) fail("mix_teachers: no teacher");
    if (groups.size() == 1) return std::move(groups.front().soften);
    // `part` is kept between batches: one allocation for the run, not one per batch.
    return [groups = std::move(groups), outputs, total, part = std::vector<float>()](std::span<float const> images, std::size_t n,
                                                                                   float* out) mutable {
        part.resize(n * outputs);
        std::fill(out, out + n * outputs, 0.0f);
        for (auto const& g : groups) {
            g.soften(images, n, part.data());
            float const share = float(double(g.count) / double(total));
            for (std::size_t i = 0; i < part.size(); ++i) out[i] += share * part[i];
        }
    };
}

}  // namespace mien
// ---- end mien/train/distill.hpp ----
// ---- begin mien/train/metrics.hpp ----
// mien/train/metrics.hpp -- per-class precision, recall and F1 from a confusion matrix.
//
// confusion[true][predicted] counts, as mien::evaluate() (evaluate.hpp) returns them. A class never
// predicted has precision 0, a class with no sample recall 0, and F1 0 when both are 0 (the
// scikit-learn convention with zero_division=0). Macro averages weigh equally the classes that
// occur, as truth or as prediction (scikit-learn's default labels: CK+ without contempt has no
// neutral face, and a neutral column never predicted does not pull its macro F1 down);
// weighted F1 weighs by support.

#include <cstddef>
#include <vector>

namespace mien {

struct class_metrics {
    double precision = 0, recall = 0, f1 = 0;
    std::size_t support = 0;    // samples of this class
    std::size_t predicted = 0;  // samples predicted as this class
};

struct classification_report {
    std::size_t total = 0, correct = 0;
    double accuracy = 0;
    double macro_precision = 0, macro_recall = 0, macro_f1 = 0, weighted_f1 = 0;
    std::vector<class_metrics> per_class;
};

inline classification_report report_from_confusion(std::vector<std::vector<std::size_t>> const& confusion) {
    std::size_t const k = confusion.size();
    classification_report r;
    r.per_class.resize(k);
    for (std::size_t t = 0; t < k; ++t)
        for (std::size_t p = 0; p < k; ++p) {
            std::size_t const n = confusion[t][p];
            r.total += n;
            r.per_class[t].support += n;
            r.per_class[p].predicted += n;
            if (t == p) r.correct += n;
        }
    std::size_t occurring = 0;
    for (auto const& m : r.per_class) occurring += m.support + m.predicted > 0;
    double const share = occurring ? 1.0 / double(occurring) : 0.0;
    for (std::size_t c = 0; c < k; ++c) {
        class_metrics& m = r.per_class[c];
        double const hits = double(confusion[c][c]);
        m.precision = m.predicted ? hits / double(m.predicted) : 0.0;
        m.recall = m.support ? hits / double(m.support) : 0.0;
        m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
        if (m.support + m.predicted == 0) continue;
        r.macro_precision += m.precision * share;
        r.macro_recall += m.recall * share;
        r.macro_f1 += m.f1 * share;
        if (r.total) r.weighted_f1 += m.f1 * double(m.support);
    }
    if (r.total) {
        r.weighted_f1 /= double(r.total);
        r.accuracy = double(r.correct) / double(r.total);
    }
    return r;
}

}  // namespace mien
// ---- end mien/train/metrics.hpp ----
// ---- end mien/mien.hpp ----
