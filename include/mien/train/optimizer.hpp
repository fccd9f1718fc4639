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
#pragma once

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
