"""LightGBM side of the `gbdt_speed` example: same data, same folds, same 2 threads.

    cargo run --release -p autopilot-blueprints --example gbdt_speed -- [--sparse] --npy /tmp/gbdt_npy
    python gbdt_speed_lightgbm.py /tmp/gbdt_npy [--defaults]

Settings = the peer harness's hand-set LightGBM (shared/bench/peer/peer_baseline.py), or LightGBM's
defaults with --defaults. Prints fit seconds per fold, the sum over 5 folds and mean balanced accuracy.
"""
import os
import sys
import time

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')  # as in the peer harness
import numpy as np
import scipy.sparse as sp
from lightgbm import LGBMClassifier
from sklearn.metrics import balanced_accuracy_score

d = sys.argv[1]
x = np.load(f'{d}/x.npy')
y = np.load(f'{d}/y.npy')
folds = np.load(f'{d}/folds.npy')
if os.path.exists(f'{d}/sp_data.npy'):
    ip, ix, dt = (np.load(f'{d}/sp_{n}.npy') for n in ('indptr', 'indices', 'data'))
    s = sp.csr_matrix((dt, ix, ip), shape=(x.shape[0], int(ix.max()) + 1 if len(ix) else 0))
    x = sp.hstack([sp.csr_matrix(x), s]).tocsr()
print(f'data: {x.shape}, sparse={sp.issparse(x)}')
if '--defaults' in sys.argv:
    make = lambda: LGBMClassifier(n_jobs=2, random_state=0, verbose=-1)
else:
    make = lambda: LGBMClassifier(n_estimators=300, learning_rate=0.05, num_leaves=15, min_child_samples=10,
                                  subsample=0.8, subsample_freq=1, colsample_bytree=0.5, reg_lambda=1.0,
                                  n_jobs=2, random_state=0, verbose=-1)
total, bas = 0.0, []
for f in range(5):
    tr, te = folds != f, folds == f
    m = make()
    t = time.perf_counter()
    m.fit(x[tr], y[tr])
    secs = time.perf_counter() - t
    ba = balanced_accuracy_score(y[te], m.predict(x[te]))
    print(f'fold {f}: fit {secs:.2f}s, BA {ba:.4f}')
    total += secs
    bas.append(ba)
print(f'TOTAL fit {total:.2f}s over 5 folds, BA {np.mean(bas):.4f} ± {np.std(bas):.4f}')
