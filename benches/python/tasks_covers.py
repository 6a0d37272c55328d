"""Regression and binary targets on the shared covers (issue #15), side by side with a Ridge and a
LightGBM baseline on the peer harness's folds (grouped by artist).

    python benches/python/tasks_covers.py OUT_DIR [ALBUMS.csv] [PEER_RESULTS.json] [IMAGE.npy]

Writes OUT_DIR/covers_year.csv and OUT_DIR/covers_classical.csv (cover as an absolute path,
album_name, artist_name, total_tracks, and the target: `year` = the release year, or `classical` =
yes/no; the release date and the genre are left out: each gives the target away) and
OUT_DIR/folds.json (the peer's fold of every row,
for autopilot's --folds-from). Then prints, per fold-averaged metric, the baselines on the
album name (word 1-2 + char_wb 2-5 TF-IDF, as the peer) and log1p(total_tracks):
  * year:      RidgeCV (alphas 0.01 … 1000, inner CV) and LGBMRegressor (300 rounds, lr 0.05);
  * classical: LogisticRegression (C by inner CV) and LGBMClassifier, AUC.
Compare them with autopilot's `text+tracks` feature list (same inputs). With IMAGE.npy (the
covers' pooled backbone features, one row per CSV row, e.g. from
`autopilot featurize OUT_DIR/covers_year.csv -o IMAGE.npy --backbone mobilenet-v2`, the features
autopilot's own blueprints see), every baseline runs again with them added (`+image`): compare
those with autopilot's full run.
Needs numpy, pandas, scikit-learn, lightgbm (from PyPI).
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sp
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score, roc_auc_score

out_dir = sys.argv[1]
albums = sys.argv[2] if len(sys.argv) > 2 else '/work/shared/data/covers-spotify/albums.csv'
peer = sys.argv[3] if len(sys.argv) > 3 else '/work/shared/bench/peer/results/covers_mobilenet_v2.json'
os.makedirs(out_dir, exist_ok=True)
df = pd.read_csv(albums)
folds = np.asarray(json.load(open(peer))['folds'])
assert len(folds) == len(df), 'the fold file must have one fold per row'
base = os.path.dirname(os.path.abspath(albums))
year = df['release_date'].astype(str).str[:4].astype(float).to_numpy()
classical = (df['genre'] == 'classical').to_numpy()
inputs = {
    'cover': [os.path.join(base, c) for c in df['cover']],
    'album_name': df['album_name'],
    'artist_name': df['artist_name'],
    'total_tracks': df['total_tracks'],
}
pd.DataFrame({**inputs, 'year': year.astype(int)}).to_csv(
    os.path.join(out_dir, 'covers_year.csv'), index=False)
pd.DataFrame({**inputs, 'classical': np.where(classical, 'yes', 'no')}).to_csv(
    os.path.join(out_dir, 'covers_classical.csv'), index=False)
json.dump({'folds': folds.tolist()}, open(os.path.join(out_dir, 'folds.json'), 'w'))

text = df['album_name'].fillna('').to_numpy()
tracks = np.log1p(df['total_tracks'].to_numpy(dtype=float))[:, None]


image = np.load(sys.argv[4]) if len(sys.argv) > 4 else None
assert image is None or len(image) == len(df), 'the image features must have one row per CSV row'


def features(tr, te, with_image):
    word = TfidfVectorizer(analyzer='word', ngram_range=(1, 2), sublinear_tf=True)
    char = TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 5), sublinear_tf=True)
    parts_tr = [word.fit_transform(text[tr]), char.fit_transform(text[tr]), tracks[tr]]
    parts_te = [word.transform(text[te]), char.transform(text[te]), tracks[te]]
    if with_image:
        # Standardized on the training rows, as autopilot's linear models do.
        mean, std = image[tr].mean(0), image[tr].std(0) + 1e-6
        parts_tr.append((image[tr] - mean) / std)
        parts_te.append((image[te] - mean) / std)
    return sp.hstack(parts_tr).tocsr(), sp.hstack(parts_te).tocsr()


models = {
    'year': {
        'ridge': lambda: RidgeCV(alphas=np.logspace(-2, 3, 11)),
        'lightgbm': lambda: LGBMRegressor(n_estimators=300, learning_rate=0.05, num_leaves=15,
                                          verbose=-1, random_state=0, n_jobs=2),
    },
    'classical': {
        'logistic': lambda: LogisticRegressionCV(Cs=np.logspace(-3, 2, 11), max_iter=2000,
                                                 class_weight='balanced', scoring='roc_auc'),
        'lightgbm': lambda: LGBMClassifier(n_estimators=300, learning_rate=0.05, num_leaves=15,
                                           verbose=-1, random_state=0, n_jobs=2,
                                           class_weight='balanced'),
    },
}
variants = [False, True] if image is not None else [False]
for target, by_name in models.items():
    for name, make in by_name.items():
        for with_image in variants:
            scores = []
            for k in range(folds.max() + 1):
                tr, te = np.where((folds != k) & (folds >= 0))[0], np.where(folds == k)[0]
                xtr, xte = features(tr, te, with_image)
                m = make()
                if target == 'year':
                    p = m.fit(xtr, year[tr]).predict(xte)
                    scores.append((np.sqrt(mean_squared_error(year[te], p)),
                                   mean_absolute_error(year[te], p), r2_score(year[te], p)))
                else:
                    p = m.fit(xtr, classical[tr]).predict_proba(xte)[:, 1]
                    scores.append((roc_auc_score(classical[te], p),))
            s = np.asarray(scores)
            shown = name + ('+image' if with_image else '')
            if target == 'year':
                print(f'year      {shown:<15} RMSE {s[:, 0].mean():.3f} ± {s[:, 0].std():.3f}  '
                      f'MAE {s[:, 1].mean():.3f}  R² {s[:, 2].mean():.4f}', flush=True)
            else:
                print(f'classical {shown:<15} AUC {s[:, 0].mean():.4f} ± {s[:, 0].std():.4f}',
                      flush=True)
