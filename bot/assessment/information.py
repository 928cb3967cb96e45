"""Bayesian bookkeeping for the questionnaire: updates, entropy, expected information gain.

Question choice is the classic adaptive-testing rule: ask the question whose answer is expected
to reduce the uncertainty about the dominant emotion the most, i.e. the mutual information
between the answer and the emotion under the current posterior,

    EIG(q) = H(p) - sum_o P(o) H(p | o),   P(o) = sum_e p(e) L(o | e),
    p(e | o) = p(e) L(o | e) / P(o).

Entropies are in bits. Everything works on plain numpy vectors so the tests can check it against
hand computations.
"""

from __future__ import annotations

import numpy as np


def normalise(weights: np.ndarray) -> np.ndarray:
    total = float(weights.sum())
    if total <= 0.0 or not np.isfinite(total):
        return np.full(weights.shape, 1.0 / weights.size)
    return weights / total


def entropy_bits(p: np.ndarray) -> float:
    nonzero = p[p > 0]
    return float(-(nonzero * np.log2(nonzero)).sum())


def posterior_after(prior: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """Bayes' rule for one observation whose likelihood over hypotheses is `likelihood`."""
    return normalise(prior * likelihood)


def expected_information_gain(prior: np.ndarray, matrix: np.ndarray) -> float:
    """EIG of a question whose `matrix[o, h]` is P(option o | hypothesis h)."""
    answer_probabilities = matrix @ prior
    expected_entropy = 0.0
    for option_row, p_option in zip(matrix, answer_probabilities, strict=True):
        if p_option > 0:
            expected_entropy += float(p_option) * entropy_bits(posterior_after(prior, option_row))
    return entropy_bits(prior) - expected_entropy


def bounded_log_likelihood(likelihood: np.ndarray, max_log_shift: float) -> np.ndarray:
    """Log of `likelihood`, centred (its mean removed) and shrunk so no entry exceeds
    ±max_log_shift.

    Centring makes the bound mean something: adding a constant to every log-likelihood changes
    nothing, so the bound limits how much this one piece of evidence can move any emotion
    relative to the average. Shrinking the whole vector (rather than clipping entries) keeps the
    evidence's order: the emotion it points to most still gains most. This is what keeps a
    free-text reading, or an LLM fooled by text written to fool it, from deciding the
    assessment on its own.
    """
    logs = np.log(np.clip(likelihood, 1e-12, None))
    centred = logs - logs.mean()
    largest = float(np.abs(centred).max())
    if largest > max_log_shift:
        centred = centred * (max_log_shift / largest)
    return centred


def apply_log_evidence(prior: np.ndarray, log_likelihood: np.ndarray) -> np.ndarray:
    logs = np.log(np.clip(prior, 1e-300, None)) + log_likelihood
    return normalise(np.exp(logs - logs.max()))


def temper(p: np.ndarray, keep: float) -> np.ndarray:
    """p^keep, renormalised: keep=1 changes nothing, keep=0 forgets everything (uniform)."""
    return apply_log_evidence(
        np.full(p.shape, 1.0 / p.size), keep * np.log(np.clip(p, 1e-300, None))
    )
