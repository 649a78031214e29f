"""The tail probabilities and quantiles that experiment statistics need, from the standard library only.

scipy computes these too, but it is a large compiled dependency for four functions, so it stays a test
oracle: tests/experiments/test_statistics.py compares every function here with scipy on named cases. The
algorithms are the classic ones of Numerical Recipes (3rd ed., §6.2 and §6.4): the regularized incomplete
gamma by its series or its continued fraction, the regularized incomplete beta by its continued fraction,
both continued fractions evaluated with the modified Lentz method.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()
_EPSILON = 1e-15
_TINY = 1e-300
# The continued fractions need about sqrt(max(a, b)) terms; a Welch test on 10^8 users per variant fits.
_MAX_TERMS = 100_000


def normal_two_sided_p(z: float) -> float:
    """Return P(|Z| >= |z|) for a standard normal Z."""
    # erfc keeps its relative precision far in the tail, where 1 - cdf(|z|) would round to 0.
    return math.erfc(abs(z) / math.sqrt(2))


def normal_quantile(p: float) -> float:
    """Return the standard normal quantile of p, for 0 < p < 1."""
    return _STANDARD_NORMAL.inv_cdf(p)


def student_t_two_sided_p(t: float, df: float) -> float:
    """Return P(|T| >= |t|) for Student's t with df > 0 degrees of freedom (df need not be whole)."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if math.isinf(t):
        return 0.0
    t2 = t * t
    # P(|T| >= |t|) = I_x(df/2, 1/2) with x = df / (df + t²); 1 - x is passed separately to keep its digits.
    return regularized_beta(x=df / (df + t2), one_minus_x=t2 / (df + t2), a=df / 2, b=0.5)


def chi2_survival(x: float, df: float) -> float:
    """Return P(X >= x) for a chi-square X with df > 0 degrees of freedom."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if math.isinf(x):
        return 0.0
    return regularized_gamma_upper(a=df / 2, x=x / 2)


def regularized_beta(*, x: float, one_minus_x: float, a: float, b: float) -> float:
    """Return the regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if one_minus_x <= 0:
        return 1.0
    log_x = math.log1p(-one_minus_x) if one_minus_x < 0.5 else math.log(x)
    log_1mx = math.log1p(-x) if x < 0.5 else math.log(one_minus_x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * log_x + b * log_1mx)
    # The fraction converges quickly below the mean (a + 1) / (a + b + 2); above it, use the symmetry
    # I_x(a, b) = 1 - I_(1-x)(b, a), which also keeps small results small instead of 1 minus nearly 1.
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(x, a, b) / a
    return 1.0 - front * _beta_fraction(one_minus_x, b, a) / b


def regularized_gamma_upper(*, a: float, x: float) -> float:
    """Return the regularized upper incomplete gamma function Q(a, x)."""
    if x <= 0:
        return 1.0
    front = math.exp(a * math.log(x) - x - math.lgamma(a))
    if x < a + 1:
        # Series for P(a, x), accurate below the mean; Q = 1 - P is then not a small number.
        term = total = 1.0 / a
        denominator = a
        for _ in range(_MAX_TERMS):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * _EPSILON:
                return 1.0 - total * front
        raise ArithmeticError("incomplete gamma series did not converge")
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    fraction = d
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b += 2
        d = _nonzero(an * d + b)
        c = _nonzero(b + an / c)
        d = 1 / d
        delta = d * c
        fraction *= delta
        if abs(delta - 1) < _EPSILON:
            return front * fraction
    raise ArithmeticError("incomplete gamma continued fraction did not converge")


def _beta_fraction(x: float, a: float, b: float) -> float:
    qab, qap, qam = a + b, a + 1, a - 1
    c = 1.0
    d = 1 / _nonzero(1 - qab * x / qap)
    fraction = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        even = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 / _nonzero(1 + even * d)
        c = _nonzero(1 + even / c)
        fraction *= d * c
        odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 / _nonzero(1 + odd * d)
        c = _nonzero(1 + odd / c)
        delta = d * c
        fraction *= delta
        if abs(delta - 1) < _EPSILON:
            return fraction
    raise ArithmeticError("incomplete beta continued fraction did not converge")


def _nonzero(value: float) -> float:
    return value if abs(value) >= _TINY else _TINY
