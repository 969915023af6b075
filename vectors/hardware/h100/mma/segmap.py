"""How the TF32 1024 x 1024 x 4096 cuBLAS kernel (sm90_xmma_gemm_f32f32_tf32f32
..._segment_k_on) was read, printed from the recorded data (the model: chain.TF32_SEGMENTED;
run 3, probe_segmap3.py, placed p inside every piece: check.py checks all of it).

1. Which output tiles differ from one chain of 8-product steps over K (random operands,
   rows 0, 64, ..., 960 and every column): 1 = some output of that 64 x 128 tile differs.
2. The segment map (gen.segmap_probe): B all ones; row = ones, +2^40 at p, -2^40 at q.
   A one survives only if it is added after +-2^40 have cancelled, so the output, as q
   moves, shows where K is cut and in which order the pieces are added.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chain  # noqa: E402
import fit_cublas  # noqa: E402
import gen  # noqa: E402

K = 4096


def tile_map():
    outs = np.load(os.path.join(HERE, "data", "cublas2_outputs.npz"))
    meta = json.load(open(os.path.join(HERE, "data", "meta2.json")))["operands"]
    A, B = gen.cublas_random("tf32", 1024, 1024, K, 1)
    assert gen.sha(A) == meta["rnd_tf32_1024x1024x4096_full"]["A"]
    sch, so = chain.schedule(K, 8, None)
    got = fit_cublas.to_bits(chain.run(np.ascontiguousarray(A[::64]), B, "tf32rne", sch, so, 0, 0), "tf32")
    bad = (got != outs["rnd_tf32_1024x1024x4096_full"]).reshape(16, 8, 128)
    print("M-tile x N-tile (64 x 128): 1 = differs from one chain")
    print(bad.any(axis=2).astype(int))
    print("outputs differing per tile row:", bad.sum(axis=2).sum(axis=1).tolist())


def segments(tile=0, col=6):
    seg = np.load(os.path.join(HERE, "data", "cublas2_outputs.npz"))["segmap"].view(np.float32)
    meta = json.load(open(os.path.join(HERE, "data", "meta2.json")))["operands"]
    pts = []
    for rep in range(gen.SEGMAP_REPS):
        A, B = gen.segmap_probe(rep)
        assert gen.sha(A) == meta[f"segmap_{rep}"]["A"]
        for i in range(tile * 64, tile * 64 + 64):
            row = A[i].view(np.float32)
            p = int(np.flatnonzero(row == 2.0 ** 40)[0])
            q = int(np.flatnonzero(row == -(2.0 ** 40))[0])
            pts.append((p, q, float(seg[rep, i, col])))
    pts.sort()
    print(f"segment map, M-tile {tile}, output column {col * 128}: (p, first q of a run, output)")
    for pp in (0, K - 1):
        prev = None
        for p, q, v in pts:
            if p != pp:
                continue
            one_chain = K - 8 * ((q + 8) // 8) if pp == 0 else 0.0
            tag = "one chain" if v == one_chain else v
            if tag != prev:
                print(f"  p={p:4d} q>={q:4d}: {v:6.0f}  ({tag})")
                prev = tag


def segments3(col=2):
    """Run 3: p inside every piece; per p, where the output changes as q moves (column 768,
    rows 0-255).  A run where the output falls by 8 per step of 8 is one chain ("chain")."""
    d = np.load(os.path.join(HERE, "data", "segmap3.npz"))["out"].view(np.float32)
    print("segment map run 3, column 768: p: [first q of a run: output]; 'chain' = falls 8 per step")
    for pi, p in enumerate(gen.SEGMAP3_P):
        pts = []
        for half in range(2):
            for i in range(256):
                q = 2048 * half + 8 * i + (i % 8)
                if q == p:
                    q = q + 1 if q + 1 < K else q - 1
                pts.append((q, float(d[pi, half, i, col])))
        pts.sort()
        runs, prev_v, prev_q = [], None, None
        for q, v in pts:
            if prev_v is not None and v == prev_v - 8 and runs and runs[-1][1] in ("chain", prev_v):
                if runs[-1][1] != "chain":
                    runs[-1] = (runs[-1][0], "chain")
            elif v != prev_v:
                runs.append((q, v))
            prev_v, prev_q = v, q
        print(f"  p={p:4d}: " + "  ".join(f"{q}:{v if isinstance(v, str) else int(v)}" for q, v in runs))


if __name__ == "__main__":
    tile_map()
    segments(0, 6)
    segments(5, 6)
    segments3()
