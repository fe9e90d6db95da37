"""Chance statistics for a sieve (docs/design.md §9).

Under the null the observed draws are uniform on ``[0, M)`` and unrelated to any candidate, so a
draw equals a given call with probability ``1/M`` whatever the generator.

*Constant skip.* A hypothesis passes a W-draw window with probability
``P[Binomial(W, 1/M) >= min_matches]``.

*Variable skip.* The search branches: the first draw sits at the offset (one call), each later
draw may sit at any of ``B = kmax - kmin + 1`` calls, and every matching gap is a branch; a draw
with no matching gap is a miss on a single path. The expected number of search paths with ``j``
matches is the coefficient of ``z^j`` in

    ((1 - 1/M) + z/M) · ((1 - 1/M)^B + z·B/M)^(W-1),

and the expected number of surviving paths bounds the chance that the hypothesis survives (a
union bound, exact for B = 1 where the polynomial is the binomial). The same generating function
prices the total evidence of a survivor (window plus extensions) for its p-value.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mimicry.binomial import at_least

if TYPE_CHECKING:
    from gpu_kernels.job import SieveJob

#: A survivor is significant when its search-wide p-value is below this.
SIGNIFICANCE_LEVEL = 0.01


def _branch_weights(modulus: int, skip_choices: int) -> tuple[float, float]:
    """(miss weight, match weight) of one draw after the first."""
    miss = (1.0 - 1.0 / modulus) ** skip_choices
    match = skip_choices / modulus
    return miss, match


def expected_paths_at_least(draws: int, matches: int, modulus: int, skip_choices: int = 1) -> float:
    """Expected number of search paths of one hypothesis with at least ``matches`` matches.

    ``draws`` draws are compared; the first sits at a fixed call, each later one at any of
    ``skip_choices`` calls (1 for a constant skip, where this is the binomial tail exactly).
    Capped at 1, since it bounds a probability.
    """
    if matches <= 0:
        return 1.0
    if matches > draws:
        return 0.0
    p_first = 1.0 / modulus
    if draws == 1:
        return p_first
    miss, match = _branch_weights(modulus, skip_choices)
    scale = miss + match
    rest = draws - 1
    # Coefficients of (miss + match·z)^rest are scale^rest · Binomial(rest, match/scale) pmf.
    q = match / scale
    log_scale = rest * math.log(scale)
    with_first = float(at_least(matches - 1, rest, q))  # first draw matched: matches-1 more
    without_first = float(at_least(matches, rest, q))
    tail = p_first * with_first + (1.0 - p_first) * without_first
    if tail <= 0.0:
        return 0.0
    return min(1.0, math.exp(math.log(tail) + log_scale))


def chance_per_hypothesis(
    window_size: int, threshold: int, modulus: int, skip_choices: int = 1
) -> float:
    """Probability (bound, for variable skip) that one hypothesis passes the window by chance."""
    return expected_paths_at_least(window_size, threshold, modulus, skip_choices)


def job_chance(job: SieveJob) -> float:
    """Chance (bound, for variable skip) that one of ``job``'s hypotheses passes its window."""
    return chance_per_hypothesis(job.window_size, job.threshold, job.modulus, job.skip_choices)


def expected_false_survivors(hypotheses: int, chance: float) -> float:
    return hypotheses * chance


def search_p_value(
    hypotheses: int, draws: int, matches: int, modulus: int, skip_choices: int = 1
) -> float:
    """Chance that any of ``hypotheses`` reaches ``matches`` of ``draws`` compared draws by luck.

    ``1 - exp(-H·p_tail)``: the Poisson approximation to ``1 - (1 - p_tail)^H``, accurate for the
    small tails that matter and computed without cancellation.
    """
    tail = expected_paths_at_least(draws, matches, modulus, skip_choices)
    return -math.expm1(-hypotheses * tail)


def across_jobs_p_value(jobs, survivor) -> float:
    """``survivor``'s p-value among the hypotheses of every job in ``jobs``, searched together
    over the same window, modulus, offsets and skips (several families of one ``mimicry sieve``):
    the same ``1 - exp(-H·tail)`` with H the jobs' hypotheses summed, so searching k families
    costs a survivor what k times the hypotheses would (the look-elsewhere of the families)."""
    job = jobs[0]
    checked = job.window_size + survivor.checked_before + survivor.checked_after
    return search_p_value(
        sum(j.hypotheses for j in jobs),
        checked,
        survivor.evidence,
        job.modulus,
        job.skip_choices,
    )


def p_value_text(p: float) -> str:
    """A p-value as people read it, "= 0.0123" or, where it underflowed to 0, "< 1e-300" (the
    smallest double is about 5e-324; "= 0" would claim certainty)."""
    return "< 1e-300" if p <= 0.0 else f"= {p:.3g}"
