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
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "error.hpp"
#include "layer.hpp"
#include "softmax.hpp"
#include "vector_ops.hpp"

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
