// mien/models/paper.hpp -- the seed paper's network (ARCHITECTURE.md), and its named blocks.
//
//   48x48x1 -> [normal_block C1][separable_block C1] -> 24x24xC1
//           -> [normal_block C2][separable_block C2] -> 12x12xC2
//           -> [normal_block C3][separable_block C3] ->  6x6xC3
//           -> attention_merge<D> (36 tokens, dot-product + additive attention, means) -> 2*C3
//           -> dense<Hd> -> relu -> dropout -> dense<K>  (softmax in predict / the loss)
//
// Defaults: C1 32, C2 64, C3 128, D 64, Hd 128, K 7: 175,495 parameters, 25,373,056 MACs.
#pragma once

#include <cstddef>

#include "../blocks/concat.hpp"
#include "../blocks/conv_block.hpp"
#include "../blocks/residual.hpp"
#include "../blocks/sequential.hpp"
#include "../core/network.hpp"
#include "../layers/additive_attention.hpp"
#include "../layers/batch_norm.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/dense.hpp"
#include "../layers/depthwise_conv2d.hpp"
#include "../layers/dot_product_attention.hpp"
#include "../layers/dropout.hpp"
#include "../layers/global_avg_pool.hpp"
#include "../layers/max_pool.hpp"
#include "../layers/qk_projection.hpp"
#include "../layers/relu.hpp"

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
