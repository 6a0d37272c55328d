"""scikit-learn on the exact per-fold TF-IDF matrices written by examples/lr_lyrics.rs."""
import sys, time, warnings
import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.metrics import balanced_accuracy_score

warnings.filterwarnings("ignore")
d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/lyrics"

def csr(name):
    n, m = map(int, open(f"{d}/{name}_shape.txt").read().split())
    return sp.csr_matrix((np.fromfile(f"{d}/{name}_data.f32", dtype=np.float32).astype(np.float64),
                          np.fromfile(f"{d}/{name}_indices.u64", dtype=np.uint64).astype(np.int64),
                          np.fromfile(f"{d}/{name}_indptr.u64", dtype=np.uint64).astype(np.int64)), shape=(n, m))

models = {"logreg C=1 none": lambda: LogisticRegression(C=1.0, max_iter=5000),
          "logreg C=1 balanced": lambda: LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced"),
          "complement_nb": lambda: ComplementNB()}
res = {k: ([], 0.0) for k in models}
for f in range(5):
    Xtr, Xte = csr(f"fold{f}_train"), csr(f"fold{f}_test")
    ytr = np.fromfile(f"{d}/fold{f}_ytrain.u32", dtype=np.uint32).astype(np.int64)
    yte = np.fromfile(f"{d}/fold{f}_ytest.u32", dtype=np.uint32).astype(np.int64)
    for name, make in models.items():
        t = time.perf_counter(); m = make().fit(Xtr, ytr); s = time.perf_counter() - t
        sc, tot = res[name]; sc.append(balanced_accuracy_score(yte, m.predict(Xte))); res[name] = (sc, tot + s)
for name, (sc, tot) in res.items():
    print(f"sklearn {name:22} BA {np.mean(sc):.4f}  folds [{', '.join(f'{s:.4f}' for s in sc)}]  fit {tot:.2f}s (5 folds)")
