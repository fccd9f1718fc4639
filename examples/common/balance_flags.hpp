// examples/common/balance_flags.hpp -- --class-weights and --mixup, shared by mien-train and
// mien-crossval: the two answers to a small or imbalanced training set that they both offer.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <mien/core/error.hpp>
#include <mien/data/dataset.hpp>
#include <mien/train/class_weights.hpp>

#include "number_flags.hpp"

struct balance_flags {
    std::string class_weights = "none";  // none or balanced
    double mixup = 0;                    // Beta(alpha, alpha); 0 = off

    void add_to(CLI::App& app) {
        app.add_option("--class-weights", class_weights,
                       "none, or balanced: weigh each face's loss by n / (classes x faces of its class)")
            ->capture_default_str()->check(CLI::IsMember({"none", "balanced"}));
        app.add_option("--mixup", mixup, "mixup alpha (blend pairs of faces and labels, lambda ~ Beta(alpha, alpha)); 0: off")
            ->capture_default_str()->check(finite_range(0.0, 10.0));  // CLI::Range lets NaN through
    }

    // Sets the trainer's class weights from `train` (epoch_options::mixup_alpha takes `mixup`);
    // returns a line for the log.
    template <class Trainer>
    std::string apply(Trainer& tr, mien::dataset const& train) const {
        if (mixup > 0 && class_weights != "none")
            mien::fail("--mixup and --class-weights %s do not combine (mixup's soft targets carry no class weight)",
                       class_weights.c_str());
        std::string line = mixup > 0 ? "mixup alpha " + std::to_string(mixup) : "no mixup";
        if (class_weights == "balanced") {
            auto const w = mien::balanced_class_weights<float, Trainer::outputs>(train.labels);
            tr.set_class_weights(w);
            line += ", balanced class weights";
            for (float x : w) line += " " + std::to_string(x).substr(0, 5);
        } else {
            tr.clear_class_weights();
        }
        return line;
    }
};
