"""The peer harness's LightGBM (its code, its parameters, its folds) on the covers `image` and `all`
lists, fed with the image features autopilot computed (`peer_parity`'s cache), so that fit times can
be compared on an idle box in one session with `peer_parity covers --models gbdt`.

    python benches/python/lightgbm_covers.py [FEATURES.f32] [PEER_RESULTS.json]

Defaults: ~/.cache/autopilot/bench/covers_mobilenet-v2_highest.f32 and
/work/shared/bench/peer/results/covers_mobilenet_v2.json. Needs the peer's requirements (lightgbm,
scikit-learn, pandas). Prints BA mean ± std and fit seconds summed over the 5 folds, per list.
"""
import json
import os
import sys

import numpy as np
import pandas as pd

PEER = '/work/shared/bench/peer'
sys.path.insert(0, PEER)
import peer_baseline as pb  # noqa: E402  (sets OMP_WAIT_POLICY etc. as in the harness)

features = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    '~/.cache/autopilot/bench/covers_mobilenet-v2_highest.f32')
results = sys.argv[2] if len(sys.argv) > 2 else f'{PEER}/results/covers_mobilenet_v2.json'
peer = json.load(open(results))
raw = open(features, 'rb').read()
n, d = (int(v) for v in np.frombuffer(raw[:16], '<u8'))
F = np.frombuffer(raw[16:], '<f4').reshape(n, d).astype(np.float32)
df = pd.read_csv(os.path.join('/work/shared', peer['csv'].removeprefix('shared/')))
classes = peer['classes']
y = df['genre'].map({c: i for i, c in enumerate(classes)}).to_numpy()
groups = df['artist_name'].to_numpy()
folds = np.asarray(peer['folds'])
num = np.c_[df['release_date'].astype(str).str[:4].astype(float), np.log1p(df['total_tracks'])]
text = df['album_name'].fillna('').to_numpy()


def image(tr, te):
    s = pb.StandardScaler().fit(F[tr])
    return s.transform(F[tr]), s.transform(F[te])


def all_feats(tr, te):
    s = pb.StandardScaler().fit(np.c_[F[tr], num[tr]])
    dtr, dte = s.transform(np.c_[F[tr], num[tr]]), s.transform(np.c_[F[te], num[te]])
    ttr, tte = pb.tfidf_text(text[tr], text[te])
    return pb.sp.hstack([dtr, ttr]).tocsr(), pb.sp.hstack([dte, tte]).tocsr()


print(f'features {F.shape} from {features}; folds from {results}')
for name, build in (('image', image), ('all', all_feats)):
    res, _ = pb.evaluate(y, groups, folds, build, {pb.GBM: pb.lgbm}, tag=name)
    r = res[pb.GBM]
    print(f'{name:<6} {pb.GBM}: BA {r["ba_mean"]:.4f} ± {r["ba_std"]:.4f}, fit {r["fit_seconds"]:.1f} s '
          f'(5 folds), loadavg {open("/proc/loadavg").read().split()[:3]}', flush=True)
