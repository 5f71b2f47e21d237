/* kernels/team.h — the one thread team of the runtime kernels, for training
 * (compiled natively into libgraphc) and for generation programs and exported
 * libraries (the same C in their bitcode, a team of their own).
 *
 * A parallel call cuts [0, count) into ranges that the caller and the
 * workers claim one after another (guided: each takes 1/(2 x threads) of
 * what is left, down to `grain`), so the caller never waits for a worker to
 * wake up: on a busy machine it does the work itself. A range is computed
 * whole by whoever claims it, and every kernel gives each output element to
 * one range, so the bits do not depend on the number of threads. Workers spin
 * ~50 us for the next call (a step's kernels come microseconds apart), then
 * sleep on a futex. One caller at a time: a call that finds the team busy
 * (another thread, or a call from inside a range) runs alone. */
#ifndef GRAPHC_KERNELS_TEAM_H
#define GRAPHC_KERNELS_TEAM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* fn(ctx, slot, begin, end) on a range. slot >= 0 names the participant, for
 * graphc_team_scratch; it is -1 when the call runs outside the team. */
typedef void (*graphc_range_fn)(void* ctx, int slot, int64_t begin, int64_t end);

/* Threads the kernels may use from now on, the caller included (1: only the
 * caller). Returns how many it has (fewer when threads cannot be started). */
int graphc_team_set_threads(int threads);
/* What graphc_team_set_threads was last given and got (1 before). */
int graphc_team_requested(void);
/* The threads the next call will use: the team's, or 1 while its workers are
 * starved by another busy process (team.c: the load monitor). */
int graphc_team_threads(void);
/* Joins the workers and frees the scratch (before unloading the code they run). */
void graphc_team_stop(void);

/* fn over ranges covering [0, count), at least `grain` long (but the last);
 * returns when all are done. */
void graphc_team_ranges(int64_t count, int64_t grain, graphc_range_fn fn, void* ctx);

/* fn over [0, count) cut into one equal part per thread, part s run by
 * participant s whenever it takes part, so the data a part reads stays in that
 * core's cache from call to call (a generation step's weights, re-read every
 * token: guided ranges moved them between cores). A part whose worker has not
 * claimed it within the time the caller's own part took is run by the caller. */
void graphc_team_parts(int64_t count, graphc_range_fn fn, void* ctx);

/* Participant `slot`'s scratch buffer number `which` (0 or 1), at least
 * `floats` long and 64-byte aligned, kept from call to call; NULL when out of
 * memory. Only for slot >= 0. */
float* graphc_team_scratch(int slot, int which, int64_t floats);

#ifdef __cplusplus
}
#endif

#endif
