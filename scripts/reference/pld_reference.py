"""Reference values for Frugal's PLD accountant (test/fixtures/pld_reference.json).

Two independent accountants of DP-SGD's Poisson-subsampled Gaussian mechanism
(sensitivity 1, remove/add adjacency):
  * Google's dp_accounting PLD (github:google/differential-privacy, python/dp_accounting):
    from_gaussian_mechanism(pessimistic_estimate=True, use_connect_dots=True,
    value_discretization_interval=1e-4, neighboring_relation=ADD_OR_REMOVE_ONE), self_compose,
    get_epsilon_for_delta / get_delta_for_epsilon; and its RDP accountant (default orders);
  * Microsoft's prv_accountant (github:microsoft/prv_accountant): PRVAccountant over
    PoissonSubsampledGaussianMechanism, giving (lower, estimate, upper) bounds on epsilon.
Neither is a Debian package. Run from snapshots of both repositories under Debian's python3
(apt-get install python3-numpy python3-scipy python3-mpmath python3-absl):

  git --git-dir=<google mirror> archive HEAD python/dp_accounting | tar -x -C /tmp/dpacc
  git --git-dir=<prv mirror> archive HEAD | tar -x -C /tmp/prv
  PYTHONPATH=/tmp/dpacc/python/dp_accounting:/tmp/prv /usr/bin/python3 \
      scripts/reference/pld_reference.py DPACC_COMMIT PRV_COMMIT > test/fixtures/pld_reference.json
"""
import datetime
import json
import sys
import time

from dp_accounting import dp_event
from dp_accounting.pld import privacy_loss_distribution as pld_lib
from dp_accounting.rdp import rdp_privacy_accountant
from prv_accountant import PRVAccountant
from prv_accountant.privacy_random_variables import PoissonSubsampledGaussianMechanism

H = 1e-4


def pld(q, sigma, steps, h=H):
    one = pld_lib.from_gaussian_mechanism(
        standard_deviation=sigma, sensitivity=1, sampling_prob=q, value_discretization_interval=h,
        pessimistic_estimate=True, use_connect_dots=True)
    return one.self_compose(steps) if steps > 1 else one


def rdp_epsilon(q, sigma, steps, delta):
    acc = rdp_privacy_accountant.RdpAccountant()
    acc.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)
    return acc.get_epsilon(delta)


def prv_bounds(q, sigma, steps, delta):
    try:
        acc = PRVAccountant(prvs=[PoissonSubsampledGaussianMechanism(sampling_probability=q, noise_multiplier=sigma)],
                            eps_error=0.01, delta_error=delta / 1000, max_self_compositions=[steps])
        return list(acc.compute_epsilon(delta=delta, num_self_compositions=[steps]))
    except Exception as err:  # recorded as null, with the reason on stderr
        print(f'PRV failed for q={q} sigma={sigma} steps={steps}: {err}', file=sys.stderr)
        return [None, None, None]


# (q, sigma, steps, delta): 8 sampling rates, σ 0.5..10, 1..100,000 steps, δ 1e-8..1e-5.
CONFIGS = [
    (0.004266666666666667, 1.1, 14063, 1e-5), (1e-4, 1.0, 100000, 1e-8),
    (1e-4, 0.5, 100000, 1e-5), (1e-4, 0.8, 10000, 1e-6), (1e-4, 2.0, 100000, 1e-8), (1e-4, 1.0, 1000, 1e-5),
    (1e-3, 0.8, 10000, 1e-5), (1e-3, 1.0, 100000, 1e-6), (1e-3, 2.0, 1000, 1e-8), (1e-3, 0.5, 1000, 1e-5),
    (0.004266666666666667, 1.1, 1000, 1e-5), (0.004266666666666667, 0.8, 14063, 1e-6), (0.004266666666666667, 2.0, 14063, 1e-8),
    (0.01, 1.0, 1000, 1e-5), (0.01, 0.8, 100, 1e-5), (0.01, 1.1, 10000, 1e-6), (0.01, 2.0, 10000, 1e-8),
    (0.01, 5.0, 1000, 1e-5), (0.01, 10.0, 1000, 1e-5), (0.01, 0.5, 10, 1e-5),
    (0.05, 1.0, 100, 1e-5), (0.05, 2.0, 1000, 1e-6), (0.05, 1.1, 1000, 1e-8), (0.05, 5.0, 10000, 1e-5),
    (0.1, 1.0, 10, 1e-5), (0.1, 2.0, 100, 1e-5), (0.1, 1.1, 1000, 1e-6), (0.1, 5.0, 1000, 1e-8), (0.1, 10.0, 10000, 1e-5),
    (0.5, 2.0, 100, 1e-5), (0.5, 5.0, 100, 1e-6), (0.5, 10.0, 1000, 1e-5), (0.5, 1.1, 10, 1e-5), (0.5, 5.0, 1000, 1e-8),
    (1.0, 2.0, 1, 1e-5), (1.0, 5.0, 10, 1e-5), (1.0, 10.0, 100, 1e-6), (1.0, 10.0, 1000, 1e-8), (1.0, 1.0, 1, 1e-5),
    (1.0, 5.0, 100, 1e-5), (0.01, 1.0, 1, 1e-5), (0.1, 0.8, 1, 1e-6), (0.5, 1.0, 1, 1e-5), (0.05, 0.5, 10, 1e-5),
]
DELTA_CONFIGS = [  # (q, sigma, steps, epsilon)
    (0.01, 1.0, 1000, 1.0), (0.01, 1.0, 1000, 2.0), (0.004266666666666667, 1.1, 14063, 2.0), (1e-4, 1.0, 100000, 0.2),
    (0.1, 2.0, 100, 1.0), (0.5, 5.0, 100, 0.5), (1.0, 2.0, 1, 1.0), (0.05, 1.1, 1000, 3.0),
]
NOISE_CONFIGS = [  # (q, steps, target epsilon, delta)
    (0.01, 1000, 1.0, 1e-5), (1e-4, 100000, 0.3, 1e-8), (0.5, 100, 5.0, 1e-5), (0.01, 1000, 0.1, 1e-5),
    (0.004266666666666667, 14063, 2.0, 1e-5),
]


def calibrate(q, steps, target, delta, h):
    lo, hi = 0.3, 50.0
    while (hi - lo) > 1e-4 * hi:
        mid = 0.5 * (lo + hi)
        if pld(q, mid, steps, h).get_epsilon_for_delta(delta) <= target:
            hi = mid
        else:
            lo = mid
    return hi


def main():
    cases = []
    for q, sigma, steps, delta in CONFIGS:
        t0 = time.time()
        eps = pld(q, sigma, steps).get_epsilon_for_delta(delta)
        t1 = time.time()
        lower, estimate, upper = prv_bounds(q, sigma, steps, delta)
        t2 = time.time()
        cases.append(dict(q=q, sigma=sigma, steps=steps, delta=delta, pld_epsilon=eps, rdp_epsilon=rdp_epsilon(q, sigma, steps, delta),
                          prv_lower=lower, prv_estimate=estimate, prv_upper=upper, pld_seconds=t1 - t0, prv_seconds=t2 - t1))
        print(cases[-1], file=sys.stderr)
    delta_cases = [dict(q=q, sigma=s, steps=n, epsilon=e, pld_delta=pld(q, s, n).get_delta_for_epsilon(e)) for q, s, n, e in DELTA_CONFIGS]
    noise_cases = []
    for q, steps, target, delta in NOISE_CONFIGS:
        h = H  # 1e-3 is far too coarse at q = 1e-4 (its losses are ~1e-4): σ 2.04 instead of 0.82
        noise_cases.append(dict(q=q, steps=steps, target_epsilon=target, delta=delta, sigma=calibrate(q, steps, target, delta, h), discretization=h))
        print(noise_cases[-1], file=sys.stderr)
    phases = [dict(q=0.01, sigma=1.0, steps=500), dict(q=0.02, sigma=2.0, steps=300)]
    composed = pld(0.01, 1.0, 500).compose(pld(0.02, 2.0, 300))
    out = dict(
        source=dict(dp_accounting_commit=sys.argv[1], prv_accountant_commit=sys.argv[2], discretization=H,
                    generated=datetime.date.today().isoformat()),
        cases=cases, delta_cases=delta_cases, noise_cases=noise_cases,
        phases_case=dict(phases=phases, delta=1e-5, pld_epsilon=composed.get_epsilon_for_delta(1e-5)))
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
