"""scikit-learn KMeans reference numbers for Frugal's k-means quality test.

The test's claim: with k-means++ and the same number of restarts, Frugal's inertia is within 1% of
scikit-learn's KMeans on the same data. This script makes that data and sklearn's numbers.

Default mode writes test/fixtures/kmeans_sklearn.json: five datasets built from fixed numpy seeds
(np.random.default_rng(seed) per case), each stored as "X", a flat row-major list of float32 values
(np.float32, then back to a Python float, so the test and sklearn see bit-identical points). sklearn
fits X.astype(np.float64) with KMeans(n_clusters=K, init='k-means++', n_init=nInit, algorithm='lloyd',
max_iter=300, tol=1e-4, random_state=r) for nInit=1 over r in range(20) and nInit=10 over r in range(5),
and the fixture keeps each fit's inertia_ and n_iter_ and their median, min and mean, plus the best
inertia seen over all fits of the case.

`--large` builds a RoBERTa-base-shaped set of FFN neurons (n=3072, dim=1537, K=768; row i is
[W1[i, :] (768), b1[i], W2[:, i] (768)], W1, b1, W2 entries N(0, 0.02^2) drawn in that order from
np.random.default_rng(0) in float64 and rounded to float32), writes it to /tmp/kmeans_large.f32 (raw
little-endian float32, n*dim values, row-major), times sklearn on the float32 array (as sklearn keeps
it) and prints JSON: one KMeans(K, init='k-means++', n_init=1, algorithm='lloyd', random_state=0) fit
(default max_iter=300, tol=1e-4) and one fixed Lloyd run from init=X[:K] (n_init=1, max_iter=20,
tol=0). sklearn ends a Lloyd run early once no label changes (strict convergence), even at tol=0,
so n_iter may come out under max_iter; on this nearly isotropic data both fits stop within a few
iterations, and the k-means++ fit's time is mostly its greedy seeding. With float32 input sklearn
accumulates centers and inertia in float32. Run it alone on a quiet machine: the times are wall clock.

Debian's python3 (apt-get install python3-sklearn), from the repository root:

  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/reference/kmeans_sklearn.py
  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 scripts/reference/kmeans_sklearn.py --large \\
      > test/fixtures/kmeans_sklearn_large.json

(Both thread counts default to 2 when unset: sklearn's Lloyd sums chunk by chunk across OpenMP
threads, so the last bits of an inertia can depend on the thread count.)
"""
import json
import os
import sys
import time

os.environ.setdefault('OMP_NUM_THREADS', '2')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '2')

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'kmeans_sklearn.json')
LARGE_OUT = '/tmp/kmeans_large.f32'
SEEDS = {1: range(20), 10: range(5)}


def labels_for(rng, n, k):
    lab = np.arange(n) % k
    rng.shuffle(lab)
    return lab


def blobs_separated(rng):
    n, dim, k = 300, 8, 10
    centers = rng.uniform(-20.0, 20.0, (k, dim))
    return centers[labels_for(rng, n, k)] + rng.standard_normal((n, dim)), k


def blobs_overlapping(rng):
    n, dim, k = 1000, 33, 17
    centers = rng.normal(0.0, 0.6, (k, dim))
    lab = rng.integers(0, k, n)
    return centers[lab] + rng.standard_normal((n, dim)), k


def blobs_anisotropic(rng):
    n, dim, k = 517, 5, 7
    centers = rng.uniform(-10.0, 10.0, (k, dim))
    lab = labels_for(rng, n, k)
    x = np.empty((n, dim))
    scales = np.array([4.0, 1.0, 0.5, 0.25, 0.1])
    for c in range(k):  # each cluster stretched along its own random axes
        q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        m = lab == c
        x[m] = centers[c] + (rng.standard_normal((int(m.sum()), dim)) * scales) @ q.T
    return x, k


def uniform_cube(rng):
    return rng.uniform(0.0, 1.0, (400, 3)), 25


def ffn_neurons(rng):
    n, dim, k = 768, 65, 96
    x = rng.normal(0.0, 0.02, (n, dim))
    src = rng.choice(n, 12, replace=False)
    rest = np.setdiff1d(np.arange(n), src)
    dst = rng.choice(rest, 24, replace=False)
    x[dst] = x[np.repeat(src, 2)]  # 12 rows, each appearing 3 times in all
    return x, k


CASES = [('blobs_separated', 1, blobs_separated), ('blobs_overlapping', 2, blobs_overlapping),
         ('blobs_anisotropic', 3, blobs_anisotropic), ('uniform_cube', 4, uniform_cube),
         ('ffn_neurons', 5, ffn_neurons)]


def summary(values):
    return {'median': float(np.median(values)), 'min': float(np.min(values)), 'mean': float(np.mean(values))}


def small():
    cases = []
    for name, seed, make in CASES:
        x, k = make(np.random.default_rng(seed))
        x32 = x.astype(np.float32)
        n, dim = x32.shape
        x64 = x32.astype(np.float64)
        case = {'name': name, 'seed': seed, 'n': n, 'dim': dim, 'K': k}
        best = None
        for n_init, seeds in SEEDS.items():
            inertias, iters = [], []
            for r in seeds:
                km = KMeans(n_clusters=k, init='k-means++', n_init=n_init, algorithm='lloyd', max_iter=300,
                            tol=1e-4, random_state=r).fit(x64)
                inertias.append(float(km.inertia_))
                iters.append(int(km.n_iter_))
                if best is None or km.inertia_ < best['inertia']:
                    best = {'inertia': float(km.inertia_), 'nInit': n_init, 'random_state': r}
            case['nInit%d' % n_init] = dict(random_states=list(seeds), inertias=inertias, **summary(inertias),
                                           iterations=iters)
            print('%-18s nInit=%-2d median %.9g min %.9g' % (name, n_init, case['nInit%d' % n_init]['median'],
                                                              case['nInit%d' % n_init]['min']), file=sys.stderr)
        case['best'] = best
        case['X'] = [float(v) for v in x32.ravel()]
        cases.append(case)
    doc = {
        'about': ('scikit-learn KMeans reference for Frugal k-means (scripts/reference/kmeans_sklearn.py). '
                  'X: n*dim float32 values, row-major; sklearn fits X as float64 with '
                  "KMeans(n_clusters=K, init='k-means++', n_init=nInit, algorithm='lloyd', max_iter=300, "
                  'tol=1e-4, random_state=r) for each r in random_states. sklearn k-means++ is the greedy '
                  'variant (2 + floor(ln K) candidates per step, keeps the one giving the lowest potential); '
                  'tol is relative to the mean per-feature variance of X, and a run also stops when labels '
                  'stop changing; inertia is the sum of squared distances to the nearest final center '
                  '(float64). best: lowest inertia over all fits of the case.'),
        'sklearn': sklearn.__version__,
        'numpy': np.__version__,
        'threads': {'OMP_NUM_THREADS': os.environ['OMP_NUM_THREADS']},
        'cases': cases,
    }
    # One line per case field, X on a single line, so the file stays small and diffable.
    with open(OUT, 'w') as f:
        head = {key: v for key, v in doc.items() if key != 'cases'}
        f.write(json.dumps(head, indent=1)[:-2] + ',\n "cases": [\n')
        for i, case in enumerate(cases):
            f.write('  {\n' + ',\n'.join('   %s: %s' % (json.dumps(key), json.dumps(v, separators=(',', ':')))
                                        for key, v in case.items()))
            f.write('\n  }' + (',' if i + 1 < len(cases) else '') + '\n')
        f.write(' ]\n}\n')
    print('wrote %s (%d bytes)' % (OUT, os.path.getsize(OUT)), file=sys.stderr)


def large():
    from threadpoolctl import threadpool_info
    n, d, k = 3072, 768, 768
    rng = np.random.default_rng(0)
    w1 = rng.normal(0.0, 0.02, (n, d))
    b1 = rng.normal(0.0, 0.02, n)
    w2 = rng.normal(0.0, 0.02, (d, n))
    x = np.ascontiguousarray(np.concatenate([w1, b1[:, None], w2.T], axis=1).astype(np.float32))
    x.astype('<f4').tofile(LARGE_OUT)
    out = {'about': ('sklearn KMeans on a RoBERTa-base-shaped FFN neuron set (scripts/reference/kmeans_sklearn.py '
                     '--large): rows [W1 row i, b1_i, W2 column i], N(0, 0.02^2), default_rng(0), float32 input; '
                     'seconds are wall clock of KMeans.fit including sklearn input checks.'),
           'sklearn': sklearn.__version__, 'numpy': np.__version__,
           'n': int(x.shape[0]), 'dim': int(x.shape[1]), 'K': k, 'data': LARGE_OUT,
           'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS'),
           'threadpools': [{key: p.get(key) for key in ('user_api', 'internal_api', 'num_threads', 'version')}
                           for p in threadpool_info()]}
    t = time.perf_counter()
    km = KMeans(n_clusters=k, init='k-means++', n_init=1, algorithm='lloyd', random_state=0).fit(x)
    out['kmeanspp'] = {'seconds': time.perf_counter() - t, 'inertia': float(km.inertia_), 'n_iter': int(km.n_iter_),
                       'max_iter': 300, 'tol': 1e-4, 'random_state': 0}
    t = time.perf_counter()
    km = KMeans(n_clusters=k, init=x[:k], n_init=1, algorithm='lloyd', max_iter=20, tol=0.0).fit(x)
    out['lloyd20_first_rows'] = {'seconds': time.perf_counter() - t, 'inertia': float(km.inertia_),
                                 'n_iter': int(km.n_iter_), 'init': 'X[:K]', 'max_iter': 20, 'tol': 0.0}
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    large() if '--large' in sys.argv[1:] else small()
