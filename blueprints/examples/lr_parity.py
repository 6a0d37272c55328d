"""scikit-learn side of examples/lr_parity.rs: same data, same split, LogisticRegression(lbfgs)."""
import sys, time, warnings
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import balanced_accuracy_score

warnings.filterwarnings("ignore")
d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/lr_parity"
for name in ["dense", "sparse"]:
    n, m = map(int, open(f"{d}/{name}_shape.txt").read().split())
    y = np.fromfile(f"{d}/{name}_y.u32", dtype=np.uint32).astype(np.int64)
    if name == "dense":
        X = np.fromfile(f"{d}/{name}_x.f32", dtype=np.float32).reshape(n, m).astype(np.float64)
    else:
        X = sp.csr_matrix((np.fromfile(f"{d}/{name}_data.f32", dtype=np.float32).astype(np.float64),
                           np.fromfile(f"{d}/{name}_indices.u64", dtype=np.uint64).astype(np.int64),
                           np.fromfile(f"{d}/{name}_indptr.u64", dtype=np.uint64).astype(np.int64)), shape=(n, m))
    nt = n * 8 // 10
    for C in [1.0, 0.01]:
        t = time.perf_counter()
        Xtr, Xte = X[:nt], X[nt:]
        if name == "dense":  # scaling timed too, as the Rust model standardises inside fit
            sc = StandardScaler().fit(Xtr)
            Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
        m_ = LogisticRegression(C=C, class_weight="balanced", max_iter=100, tol=1e-4).fit(Xtr, y[:nt])
        secs = time.perf_counter() - t
        ba = balanced_accuracy_score(y[nt:], m_.predict(Xte))
        print(f"sklearn {name:6} C={C:<5} fit {secs:.3f}s iters {int(m_.n_iter_[0]):3} holdout balanced accuracy {ba:.4f}")
