"""cuBLAS's stream-K launches of fewer CTAs than output tiles (sm90 xmma ``segment_k_on``, TF32
and FP16 accumulation), against the H200's recordings: the per-tile cuts read by
``lowbit.mac.tile_chains`` (``sweep/probes/streamk_<path>.json``, ``sweep/streamk_probe.py``)
and the output samples the sweeps recorded at the same shapes."""
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from lowbit.mac import cublas_rule as cr

SWEEP = Path(__file__).resolve().parent.parent / "vectors" / "hardware" / "h100" / "sweep"
PATHS = ("tf32", "fp16-acc16")


def probes(path):
    return json.loads((SWEEP / "probes" / f"streamk_{path}.json").read_text())


def _sampled(path):
    """{shape: (record, index)} of the recorded launches with output samples (the records the
    probed shapes were taken from)."""
    out = {}
    for suffix in ("", ".dense", ".llm", ".families", ".families2", ".seed8"):
        rec = cr.load_record(SWEEP / "records" / f"{path}{suffix}.json.gz")
        for i, s in enumerate(rec["shapes"]):
            if str(i) in rec["bits"]:
                out.setdefault(tuple(s), (rec, i))
    return out


def _launch(entry):
    main = next(k for k in entry["kernels"] if "segment_k_on" in k[0])
    return main[1][0] * main[1][1], main[1][1]


@pytest.mark.parametrize("path", PATHS)
def test_probe_recorded_every_tile(path):
    """Every probed launch is one of fewer CTAs than (padded) tiles, and its cut tiles, each
    cut alike, are as many as the tiles past the last whole wave of CTAs where no partial
    raster group pads them — the probe read them all."""
    d = probes(path)
    assert len(d["shapes"]) == {"tf32": 36, "fp16-acc16": 55}[path]
    for key, e in d["shapes"].items():
        assert "error" not in e, (key, e.get("error"))
        G, gy = _launch(e)
        M, N, K = map(int, key.split("x"))
        ntm, ntn = -(-M // e["tile_m"]), -(-N // e["tile_n"])
        assert ntm * ntn > G or -(-(ntn if path == "tf32" else ntm) // gy) * gy * (ntm if path == "tf32" else ntn) > G
        assert len({tuple(c) for c in e["cuts"].values()}) == 1, key  # every cut tile cut alike


@pytest.mark.parametrize("path", PATHS)
def test_probed_cuts_reproduce_the_recorded_samples(path):
    """The walk of these launches: each cut tile's pieces are its k-iterations shared evenly,
    the extra ones on the last pieces (``cr.streamk_slices``: the probe's cut positions, every
    launch), each piece a chain from 0, added in ``cr.pow2_tree`` order; the other tiles one
    chain.  With the probed cuts, every output sample the sweeps recorded at these 91 shapes
    is reproduced bit for bit (the k-tile is the kernel's: 32 for FP16 accumulation's
    ``tilesize…x32`` kernels, whose family the shipped rule has no walk for)."""
    sampled = _sampled(path)
    rule = cr.shipped()["rules"][path]
    base = next(w for w in rule._walks if w.plan == "streamk")
    checked = 0
    for key, e in probes(path)["shapes"].items():
        M, N, K = map(int, key.split("x"))
        rec, i = sampled[(M, N, K)]
        walk = cr.Walk(base.block, None, e["k_step"], base.reduce, plan="streamk")
        rows, cols, want = cr._samples(rec, i)
        rows, cols = np.asarray(rows), np.asarray(cols)
        got = np.zeros((len(rows), len(cols)), np.uint32)
        for tm in set((rows // e["tile_m"]).tolist()):
            for tn in set((cols // e["tile_n"]).tolist()):
                rs, cs = np.flatnonzero(rows // e["tile_m"] == tm), np.flatnonzero(cols // e["tile_n"] == tn)
                cut = e["cuts"].get(f"{tm},{tn}", [])
                pieces = len(cut) + 1
                if pieces > 1:
                    starts = np.cumsum(cr.streamk_slices(K, e["k_step"], pieces))[:-1] // e["k_step"]
                    assert starts.tolist() == cut, (key, cut)
                part = cr.emulate(path, walk, pieces, M, N, K, rows[rs], cols[cs])
                got[np.ix_(rs, cs)] = part.reshape(len(rs), len(cs))
        assert np.array_equal(got.reshape(-1), want), key
        checked += 1
    assert checked == len(probes(path)["shapes"])


def test_streamk_raster_names_the_probed_cut_tiles():
    """cr.StreamK's serpentine raster (groups of grid y tiles across N for TF32, across M for
    FP16 accumulation; the last T' mod G cut) names exactly the cut tiles the probe read at
    74 of the 91 launches (29 of 36 TF32, 45 of 55 FP16-acc16); the others cut more tiles
    than T' mod G, or walk another raster (docs/cublas.md)."""
    hits = {}
    for path in PATHS:
        for key, e in probes(path)["shapes"].items():
            M, N, K = map(int, key.split("x"))
            G, gy = _launch(e)
            plan = cr.StreamK(G, 0, e["tile_m"], e["tile_n"], gy, "N" if path == "tf32" else "M")
            tiles, _ = plan.cut_tiles(M, N, K, e["k_step"])
            truth = {tuple(int(v) for v in t.split(",")) for t in e["cuts"]}
            hits[path] = hits.get(path, 0) + (set(tiles) == truth)
    assert hits == {"tf32": 29, "fp16-acc16": 45}


def test_balanced_pieces_follows_the_recorded_launches():
    """TF32 64×128-tile launches of 120 CTAs cutting 8 tiles (sampled at 96 to 196 k-iterations):
    14 or 15 pieces, the fewest with the longest piece of 15 pieces'."""
    assert [cr.balanced_pieces(15, n) for n in (96, 101, 107, 112, 120, 121, 128, 139, 142, 196)] == \
        [14, 15, 14, 14, 15, 14, 15, 14, 15, 14]
    assert cr.balanced_pieces(2, 24) == 2 and cr.balanced_pieces(40, 8) == 8


def test_streamk_code_round_trips_and_refuses_bad_pieces():
    assert cr.streamk_decode(cr.streamk_code(132, 7)) == (132, 7)
    assert cr.streamk_decode(-1) is None and cr.streamk_decode(5) is None
    with pytest.raises(ValueError, match="pieces=64 is not allowed"):
        cr.streamk_code(120, 64)


def test_the_natural_call_cuts_the_tiles_cublas_cut():
    """TF32 72×8192×1024 (a table row: 120 CTAs over 128 tiles of 128×64, the last 8 cut in two):
    lowbit.matmul with the preset and the whole operands, no shape argument, gives the GPU's
    bits at every sampled output — those in the cut tiles among them; partial operands say
    which rows and columns of C they are."""
    import lowbit
    from lowbit.mac import sweep

    M, N, K = 72, 8192, 1024
    rec, i = _sampled("tf32")[(M, N, K)]
    rows, cols, want = cr._samples(rec, i)
    acc = cr.preset_accumulator("h100-tf32", {}, M, N, K)
    cut = {(r0, c0) for r0, r1, c0, c1, _ in acc.tiles}
    assert len(cut) == 8 and {c0 for _, c0 in cut} == {c * 64 for c in range(120, 128)}
    assert any(c >= 120 * 64 for c in cols)  # samples in the cut tiles
    a, b = sweep.operand_codes("tf32", M, N, K)
    c = np.asarray(lowbit.matmul(a, b, "float32", "float32", accumulator="h100-tf32"))
    assert np.array_equal(c[np.ix_(rows, cols)].view(np.uint32).reshape(-1), want)
    a, b = sweep.operand_codes("tf32", M, N, K, rows, cols)
    part = lowbit.matmul(a, b, "float32", "float32", accumulator="h100-tf32", M=M, N=N, K=K, rows=rows, cols=cols)
    assert np.array_equal(np.asarray(part).view(np.uint32).reshape(-1), want)
    with pytest.raises(ValueError, match="rows= and cols="):
        lowbit.matmul(a, b, "float32", "float32", accumulator="h100-tf32", M=M, N=N, K=K)
    with pytest.raises(ValueError, match="rows must be 8 non-negative integer indices"):
        lowbit.matmul(a, b, "float32", "float32", accumulator="h100-tf32", M=M, N=N, K=K, rows=rows[:3], cols=cols)


@pytest.mark.parametrize("path", PATHS)
def test_full_output_check_is_of_the_shipped_rule(path):
    """sweep/streamk_check.py compared every output of torch's GEMM on the H200 with lowbit's
    (the preset, the whole operands) at table rows and predicted LLM layers of these launches;
    its record holds for the rule shipped now: each checked shape's provenance is the same, and
    every table row whose pieces its own samples showed was exact at every output but one
    FP16-acc16 row (256×11008×4096: its samples fit, 57,560 of its 2.8 M outputs do not)."""
    import lowbit

    d = json.loads((SWEEP / "probes" / f"streamk_check_{path}.json").read_text())
    preset, knobs, odt = {"tf32": ("h100-tf32", {}, "float32"),
                          "fp16-acc16": ("h100-fp16", {"acc": "float16"}, "float16")}[path]
    inexact = []
    for key, e in d["shapes"].items():
        M, N, K = map(int, key.split()[1].split("x"))
        assert lowbit.mac.provenance(preset, M, N, K, out_dtype=odt, **knobs) == e["provenance"], key
        if e["kind"] == "recorded" and e["differ"]:
            inexact.append((M, N, K))
    assert inexact == ({"tf32": [], "fp16-acc16": [(256, 11008, 4096)]}[path])


def test_calibrate_sweep_keeps_a_stream_k_launch_with_the_pieces_its_outputs_show(tmp_path, monkeypatch):
    """``lowbit calibrate --sweep --shape`` at TF32 LLM layers the shipped rule predicts wrong,
    stream-K launches of fewer CTAs than tiles (the GPU's recording stood in for by the H200's
    own): each is kept with its CTAs and the pieces its samples show, and the preset then
    reproduces it; one whose samples no plan reproduces (1602×1536×1536, whose tiles are walked
    in groups of tile rows, not of tile columns as TF32's usually are) is not kept."""
    import sys

    import lowbit
    from lowbit.mac import calibration, sweep

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_cublas_rule import lowbit_bits

    monkeypatch.setenv("LOWBIT_CACHE", str(tmp_path))
    monkeypatch.setattr(calibration, "gpu_info", lambda: {"gpu": "NVIDIA H200", "sm": [9, 0],
                                                          "versions": {"torch": "2.11.0+cu130"}})
    llm = cr.load_record(SWEEP / "records" / "tf32.llm.json.gz")
    wrong = {tuple(s) for s in cr.shipped()["llm_held_out"]["tf32"]["failures"]}
    walk = cr.Walk.from_key("b8-t0-g32-float32-streamk")
    over = [i for i, s in enumerate(llm["shapes"]) if tuple(s) in wrong and str(i) in llm["bits"]
            and cr.streamk_decode(cr.describe(llm["kernels"][i], *s)[1])]
    fits = []
    for i in over:  # the first two whose samples a plan reproduces
        if len(fits) < 2 and cr.fit_streamk(llm, "tf32", walk, i, cr.describe(llm["kernels"][i], *llm["shapes"][i])[1]):
            fits.append(i)
    refused = [i for i in over if llm["shapes"][i] == [1602, 1536, 1536]]
    pick = fits + refused
    assert len(pick) == 3

    def fake_record(path, shapes_, outputs=True, log=None, **kw):
        idx = [pick[[tuple(llm["shapes"][i]) for i in pick].index(tuple(s))] for s in shapes_]
        return {"path": path, "shapes": [llm["shapes"][i] for i in idx], "kernels": [llm["kernels"][i] for i in idx],
                "rows": {str(j): llm["rows"][str(i)] for j, i in enumerate(idx)},
                "cols": {str(j): llm["cols"][str(i)] for j, i in enumerate(idx)},
                "bits": {str(j): llm["bits"][str(i)] for j, i in enumerate(idx)}, "errors": {}}

    monkeypatch.setattr(sweep, "record", fake_record)
    cr._RULES.clear()
    try:
        dest = cr.calibrate_sweep(["tf32"], [tuple(llm["shapes"][i]) for i in pick], log=lambda s: None)
        table = cr.read(dest)["rules"]["tf32"].table
        assert len(table) == 2 and all(cr.streamk_decode(int(s))[1] > 0 for s in table[:, 4])
        assert sorted(table[:, :3].tolist()) == sorted(llm["shapes"][i] for i in pick[:2])
        for i in pick[:2]:
            M, N, K = llm["shapes"][i]
            rows, cols, want = cr._samples(llm, i)
            assert np.array_equal(lowbit_bits("tf32", M, N, K, rows, cols), want)
            assert lowbit.mac.provenance("h100-tf32", M, N, K).startswith("recorded on your GPU")
    finally:
        cr._RULES.clear()
