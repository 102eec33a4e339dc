"""60-digit values of ln A_alpha at fractional orders for test/fixtures/rdp_frac.json.

A_alpha = E_{x~N(0, s^2)} [(1 - q + q exp((2x - 1)/(2 s^2)))^alpha], the RDP moment of the
Poisson-subsampled Gaussian mechanism, by mpmath quadrature (A - 1 integrated, so a tiny
value keeps its digits). Run: /usr/bin/python3 scripts/reference/rdp_frac_reference.py
(apt-get install python3-mpmath) > test/fixtures/rdp_frac.json
"""
import json

from mpmath import exp, inf, log, mp, mpf, pi, quad, sqrt

mp.dps = 60
CASES = [(1e-4, 0.3, 1.1), (1e-4, 1.0, 10.9), (0.004266666666666667, 1.1, 2.7), (0.01, 0.5, 5.5), (0.05, 3.0, 1.5),
         (0.3, 0.7, 3.3), (0.5, 1.0, 5.5), (0.5, 0.3, 10.9), (0.9, 0.7, 10.9), (0.9, 10.0, 1.1), (1e-4, 10.0, 1.1)]


def log_a(q, s, a):
    q, s, a = mpf(q), mpf(s), mpf(a)
    f = lambda x: exp(-x * x / (2 * s * s)) / (s * sqrt(2 * pi)) * ((1 - q + q * exp((2 * x - 1) / (2 * s * s))) ** a - 1)
    points = [-inf, -10 * s, -s, 0, mpf(1) / 2, 1, a - s, a, a + s, a + 10 * s, inf]
    return log(1 + quad(f, sorted(set(points)), maxdegree=10))


print(json.dumps({'cases': [{'q': q, 'sigma': s, 'alpha': a, 'log_a': float(log_a(q, s, a))} for q, s, a in CASES]}, indent=1))
