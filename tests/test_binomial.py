"""mimicry.binomial against scipy.stats, the library its identities come from."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, binomtest

from mimicry.binomial import at_least, at_most, clopper_pearson, p_value_above_chance, quantile

SIZES = (1, 2, 5, 13, 30, 100, 1000)
RATES = (1e-4, 0.001, 0.01, 0.05, 0.3, 0.5, 0.9, 0.99)


def close(ours: float, theirs: float) -> bool:
    # Relative, down to the smallest normal double (below it both are rounding noise).
    return abs(ours - theirs) <= 1e-9 * abs(theirs) + 1e-290


@pytest.mark.parametrize("n", SIZES)
def test_tails_and_the_exact_test_are_scipys(n):
    for p in RATES:
        for k in range(-1, n + 2):
            assert close(float(at_most(k, n, p)), binom.cdf(k, n, p)), (k, n, p)
            assert close(float(at_least(k, n, p)), binom.sf(k - 1, n, p)), (k, n, p)
            if 0 <= k <= n:
                exact = binomtest(k, n, p, alternative="greater").pvalue
                assert close(p_value_above_chance(k, n, p), exact), (k, n, p)


@pytest.mark.parametrize("n", SIZES)
def test_quantiles_and_intervals_are_scipys(n):
    for p in RATES:
        for q in (0.025, 0.5, 0.975):
            assert quantile(q, n, p) == binom.ppf(q, n, p), (q, n, p)
    for k in range(n + 1):
        interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        low, high = clopper_pearson(k, n)
        assert abs(low - interval.low) < 1e-12 and abs(high - interval.high) < 1e-12, (k, n)


def test_arrays_elementwise_and_the_empty_cases():
    matches, sizes = np.array([0, 3, 5, 8, 9]), np.array([8, 8, 8, 8, 8])
    np.testing.assert_allclose(at_least(matches, sizes, 1e-3), binom.sf(matches - 1, sizes, 1e-3))
    assert p_value_above_chance(0, 0, 0.1) == 1.0
    assert clopper_pearson(0, 0) == (0.0, 1.0)
