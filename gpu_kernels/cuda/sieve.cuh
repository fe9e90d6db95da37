// The gpu backend's sieve: one thread per candidate in a grid-stride loop, the semantics of the
// cpu kernel (gpu_kernels/backends/cpu_kernel.py) for every family, projection and mode: each
// offset and constant skip, or the depth-first search over the gaps of a variable skip, with
// `misses_allowed` window misses. Matches go to a bounded buffer through an atomic counter;
// a full buffer raises the overflow flag and the host re-sieves the chunk in halves.
//
// A thread keeps the last RING calls of its candidate, not all of them: the window's span
// (W - 1)(skip_hi + 1) + 1 must fit (the host checks), and calls are generated in order, so
// every call a window reads is still in the ring when it is read.
#pragma once
#include "prelude.cuh"
#include "family_of.cuh"
#include "projections.cuh"

#define MIMICRY_MAX_WINDOW 64
#define MIMICRY_RING 1024

struct SieveOut {
    u64 *candidate;
    i64 *first_call;
    i64 *skip;
    i64 *gaps;  // capacity rows of gap_slots
    i64 *matches;
    unsigned int *count;
    unsigned int *overflow;
    unsigned int capacity;
    int gap_slots;
};

DEVICE void record(const SieveOut &out, u64 candidate, i64 first_call, i64 skip, const i64 *gaps,
                   int gap_count, i64 matches)
{
    unsigned int n = atomicAdd(out.count, 1u);
    if (n >= out.capacity) {
        atomicOr(out.overflow, 1u);
        return;
    }
    out.candidate[n] = candidate;
    out.first_call[n] = first_call;
    out.skip[n] = skip;
    for (int g = 0; g < out.gap_slots; g++)
        out.gaps[(u64)n * out.gap_slots + g] = g < gap_count ? gaps[g] : 0;
    out.matches[n] = matches;
}

template <typename F>
struct Calls {
    u64 state[F::state_words];
    i64 ring[MIMICRY_RING];
    i64 filled;  // calls generated so far

    DEVICE void start(u64 candidate, int state_mode)
    {
        if (state_mode)
            F::set_state(candidate, state);
        else
            F::seed(candidate, state);
        filled = 0;
    }

    // Call t (generating up to it); t is never older than the ring holds.
    DEVICE i64 at(i64 t, int projection, u64 modulus, i64 param)
    {
        while (filled <= t) {
            ring[filled & (MIMICRY_RING - 1)] = project<F>(projection, state, modulus, param);
            filled++;
        }
        return ring[t & (MIMICRY_RING - 1)];
    }
};

// The job's numbers, read from `params` (one i64 each, in this order: the host fills it from
// gpu_kernels.backends.gpu.job_params), so a launch passes only pointers and plain scalars.
enum JobParam {
    JOB_SIZE,
    JOB_MODULUS,  // u64 bits (M = 2^64 as 0)
    JOB_PARAM,
    JOB_PROJECTION,
    JOB_STATE_MODE,
    JOB_OFFSET_LO,
    JOB_OFFSET_HI,
    JOB_LEAD,
    JOB_SKIP_LO,
    JOB_SKIP_HI,
    JOB_VARIABLE,
    JOB_MISSES_ALLOWED,
    JOB_PARAMS
};

struct SieveJobArgs {
    const i64 *window;
    int size;
    u64 modulus;
    i64 param;
    int projection;
    int state_mode;
    i64 offset_lo, offset_hi, lead, skip_lo, skip_hi;
    int variable;
    int misses_allowed;

    DEVICE SieveJobArgs(const i64 *params, const i64 *window_)
        : window(window_), size((int)params[JOB_SIZE]), modulus((u64)params[JOB_MODULUS]),
          param(params[JOB_PARAM]), projection((int)params[JOB_PROJECTION]),
          state_mode((int)params[JOB_STATE_MODE]), offset_lo(params[JOB_OFFSET_LO]),
          offset_hi(params[JOB_OFFSET_HI]), lead(params[JOB_LEAD]),
          skip_lo(params[JOB_SKIP_LO]), skip_hi(params[JOB_SKIP_HI]),
          variable((int)params[JOB_VARIABLE]), misses_allowed((int)params[JOB_MISSES_ALLOWED])
    {
    }
};

template <typename F>
DEVICE void sieve_constant(Calls<F> &calls, const SieveJobArgs &job, const SieveOut &out,
                           u64 candidate)
{
    for (i64 skip = job.skip_lo; skip <= job.skip_hi; skip++) {
        calls.start(candidate, job.state_mode);  // each skip walks the stream from its start
        for (i64 offset = job.offset_lo; offset <= job.offset_hi; offset++) {
            i64 first = offset + job.lead * (skip + 1);
            int misses = 0;
            for (int i = 0; i < job.size; i++) {
                i64 t = first + i * (skip + 1);
                if (calls.at(t, job.projection, job.modulus, job.param) != job.window[i]) {
                    misses++;
                    if (misses > job.misses_allowed)
                        break;
                }
            }
            if (misses <= job.misses_allowed)
                record(out, candidate, first, skip, 0, 0, job.size - misses);
        }
    }
}

// The variable skip's search, in the reference's order: ascending gaps, then the miss branch
// when no gap matched; the best path (most matches, first found) is recorded per first call.
template <typename F>
DEVICE void sieve_variable(Calls<F> &calls, const SieveJobArgs &job, const SieveOut &out,
                           u64 candidate)
{
    const int size = job.size;
    const i64 first_lo = job.offset_lo + job.lead * (job.skip_lo + 1);
    const i64 first_hi = job.offset_hi + job.lead * (job.skip_hi + 1);
    i64 gaps[MIMICRY_MAX_WINDOW], best_gaps[MIMICRY_MAX_WINDOW];
    i64 call[MIMICRY_MAX_WINDOW], next_gap[MIMICRY_MAX_WINDOW];
    int misses_at[MIMICRY_MAX_WINDOW];
    bool matched_any[MIMICRY_MAX_WINDOW], miss_tried[MIMICRY_MAX_WINDOW];
    calls.start(candidate, job.state_mode);
    for (i64 first = first_lo; first <= first_hi; first++) {
        i64 d0 = calls.at(first, job.projection, job.modulus, job.param);
        if (d0 == job.window[0])
            misses_at[0] = 0;
        else if (job.misses_allowed > 0)
            misses_at[0] = 1;
        else
            continue;
        // Level d tries the gaps of draw d in turn, then (once, if none matched) a miss.
        auto open_level = [&](int d) {
            if (d < size) {
                next_gap[d] = job.skip_lo;
                matched_any[d] = false;
                miss_tried[d] = false;
            }
        };
        int depth = 1;
        auto descend = [&](i64 t, int misses, i64 gap) {
            call[depth] = t;
            misses_at[depth] = misses;
            gaps[depth - 1] = gap;
            open_level(++depth);
        };
        call[0] = first;
        i64 best = -1;
        open_level(1);
        while (depth >= 1) {
            if (depth == size) {
                i64 matches = size - misses_at[size - 1];
                if (matches > best) {
                    best = matches;
                    for (int g = 0; g < size - 1; g++)
                        best_gaps[g] = gaps[g];
                }
                depth--;
                continue;
            }
            if (next_gap[depth] <= job.skip_hi) {
                i64 gap = next_gap[depth];
                next_gap[depth] = gap + 1;
                i64 t = call[depth - 1] + 1 + gap;
                if (calls.at(t, job.projection, job.modulus, job.param) == job.window[depth]) {
                    matched_any[depth] = true;
                    descend(t, misses_at[depth - 1], gap);
                }
                continue;
            }
            if (!matched_any[depth] && !miss_tried[depth] &&
                misses_at[depth - 1] < job.misses_allowed) {
                miss_tried[depth] = true;
                descend(call[depth - 1] + 1 + job.skip_lo, misses_at[depth - 1] + 1,
                        job.skip_lo);
                continue;
            }
            depth--;
        }
        if (best >= 0)
            record(out, candidate, first, -1, best_gaps, size - 1, best);
    }
}

template <int FAMILY>
__global__ void sieve_kernel(const u64 *candidates, u64 lo, u64 count, int use_list,
                             const i64 *params, const i64 *window, u64 *out_candidate,
                             i64 *out_first_call, i64 *out_skip, i64 *out_gaps, i64 *out_matches,
                             unsigned int *out_count, unsigned int *out_overflow,
                             unsigned int capacity, int gap_slots)
{
    typedef FamilyOf<FAMILY> F;
    const SieveJobArgs job(params, window);
    const SieveOut out = {out_candidate, out_first_call, out_skip,     out_gaps, out_matches,
                          out_count,     out_overflow, capacity,     gap_slots};
    Calls<F> calls;
    const u64 stride = (u64)blockDim.x * gridDim.x;
    for (u64 j = (u64)blockIdx.x * blockDim.x + threadIdx.x; j < count; j += stride) {
        u64 candidate = use_list ? candidates[j] : lo + j;
        if (job.variable)
            sieve_variable<F>(calls, job, out, candidate);
        else
            sieve_constant<F>(calls, job, out, candidate);
    }
}
