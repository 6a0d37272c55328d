"""The peer harness's lyrics GBDT row (TF-IDF word 1-2, sublinear, min_df=2 -> TruncatedSVD(256) fitted
on each fold's training rows -> its LightGBM), with its own code and the folds of its results JSON, to
time LightGBM on an idle box in one session with `peer_parity lyrics --models gbdt`.

    python benches/python/lightgbm_lyrics.py [PEER_RESULTS.json]

Default: /work/shared/bench/peer/results/lyrics.json. Prints BA mean ± std, LightGBM fit seconds summed
over the 5 folds and the TF-IDF + SVD seconds (not part of the fit).
"""
import json
import os
import sys

import numpy as np
import pandas as pd

PEER = '/work/shared/bench/peer'
sys.path.insert(0, PEER)
import peer_baseline as pb  # noqa: E402  (sets OMP_WAIT_POLICY as in the harness)

results = sys.argv[1] if len(sys.argv) > 1 else f'{PEER}/results/lyrics.json'
peer = json.load(open(results))
df = pd.read_csv(os.path.join('/work/shared', peer['csv'].removeprefix('shared/')))
y = df['genre'].map({c: i for i, c in enumerate(peer['classes'])}).to_numpy()
groups = df['artist'].to_numpy()
folds = np.asarray(peer['folds'])
text = df['lyrics'].fillna('').to_numpy()


def svd(tr, te, n=256):
    v = pb.TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    xtr, xte = v.fit_transform(text[tr]), v.transform(text[te])
    r = pb.TruncatedSVD(n, random_state=pb.SEED).fit(xtr)
    return r.transform(xtr), r.transform(xte)


res, build = pb.evaluate(y, groups, folds, svd, {pb.GBM: pb.lgbm}, tag='svd')
r = res[pb.GBM]
print(f'tfidf_svd256 {pb.GBM}: BA {r["ba_mean"]:.4f} ± {r["ba_std"]:.4f}, fit {r["fit_seconds"]:.1f} s '
      f'(5 folds), TF-IDF + SVD {build:.1f} s, loadavg {open("/proc/loadavg").read().split()[:3]}', flush=True)
