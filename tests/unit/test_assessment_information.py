"""Properties of the information-gain and bounded-evidence arithmetic, for any input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bot.assessment.information import (
    apply_log_evidence,
    bounded_log_likelihood,
    entropy_bits,
    expected_information_gain,
    normalise,
    temper,
)

positive = st.floats(min_value=1e-3, max_value=1.0)


@settings(max_examples=60, deadline=None)
@given(
    prior=arrays(np.float64, 16, elements=positive),
    raw=arrays(np.float64, (4, 16), elements=positive),
)
def test_information_gain_is_between_zero_and_the_prior_entropy(prior, raw) -> None:
    p = normalise(prior)
    matrix = raw / raw.sum(axis=0, keepdims=True)
    gain = expected_information_gain(p, matrix)
    assert -1e-9 <= gain <= entropy_bits(p) + 1e-9
    # Equal rows carry no information.
    assert abs(expected_information_gain(p, np.full((4, 16), 0.25))) < 1e-9


@settings(max_examples=60, deadline=None)
@given(
    prior=arrays(np.float64, 16, elements=positive),
    likelihood=arrays(np.float64, 16, elements=st.floats(min_value=1e-9, max_value=1.0)),
    bound=st.floats(min_value=0.05, max_value=3.0),
)
def test_bounded_evidence_never_moves_any_emotion_further_than_the_bound(
    prior, likelihood, bound
) -> None:
    p = normalise(prior)
    shift = bounded_log_likelihood(likelihood, bound)
    assert np.abs(shift).max() <= bound + 1e-9
    after = apply_log_evidence(p, shift)
    assert abs(after.sum() - 1) < 1e-9
    moved = np.log(after / p)
    assert np.abs(moved - moved.mean()).max() <= bound + 1e-9
    # Shrinking keeps the order: what the evidence favours most still gains most.
    assert np.argmax(moved) == np.argmax(likelihood) or np.isclose(
        likelihood.max(), likelihood[np.argmax(moved)]
    )


@given(p=arrays(np.float64, 16, elements=positive))
def test_tempering_keeps_the_order_and_flattens(p) -> None:
    q = normalise(p)
    half = temper(q, 0.5)
    assert np.allclose(temper(q, 1.0), q)
    assert np.allclose(temper(q, 0.0), np.full(16, 1 / 16))
    assert entropy_bits(half) >= entropy_bits(q) - 1e-9
    # Order kept: whatever was more likely stays more likely.
    more = q[:, None] > q[None, :] * (1 + 1e-9)
    assert (half[:, None] > half[None, :])[more].all()
