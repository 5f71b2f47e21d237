/* kernels/team.c — see team.h.
 *
 * The protocol. A call (the owner: whoever holds `busy`) writes its job into
 * the fields below, publishes the claim word (job number << 32 | next index)
 * and bumps `job`, the workers' futex word. Claimers, owner and workers, move
 * the claim word forward with a compare-exchange and run what they took. A
 * worker counts itself `inside` before it reads the claim word and the job's
 * fields and leaves after its last range; between calls the claim word is
 * CLOSED, and the owner writes the next job only once no worker is inside, so
 * a worker that wakes late reads either CLOSED or its own job's fields, never
 * the next job's while they are written. Every atomic here is sequentially
 * consistent: the few per call cost nothing beside a product. */
#define _GNU_SOURCE
#include "team.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define SPIN_NS 50000 /* a pause is 10 cycles on one CPU and 140 on another: spin by time */
#define CLOSED 0xffffffffu

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void futex_wait(atomic_uint* word, unsigned expected) {
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, 0, 0, 0);
}
static void futex_wake(atomic_uint* word, int count) { syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, 0, 0, 0); }

/* The load monitor. A worker that shares its core with another busy process
 * is preempted for whole time slices (milliseconds) while it holds a range,
 * and the owner waits for it: two threads then run at half the speed of one.
 * And a worker spinning for the next call takes a core the owner or the other
 * process needs: the owner itself is then descheduled, which its waits do not
 * show but its CPU time does. When, over a window of calls, the owner's waits
 * exceed 60% of its own work, or its thread ran less than 80% of the wall
 * time, the team runs everything on the owner alone for a while (the workers
 * sleep), then tries them again, backing off exponentially while the load
 * persists. A window is short (at least 4 calls and 10 ms): each retry under
 * load costs about one window at half speed, and with windows of 64 calls a
 * 2x1024 LSTM lost 75 ms a retry, 10% of a 3-second generation. The results
 * do not change (team.h). Only the owner writes it but solo_until. */
#define WINDOW_CALLS 4
#define WINDOW_MIN_NS 10000000
#define FIRST_BACKOFF_NS 50000000
#define MAX_BACKOFF_NS 2000000000

struct monitor {
  int calls;
  int64_t own, wait, backoff;
  int64_t window_wall, window_cpu; /* when the window began: wall clock, the owner's CPU clock */
  atomic_llong solo_until;
};

static int64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void monitor_record(struct monitor* m, int64_t own, int64_t wait) {
  if (m->calls == 0) {
    m->window_wall = now_ns(); /* both clocks from here: this call is outside the window's times */
    m->window_cpu = thread_cpu_ns();
  }
  m->own += own;
  m->wait += wait;
  if (++m->calls < WINDOW_CALLS || m->own + m->wait < WINDOW_MIN_NS) return; /* tiny calls say nothing */
  int64_t wall = now_ns() - m->window_wall, cpu = thread_cpu_ns() - m->window_cpu;
  int starved = m->wait * 5 > m->own * 3 || cpu * 5 < wall * 4;
  m->calls = 0;
  m->own = m->wait = 0;
  if (m->backoff == 0) m->backoff = FIRST_BACKOFF_NS;
  if (!starved) {
    m->backoff = FIRST_BACKOFF_NS;
    return;
  }
  atomic_store(&m->solo_until, now_ns() + m->backoff);
  m->backoff = m->backoff * 2 < MAX_BACKOFF_NS ? m->backoff * 2 : MAX_BACKOFF_NS;
}

static int monitor_solo(struct monitor* m) {
  long long until = atomic_load(&m->solo_until);
  return until != 0 && now_ns() < until;
}

static struct {
  int workers; /* started, beside the owner */
  pthread_t ids[MAX_THREADS];
  atomic_int active;    /* workers taking part (threads asked for - 1) */
  atomic_int requested; /* what graphc_team_set_threads got */
  atomic_int busy;      /* an owner holds the team */
  atomic_int stop;
  atomic_uint job;           /* the current call's number: the workers' futex word */
  atomic_int sleepers;       /* workers asleep on `job` */
  atomic_uint_fast64_t claim; /* (job << 32) | next unclaimed index; CLOSED between calls */
  atomic_uint inside;        /* workers in the current call: the owner's futex word */
  atomic_int owner_sleeps;
  /* The job: written by the owner while no worker is inside. */
  graphc_range_fn fn;
  void* ctx;
  int64_t count, grain;
  int threads;
  int pinned; /* graphc_team_parts: part s for slot s, the claim word's low bits a mask of taken parts */
  struct monitor monitor;
  struct {
    float* data;
    int64_t floats;
  } scratch[MAX_THREADS][2];
} team = {.claim = CLOSED};

/* Claims part `part` of a pinned call (sets its bit) and runs it; 0 when it was taken or the call is over. */
static int take_part(unsigned job, int slot, int part) {
  uint64_t v = atomic_load(&team.claim);
  for (;;) {
    uint32_t mask = (uint32_t)v, bit = 1u << part;
    if ((unsigned)(v >> 32) != job || (mask & bit)) return 0;
    if (atomic_compare_exchange_weak(&team.claim, &v, ((uint64_t)job << 32) | (mask | bit))) break;
  }
  int64_t parts = team.threads;
  team.fn(team.ctx, slot, team.count * part / parts, team.count * (part + 1) / parts);
  return 1;
}

/* Claims and runs ranges of call `job` until none is left (a pinned call: only
 * the slot's own part). A worker (slot > 0) is counted inside by its caller; it
 * reads the job only once the claim word shows the call is still open. */
static void take_ranges(unsigned job, int slot) {
  if ((unsigned)(atomic_load(&team.claim) >> 32) != job) return; /* over: the fields may be the next call's */
  if (team.pinned) {
    if (slot < team.threads) take_part(job, slot, slot);
    return;
  }
  for (;;) {
    uint64_t v = atomic_load(&team.claim);
    uint32_t next = (uint32_t)v;
    if ((unsigned)(v >> 32) != job || next == CLOSED || slot >= team.threads || (int64_t)next >= team.count) return;
    int64_t begin = next, left = team.count - begin;
    int64_t size = left / (2 * team.threads);
    if (size < team.grain) size = team.grain;
    int64_t end = size < left ? begin + size : team.count;
    if (!atomic_compare_exchange_weak(&team.claim, &v, ((uint64_t)job << 32) | (uint64_t)end)) continue;
    team.fn(team.ctx, slot, begin, end);
  }
}

/* Returns once no worker is inside: spins for a while, then sleeps. */
static void wait_until_no_worker_inside(void) {
  int64_t deadline = 0;
  for (int spins = 1; atomic_load(&team.inside) != 0; ++spins) {
    cpu_relax();
    if ((spins & 63) != 0) continue;
    if (deadline == 0) deadline = now_ns() + SPIN_NS;
    else if (now_ns() > deadline) break; /* a descheduled worker: give back the core it needs */
  }
  for (unsigned v; (v = atomic_load(&team.inside)) != 0;) {
    atomic_store(&team.owner_sleeps, 1);
    futex_wait(&team.inside, v);
  }
  atomic_store(&team.owner_sleeps, 0);
}

/* arg: the worker's slot (1..) and, above bit 32, the job number when it was
 * created (a thread may start running after the next call, or a stop, moved it). */
static void* worker_main(void* arg) {
  int slot = (int)((uintptr_t)arg & 0xffffffffu);
  unsigned seen = (unsigned)((uintptr_t)arg >> 32);
  for (;;) {
    unsigned job;
    int64_t deadline = 0;
    for (int spins = 1; (job = atomic_load(&team.job)) == seen; ++spins) {
      cpu_relax();
      if ((spins & 63) != 0) continue;
      if (deadline == 0) deadline = now_ns() + SPIN_NS;
      if (now_ns() < deadline) continue;
      atomic_fetch_add(&team.sleepers, 1);
      futex_wait(&team.job, seen); /* returns at once if the job moved since */
      atomic_fetch_sub(&team.sleepers, 1);
      deadline = 0;
    }
    seen = job;
    if (atomic_load(&team.stop)) return 0;
    if (slot > atomic_load(&team.active)) continue;
    atomic_fetch_add(&team.inside, 1);
    take_ranges(job, slot);
    if (atomic_fetch_sub(&team.inside, 1) == 1 && atomic_load(&team.owner_sleeps)) futex_wake(&team.inside, 1);
  }
}

static void lock_team(void) {
  int expected = 0;
  while (!atomic_compare_exchange_weak(&team.busy, &expected, 1)) {
    expected = 0;
    cpu_relax();
  }
}

int graphc_team_set_threads(int threads) {
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  lock_team();
  while (team.workers < threads - 1) {
    uintptr_t arg = (uintptr_t)(team.workers + 1) | ((uintptr_t)atomic_load(&team.job) << 32);
    if (pthread_create(&team.ids[team.workers + 1], 0, worker_main, (void*)arg) != 0) break;
    ++team.workers;
  }
  int active = threads - 1 < team.workers ? threads - 1 : team.workers;
  atomic_store(&team.active, active);
  atomic_store(&team.requested, active + 1);
  atomic_store(&team.busy, 0);
  return active + 1;
}

int graphc_team_requested(void) {
  int r = atomic_load(&team.requested);
  return r < 1 ? 1 : r;
}

int graphc_team_threads(void) {
  int active = atomic_load(&team.active);
  return active < 1 || monitor_solo(&team.monitor) ? 1 : active + 1;
}

void graphc_team_stop(void) {
  lock_team();
  atomic_store(&team.stop, 1);
  atomic_fetch_add(&team.job, 1);
  futex_wake(&team.job, INT_MAX);
  for (int t = 1; t <= team.workers; ++t) pthread_join(team.ids[t], 0);
  for (int s = 0; s < MAX_THREADS; ++s)
    for (int w = 0; w < 2; ++w) {
      free(team.scratch[s][w].data);
      team.scratch[s][w].data = 0;
      team.scratch[s][w].floats = 0;
    }
  team.workers = 0;
  atomic_store(&team.active, 0);
  atomic_store(&team.requested, 1);
  atomic_store(&team.stop, 0);
  atomic_store(&team.busy, 0);
}

/* The owner's side of a pinned call, after its own part: the parts no worker
 * has claimed within as long as the owner's part took (a worker asleep, or
 * descheduled by another process), the owner runs itself. */
static void take_parts_left(unsigned job, int64_t own_ns) {
  const int64_t deadline = now_ns() + own_ns;
  const uint32_t all = team.threads >= 32 ? 0xffffffffu : (1u << team.threads) - 1;
  for (int spins = 1; ((uint32_t)atomic_load(&team.claim) & all) != all; ++spins) {
    cpu_relax();
    if ((spins & 15) != 0) continue;
    if (atomic_load(&team.sleepers) > 0 || now_ns() > deadline)
      for (int part = 1; part < team.threads; ++part) take_part(job, 0, part);
  }
}

/* The owner's side of a parallel call. */
static void run_call(int64_t count, int64_t grain, int threads, int pinned, graphc_range_fn fn, void* ctx) {
  wait_until_no_worker_inside(); /* a late worker of the last call, leaving */
  team.fn = fn;
  team.ctx = ctx;
  team.count = count;
  team.grain = grain;
  team.threads = threads;
  team.pinned = pinned;
  unsigned job = atomic_load(&team.job) + 1;
  /* a pinned call's parts past the threads count as taken, so a full mask reads CLOSED */
  atomic_store(&team.claim, ((uint64_t)job << 32) | (pinned ? ~((1u << threads) - 1) : 0));
  atomic_store(&team.job, job);
  if (atomic_load(&team.sleepers) > 0) futex_wake(&team.job, INT_MAX);
  int64_t start = now_ns();
  take_ranges(job, 0);
  int64_t own = now_ns();
  /* waiting for the workers' parts, or running them, counts as waiting: the load monitor then sees
   * a worker that does not come and runs the calls alone for a while */
  if (pinned) take_parts_left(job, own - start);
  wait_until_no_worker_inside();
  atomic_store(&team.claim, ((uint64_t)job << 32) | CLOSED);
  monitor_record(&team.monitor, own - start, now_ns() - own);
}

/* A call on the team, or alone when another owner holds it (or a range calls in). */
static void call(int64_t count, int64_t grain, int pinned, graphc_range_fn fn, void* ctx) {
  if (count <= 0) return;
  if (grain < 1) grain = 1;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&team.busy, &expected, 1)) {
    fn(ctx, -1, 0, count); /* another owner, or a call from inside a range */
    return;
  }
  int threads = graphc_team_threads();
  if (pinned && threads > 31) threads = 31; /* one bit per part, below the claim word's CLOSED */
  if (threads <= 1 || count < (pinned ? threads : grain + 1) || count >= (int64_t)CLOSED) fn(ctx, 0, 0, count);
  else run_call(count, grain, threads, pinned, fn, ctx);
  atomic_store(&team.busy, 0);
}

void graphc_team_ranges(int64_t count, int64_t grain, graphc_range_fn fn, void* ctx) { call(count, grain, 0, fn, ctx); }

void graphc_team_parts(int64_t count, graphc_range_fn fn, void* ctx) { call(count, 1, 1, fn, ctx); }

float* graphc_team_scratch(int slot, int which, int64_t floats) {
  if (slot < 0 || slot >= MAX_THREADS || which < 0 || which > 1) return 0;
  if (team.scratch[slot][which].floats < floats) {
    void* p = 0;
    if (posix_memalign(&p, 64, (size_t)floats * sizeof(float)) != 0) return 0;
    free(team.scratch[slot][which].data);
    team.scratch[slot][which].data = (float*)p;
    team.scratch[slot][which].floats = floats;
  }
  return team.scratch[slot][which].data;
}
