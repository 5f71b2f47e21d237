/* kernels/attention.h — fused attention (FlashAttention's algorithm
 * on the CPU): for each (batch, head) entry and each block of 4 queries, the
 * scores are made a block of keys at a time and folded into the outputs with
 * an online softmax, so the T x T matrix of scores never exists; the backward
 * pass makes them again, a query block at a time. Each row of keys and values
 * (and of their gradients) is read once per query block, not once per query
 * (gpt's CPU configuration trained 1.16-1.22x faster on one thread), and the
 * block's scores, outputs and gradients are summed in register tiles: the
 * kernels 1.8-2.3x, that configuration 1.11-1.13x more (Zen 5). kernels.c
 * splits the entries over the team; an entry is always one thread's, so the
 * bits do not depend on the thread count.
 *
 * Layouts: q, k, v are [entries, T, D]. The forward output is [entries, T, D + 1]:
 * each query's output row, then the logsumexp of its scores (what the backward
 * pass needs). The backward output is [3, entries, T, D]: dq, dk, dv. */
#ifndef GRAPHC_KERNELS_ATTENTION_H
#define GRAPHC_KERNELS_ATTENTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Entries [e0, e1); query i sees keys j <= i when causal, all T otherwise.
 * Returns 0, or -1 when it cannot get its scratch memory. */
int graphc_attention_forward(const float* q, const float* k, const float* v, float* out, int64_t e0, int64_t e1,
                             int64_t t, int64_t d, float scale, int32_t causal);
/* y: the forward output; dy: the gradient of the loss with respect to it
 * (outputs and logsumexps); grads: [3, entries, T, D], entries [e0, e1) written.
 * Returns 0, or -1 when it cannot get its scratch memory. */
int graphc_attention_backward(const float* q, const float* k, const float* v, const float* y, const float* dy,
                              float* grads, int64_t entries, int64_t e0, int64_t e1, int64_t t, int64_t d,
                              float scale, int32_t causal);

#ifdef __cplusplus
}
#endif

#endif
