"""Prepares examples/lr_lyrics.rs input: lyrics, labels and the peer harness's folds as JSON.

python3 blueprints/examples/lr_lyrics_prep.py /work/shared/data/lyrics-spotify/songs.csv \
    /work/shared/bench/peer/results/lyrics.json /tmp/lyrics/input.json
"""
import csv, json, sys

songs, peer, out = sys.argv[1:4]
meta = json.load(open(peer))
classes = meta["classes"]
rows = list(csv.DictReader(open(songs, newline="", encoding="utf-8")))
docs = [r["lyrics"] if r["lyrics"] else None for r in rows]
y = [classes.index(r["genre"]) for r in rows]
json.dump({"docs": docs, "y": y, "folds": meta["folds"], "classes": classes}, open(out, "w"))
print(f"{len(rows)} rows, {len(classes)} classes -> {out}")
