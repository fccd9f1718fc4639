// mien/train/distill.hpp: the teachers' softened probabilities equal softmax(logits / T)
// computed from the network's own logits; a student distilled from a teacher on generated
// images comes to predict what the teacher predicts; teachers load with exact topology.
#include <mien/io/weights.hpp>
#include <mien/models/paper.hpp>
#include <mien/train/distill.hpp>
#include <mien/train/epoch.hpp>
#include <mien/train/trainer.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <span>  // support/io_test.hpp uses std::as_bytes
#include <vector>

#include "support/io_test.hpp"
#include "support/tiny_training.hpp"

using namespace mien;
using testing::tiny_net;

namespace {

constexpr std::size_t batch = 16;
using trainer_t = trainer<tiny_net, batch, adam, 2>;

// Trains a fresh tiny network (seed) for `epochs` epochs on d with these extra options.
template <class Configure>
std::unique_ptr<tiny_net> trained(dataset const& d, std::uint64_t seed, std::size_t epochs, Configure configure) {
    auto net = std::make_unique<tiny_net>();
    net->init(seed);
    auto tr = std::make_unique<trainer_t>(*net, adam_options{}, seed, 2);
    for (std::size_t e = 0; e < epochs; ++e) {
        epoch_options o;
        o.seed = seed;
        o.epoch = e;
        o.total_steps = epochs * batches_per_epoch<trainer_t>(d);
        o.lr = 5e-3;
        configure(o);
        REQUIRE(train_epoch(*tr, d, o).status == epoch_result::done);
    }
    return net;
}

struct closeness {
    double agreement = 0;  // fraction of faces on which the most probable classes agree
    double distance = 0;   // mean total variation distance between the two distributions
};

closeness compare(tiny_net& a, tiny_net& b, dataset const& d) {
    std::vector<float> face(d.face_size());
    closeness c;
    for (std::size_t i = 0; i < d.size(); ++i) {
        d.to_float(i, face.data());
        auto const pa = a.predict(face);
        auto const& pb = b.predict(face);
        c.agreement += std::max_element(pa.begin(), pa.end()) - pa.begin() == std::max_element(pb.begin(), pb.end()) - pb.begin();
        for (std::size_t k = 0; k < pa.size(); ++k) c.distance += 0.5 * std::abs(double(pa[k]) - double(pb[k]));
    }
    c.agreement /= double(d.size());
    c.distance /= double(d.size());
    return c;
}

}  // namespace

TEST_CASE("distill: softened probabilities are softmax(logits / T), averaged over teachers") {
    testing::temp_dir dir;
    tiny_net a, b;
    a.init(1);
    b.init(2);
    save_weights(a, dir / "a.mien");
    save_weights(b, dir / "b.mien");
    dataset const d = testing::shapes_as_dataset(5, 3);
    std::vector<float> images(d.size() * d.face_size());
    for (std::size_t i = 0; i < d.size(); ++i) d.to_float(i, images.data() + i * d.face_size());
    double const T = 3.0;
    teacher_ensemble<tiny_net, 2> teachers(T);  // chunks of 2: 5 images take three calls
    teachers.add(dir / "a.mien");
    teachers.add(dir / "b.mien");
    CHECK(teachers.size() == 2);
    std::vector<float> out(d.size() * 7);
    teachers.soften(images, d.size(), out.data());
    for (std::size_t i = 0; i < d.size(); ++i) {
        std::array<double, 7> expected{};
        for (tiny_net* net : {&a, &b}) {
            net->predict(std::span<float const>(images.data() + i * d.face_size(), d.face_size()));
            auto const& z = net->logits();
            double top = -1e300, sum = 0;
            for (float v : z) top = std::max(top, double(v) / T);
            std::array<double, 7> e{};
            for (std::size_t k = 0; k < 7; ++k) sum += e[k] = std::exp(double(z[k]) / T - top);
            for (std::size_t k = 0; k < 7; ++k) expected[k] += 0.5 * e[k] / sum;
        }
        for (std::size_t k = 0; k < 7; ++k) CHECK(out[i * 7 + k] == doctest::Approx(expected[k]).epsilon(1e-4));
    }
}

TEST_CASE("distill: a student trained only on a teacher's targets comes to predict what the teacher predicts") {
    dataset const train = testing::shapes_as_dataset(448, 21), held_out = testing::shapes_as_dataset(140, 22);
    testing::temp_dir dir;
    auto teacher_net = trained(train, 4, 8, [](epoch_options&) {});
    save_weights(*teacher_net, dir / "teacher.mien");
    teacher_ensemble<tiny_net> teachers(1.0);
    teachers.add(dir / "teacher.mien");
    // The student never sees a label: weight 1 on the teacher. Its labels are scrambled to prove it.
    dataset scrambled = train;
    for (auto& l : scrambled.labels) l = (l + 3) % 7;
    auto untrained = std::make_unique<tiny_net>();
    untrained->init(9);
    auto student = trained(scrambled, 9, 20, [&](epoch_options& o) {
        o.teacher = teachers.function();
        o.teacher_weight = 1.0;
    });
    closeness const before = compare(*untrained, *teacher_net, held_out), after = compare(*student, *teacher_net, held_out);
    dataset const& truth = held_out;
    double teacher_accuracy = 0;
    {
        std::vector<float> face(truth.face_size());
        for (std::size_t i = 0; i < truth.size(); ++i) {
            truth.to_float(i, face.data());
            auto const& p = teacher_net->predict(face);
            teacher_accuracy += double(std::max_element(p.begin(), p.end()) - p.begin() == truth.labels[i]) / double(truth.size());
        }
    }
    // The teachers' own accuracy (batch inference) is the one measured face by face above.
    auto const reported = teachers.accuracies(held_out);
    REQUIRE(reported.size() == 1);
    CHECK(reported[0] == doctest::Approx(teacher_accuracy).epsilon(1e-9));
    MESSAGE("teacher held-out accuracy ", teacher_accuracy, "; student vs teacher: agreement ", before.agreement,
            " untrained, ", after.agreement, " distilled; total variation ", before.distance, " untrained, ", after.distance,
            " distilled");
    CHECK(before.agreement < 0.4);
    CHECK(after.agreement >= 0.75);
    CHECK(after.distance < 0.25 * before.distance);
}

TEST_CASE("distill: teachers load with exact topology and a clear temperature") {
    testing::temp_dir dir;
    models::fast other;
    save_weights(other, dir / "fast.mien");
    teacher_ensemble<tiny_net> teachers(2.0);
    CHECK(testing::error_of([&] { teachers.add(dir / "fast.mien"); }).find((dir / "fast.mien").string()) != std::string::npos);
    CHECK(teachers.size() == 0);
    CHECK(testing::error_of([] { teacher_ensemble<tiny_net> t(0.0); }) == "teacher_ensemble: temperature 0; expected a positive number");
    std::vector<float> image(2304);
    CHECK(testing::error_of([&] { teachers.soften(image, 1, image.data()); }) == "teacher_ensemble: no teacher loaded");
}

TEST_CASE("distill: mix_teachers weighs each network's ensemble by its number of teachers") {
    // Two groups of constant teachers over 3 classes: one teacher saying (1, 0, 0), two saying
    // (0, 0.5, 0.5) on average; the mix is their mean over all three teachers.
    auto constant = [](std::vector<float> row) {
        return mien::teacher_function([row](std::span<float const>, std::size_t n, float* out) {
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t k = 0; k < row.size(); ++k) out[i * row.size() + k] = row[k];
        });
    };
    auto mixed = mien::mix_teachers({{constant({1, 0, 0}), 1}, {constant({0, 0.5f, 0.5f}), 2}}, 3);
    std::vector<float> const images(2 * 4, 0.0f);
    std::vector<float> out(2 * 3, -1.0f);
    mixed(std::span<float const>(images), 2, out.data());
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(out[i * 3 + 0] == doctest::Approx(1.0 / 3));
        CHECK(out[i * 3 + 1] == doctest::Approx(1.0 / 3));
        CHECK(out[i * 3 + 2] == doctest::Approx(1.0 / 3));
    }
    // One group is passed through unchanged; an empty group is an error.
    auto single = mien::mix_teachers({{constant({0.25f, 0.75f, 0}), 1}}, 3);
    single(std::span<float const>(images), 1, out.data());
    CHECK(out[1] == 0.75f);
    CHECK(mien::testing::error_of([&] { mien::mix_teachers({{mien::teacher_function{}, 1}}, 3); }) ==
          "mix_teachers: a group without a teacher");
}
