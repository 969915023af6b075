"""cuBLAS at any shape: the sweep recorded on an H200 (vectors/hardware/h100/sweep/) against lowbit.

The reference is the GPU's own output bits (8×8 samples per shape on hashed operands), never
lowbit.  The held-out shapes (lowbit.mac.sweep.random_shapes(2, 400)) took no part in fitting
the rule; each is reproduced through the public call — lowbit.matmul with the preset, the whole
GEMM's M, N, K — and the shapes that fail must be exactly those the shipped rule file lists.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import lowbit
from lowbit.mac import cublas_rule as cr
from lowbit.mac import sweep

RECORDS = Path(__file__).resolve().parent.parent / "vectors" / "hardware" / "h100" / "sweep" / "records"
META = json.loads((RECORDS / "meta.json").read_text())
HELD = range(*META["sets"]["held_out"])
FRESH = range(*json.loads((RECORDS / "meta2.json").read_text())["sets"]["fresh_held_out"])

# path -> the preset call that is that GPU path (lowbit.matmul's out_dtype picks the kernel)
CALLS = {
    "bf16-f32": ("h100-bf16", {}, "float32"),
    "bf16": ("h100-bf16", {"reduced_precision_reduction": False}, "bfloat16"),
    "bf16-rpr": ("h100-bf16", {}, "bfloat16"),
    "fp16-f32": ("h100-fp16", {}, "float32"),
    "fp16": ("h100-fp16", {"reduced_precision_reduction": False}, "float16"),
    "fp16-rpr": ("h100-fp16", {}, "float16"),
    "fp16-acc16": ("h100-fp16", {"acc": "float16"}, "float16"),
    "tf32": ("h100-tf32", {}, "float32"),
    "fp32": ("h100-fp32", {}, "float32"),
    "int8": ("h100-int8", {}, "int32"),
    "fp8-fast": ("h100-fp8", {"fast_accum": True}, "float32"),
    "fp8-slow": ("h100-fp8", {}, "float32"),
    "fp8-fast-bf16": ("h100-fp8", {"fast_accum": True}, "bfloat16"),
    "fp8-slow-bf16": ("h100-fp8", {}, "bfloat16"),
}
_CACHE: dict = {}


def record(path):
    if path not in _CACHE:
        _CACHE[path] = cr.load_record(RECORDS / f"{path}.json.gz")
    return _CACHE[path]


def gpu_bits(rec, i):
    s = str(i)
    return rec["rows"][s], rec["cols"][s], np.asarray(rec["bits"][s], np.uint32)


def lowbit_bits(path, M, N, K, rows, cols):
    preset, knobs, out = CALLS[path]
    fmt = sweep.PATHS[path][0]
    a, b = sweep.operand_codes(path, M, N, K, rows, cols)
    acc = lowbit.mac.accumulator(preset, **knobs)
    c = np.asarray(lowbit.matmul(a, b, fmt, fmt, accumulator=acc, out_dtype=out, M=M, N=N, K=K, rows=rows, cols=cols))
    if out == "int32":
        return c.astype(np.int64).astype(np.uint32).reshape(-1)
    return (c.view(np.uint32) if out == "float32" else c.view(np.uint16).astype(np.uint32)).reshape(-1)


def record_dense(path):
    key = path + ".dense"
    if key not in _CACHE:
        _CACHE[key] = cr.load_record(RECORDS / f"{path}.dense.json.gz")
    return _CACHE[key]


def reproduce(path, indices, rec=None):
    rec = rec or record(path)
    failed = []
    for i in indices:
        if str(i) not in rec["bits"]:
            continue
        M, N, K = rec["shapes"][i]
        rows, cols, want = gpu_bits(rec, i)
        try:
            ok = np.array_equal(lowbit_bits(path, M, N, K, rows, cols), want)
        except ValueError:  # UnrecordedShape: the rule's kernel there has no known walk
            ok = False
        if not ok:
            failed.append([M, N, K])
    return failed


def shipped_failures(path):
    return cr.shipped()["held_out"][path]["failures"]


@pytest.mark.parametrize("path", sorted(CALLS))
def test_held_out_first_shapes(path):
    """The first 60 held-out shapes of every path: exactly the documented ones fail."""
    first = list(HELD)[:60]
    shapes = {tuple(record(path)["shapes"][i]) for i in first}
    want = [s for s in shipped_failures(path) if tuple(s) in shapes]
    assert reproduce(path, first) == want


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(CALLS))
def test_held_out_all_shapes(path):
    assert reproduce(path, HELD) == shipped_failures(path)


@pytest.mark.parametrize("path", sorted(CALLS))
def test_fresh_held_out_first_shapes(path):
    """The first 40 shapes recorded after the walks were fitted (random_shapes(3, 400))."""
    rec = record_dense(path)
    first = list(FRESH)[:40]
    shapes = {tuple(rec["shapes"][i]) for i in first}
    want = [s for s in cr.shipped()["fresh_held_out"][path]["failures"] if tuple(s) in shapes]
    assert reproduce(path, first, rec) == want


def test_every_path_is_shipped():
    doc = cr.shipped()
    assert sorted(doc["rules"]) == sorted(doc["held_out"]) == sorted(doc["fresh_held_out"]) == \
        sorted(doc["untouched_held_out"]) == sorted(CALLS)


def test_held_out_counts_are_what_the_file_states():
    doc = cr.shipped()
    for path, h in doc["held_out"].items():
        assert h["shapes"] - h["predicted"] == len(h["failures"]), path


def test_natural_call_full_operands_decode_shape():
    """lowbit.matmul with the whole operands and no shape argument: a recorded LLM decode shape."""
    path = "bf16-f32"
    rec = record(path)
    i = max(j for j, s in enumerate(rec["shapes"]) if s == [1, 4096, 4096])  # the LLM set's, sampled
    rows, cols, want = gpu_bits(rec, i)
    a, b = sweep.operand_codes(path, 1, 4096, 4096)
    c = lowbit.matmul(a, b, "bfloat16", "bfloat16", accumulator="h100-bf16")
    assert np.array_equal(np.asarray(c)[np.ix_(rows, cols)].view(np.uint32).reshape(-1), want)


def test_describe_reads_the_nvjet_split_from_the_grid():
    """64×64×4096 bf16: nvjet splitK, grid 2×3×1 over 2 output tiles of 64×32 = 3 slices — the
    split the H100 paths recording found by probes (vectors/hardware/h100/paths/README.md)."""
    rec = record("bf16-f32")
    i = rec["shapes"].index([64, 64, 4096])
    fam, split = cr.describe(rec["kernels"][i], 64, 64, 4096)
    assert "splitK" in fam and split == 3


def test_fit_finds_the_nvjet_walk_from_outputs():
    """The method: from 40 sampled nvjet split-K shapes alone, fit picks 16-product steps and
    slices of whole 64-element k-tiles — and that walk reproduces them."""
    rec = record("bf16-f32")
    keep = [i for i in range(len(rec["shapes"])) if str(i) in rec["bits"]
            and "splitK" in cr.describe(rec["kernels"][i], *rec["shapes"][i])[0]
            and cr.describe(rec["kernels"][i], *rec["shapes"][i])[1] > 1][:40]
    sub = dict(rec, shapes=[rec["shapes"][i] for i in keep], kernels=[rec["kernels"][i] for i in keep],
               rows={str(j): rec["rows"][str(i)] for j, i in enumerate(keep)},
               cols={str(j): rec["cols"][str(i)] for j, i in enumerate(keep)},
               bits={str(j): rec["bits"][str(i)] for j, i in enumerate(keep)})
    fitted = cr.fit(sub, pick=8)
    walks = {f: v for f, v in fitted["families"].items()}
    assert walks and all(v["walk"] == "b16-t0-g64-float32" and v["matched"] == v["shapes"] for v in walks.values())


def test_unknown_kernel_family_is_an_error_not_a_guess():
    """float32 at M = 1 runs cuBLAS's GEMV kernel, whose K walk lowbit does not know."""
    fam = cr.shipped()["rules"]["fp32"]
    walkless = [r for r in fam.table.tolist() if r[3] < 0]
    assert walkless, "the fp32 rule knows every family: this test needs updating"
    M, N, K = walkless[0][:3]
    a, b = sweep.operand_codes("fp32", M, N, K, [0], [0])
    with pytest.raises(lowbit.mac.UnrecordedShape, match="not known"):
        lowbit.matmul(a, b, "float32", "float32", accumulator="h100-fp32", M=M, N=N, K=K)


def test_sweep_operands_are_index_functions():
    """Rows/columns asked for are the same codes as those of the whole operands, for both B
    layouts; FP8 operands never hold the NaN code; float16 values stay in [2^-4, 2^4)."""
    for path in ("bf16-f32", "fp8-fast"):
        a, b = sweep.operand_codes(path, 5, 7, 33)
        ra, cb = sweep.operand_codes(path, 5, 7, 33, [1, 4], [0, 6])
        assert np.array_equal(ra, a[[1, 4]]) and np.array_equal(cb, b[:, [0, 6]])
    a, b = sweep.operand_codes("fp8-fast", 64, 64, 256)
    assert not ((a & 0x7F) == 0x7F).any() and not ((b & 0x7F) == 0x7F).any()
    a, _ = sweep.operand_codes("fp16", 64, 4, 256)
    v = np.abs(a.view(np.float16).astype(np.float64))
    assert v.min() >= 2.0 ** -4 and v.max() < 2.0 ** 4


def test_rule_file_is_deterministic(tmp_path):
    doc = cr.read(cr.SHIPPED / "nvidia-h200.json.gz")
    plain = {k: v for k, v in doc.items() if k not in ("rules", "file")}
    one, two = cr.write(plain, tmp_path / "a.json.gz"), cr.write(plain, tmp_path / "b.json.gz")
    assert one.read_bytes() == two.read_bytes() == (cr.SHIPPED / "nvidia-h200.json.gz").read_bytes()


def test_calibrate_sweep_at_your_shapes_fills_the_cache_the_presets_read_first(tmp_path, monkeypatch):
    """``lowbit calibrate --sweep --shape``: the GPU's recording is stood in for by the H200's
    own (records of fresh held-out shapes); each shape's kernel walk is checked on its samples,
    kept in the user cache, and lowbit.matmul then reproduces those shapes from it."""
    from lowbit.mac import calibration

    monkeypatch.setenv("LOWBIT_CACHE", str(tmp_path))
    monkeypatch.setattr(calibration, "gpu_info", lambda: {"gpu": "NVIDIA H200", "sm": [9, 0],
                                                          "versions": {"torch": "2.11.0+cu130"}})
    dense = cr.load_record(RECORDS / "bf16-f32.dense.json.gz")
    fresh = [i for i in range(*json.loads((RECORDS / "meta2.json").read_text())["sets"]["fresh_held_out"])
             if str(i) in dense["bits"]]
    failures = {tuple(s) for s in cr.shipped()["fresh_held_out"]["bf16-f32"]["failures"]}
    pick = [i for i in fresh if tuple(dense["shapes"][i]) in failures][:3]  # the rule's misses
    shapes = [tuple(dense["shapes"][i]) for i in pick]

    def fake_record(path, shapes_, outputs=True, log=None, **kw):
        idx = [dense["shapes"].index(list(s)) for s in shapes_]
        return {"path": path, "shapes": [dense["shapes"][i] for i in idx],
                "kernels": [dense["kernels"][i] for i in idx],
                "rows": {str(j): dense["rows"][str(i)] for j, i in enumerate(idx)},
                "cols": {str(j): dense["cols"][str(i)] for j, i in enumerate(idx)},
                "bits": {str(j): dense["bits"][str(i)] for j, i in enumerate(idx)}, "errors": {}}

    monkeypatch.setattr(sweep, "record", fake_record)
    dest = cr.calibrate_sweep(["bf16-f32"], shapes, log=lambda s: None)
    assert dest == tmp_path / "cublas" / "nvidia-h200.json.gz"
    kept = cr.read(dest)["rules"]["bf16-f32"].table[:, :3].tolist()
    assert kept, "no shape kept"
    for i in pick:
        M, N, K = dense["shapes"][i]
        if [M, N, K] in kept:
            assert np.array_equal(lowbit_bits("bf16-f32", M, N, K, *gpu_bits(dense, i)[:2]), gpu_bits(dense, i)[2])
    merged = cr.shipped()["rules"]["bf16-f32"]  # the cache's rows before the shipped table: a tree for both
    assert merged.tree is None and len(merged.table) > len(kept)
    assert merged.lookup(333, 777, 5555)[3].startswith("predicted: the shape tree's kernel")
    cr._RULES.clear()


def test_save_record_is_what_load_record_reads(tmp_path):
    rec = record("fp8-fast")
    part = dict(rec, shapes=rec["shapes"][:50], kernels=rec["kernels"][:50])
    cr.save_record(part, tmp_path / "r.json.gz")
    back = cr.load_record(tmp_path / "r.json.gz")
    assert back["shapes"] == part["shapes"]
    assert [[(n, list(g), list(b)) for n, g, b in ks] for ks in back["kernels"]] == \
        [[(n, list(g), list(b)) for n, g, b in ks] for ks in part["kernels"]]


def test_tile_geometry_read_from_the_name_counts_the_launched_ctas():
    """The tile geometry the split model counts output tiles with, against the GPU's grids:
    a CUTLASS split-K launch's grid x, y are its output tiles along the two sides (z the split),
    the side of fewer tiles times a swizzle of 1, 2, 4 or 8 and the other divided by it; an
    nvjet splitK launch's CTAs are its cluster-rounded output tiles times the split."""
    rec = record("bf16-f32")
    checked = {"cutlass": 0, "nvjet": 0}
    for ks, (M, N, K) in zip(rec["kernels"], rec["shapes"]):
        main, geo = cr.main_kernel(ks), cr.geometry(ks)
        if main is None or geo is None:
            continue
        grid = list(main[1])
        if "cutlass" in main[0] and grid[2] > 1:
            tn, tm = -(-N // geo[0]), -(-M // geo[1])
            assert any(sorted(grid[:2]) == sorted([a * w, -(-b // w)]) for a, b in ((tn, tm), (tm, tn))
                       for w in (1, 2, 4, 8)), (M, N, K, main[0], grid)
            checked["cutlass"] += 1
        elif "splitK" in main[0] and cr.describe(ks, M, N, K)[1]:  # 0: a persistent launch hides it
            split = cr.describe(ks, M, N, K)[1]
            assert split * cr.output_tiles(geo, M, N) == grid[0] * grid[1] * grid[2], (M, N, K, main[0], grid)
            checked["nvjet"] += 1
    assert checked["cutlass"] > 500 and checked["nvjet"] > 200, checked


def test_xmma_tile_geometry_is_the_grid():
    """float32 xmma FFMA launches: ``tilesizeAxBx8`` tiles M by A and N by B, the grid being
    ceil(M / A) × ceil(N / B) × split at every launch of the FP32 recording (the geometry's
    first entry is the tile along N); stream-K (``segment_k``) launches get no geometry."""
    rec = record("fp32")
    checked = 0
    for ks, (M, N, K) in zip(rec["kernels"], rec["shapes"]):
        main = cr.main_kernel(ks)
        if main is None or "xmma" not in main[0]:
            continue
        geo = cr.geometry(ks)
        grid = list(main[1])
        assert grid[:2] == [-(-M // geo[1]), -(-N // geo[0])], (M, N, K, main[0], grid)
        checked += 1
    assert checked > 4000, checked

def test_streamk_tiles_bound_the_modelled_launches():
    """Stream-K launches, tiles counted as the geometry says (A-tiles in groups of grid y):
    every launch over more tiles than the H200's 132 SMs is one of fewer CTAs than tiles (its
    split names the grid's CTAs, :class:`cr.StreamK` cuts some tiles), and every launch that
    cuts every tile alike is over at most 132 tiles."""
    for path in ("tf32", "fp16-acc16"):
        seen = {"uniform": 0, "over": 0}
        for ks, (M, N, K) in zip(record_dense(path)["kernels"], record_dense(path)["shapes"]):
            main = cr.main_kernel(ks)
            if main is None or "segment_k_on" not in main[0]:
                continue
            tiles, split = cr.output_tiles(cr.geometry(ks), M, N), cr.describe(ks, M, N, K)[1]
            if tiles > cr.PERSISTENT_CTAS:
                ctas, pieces = cr.streamk_decode(split)
                assert ctas == main[1][0] * main[1][1] < tiles and pieces == 0, (path, M, N, K, main[1])
                seen["over"] += 1
            elif split > 0:
                seen["uniform"] += 1
        assert seen["uniform"] > 500 and seen["over"] > 200, seen


@pytest.mark.parametrize("shape", [(128, 339, 6630), (352, 768, 1729)])
def test_split_of_an_unrecorded_shape_from_the_waves_its_kernel_fills(shape):
    """Two held-out shapes (not in the table) where cuBLAS split K into 44 and 14 slices (1 and
    2 waves of 132 CTAs over 3 and 18 output tiles): the rule's prediction is the GPU's split,
    read from the recorded launch grid."""
    rule = cr.shipped()["rules"]["bf16-f32"]
    assert not rule.recorded(*shape).size
    rec = record("bf16-f32")
    i = [j for j in HELD if tuple(rec["shapes"][j]) == shape][0]
    gpu_split = cr.describe(rec["kernels"][i], *shape)[1]
    assert rule.lookup(*shape)[1] == gpu_split


def record_seed4(path):
    key = path + ".seed4"
    if key not in _CACHE:
        _CACHE[key] = cr.load_record(RECORDS / f"{path}.seed4.json.gz")
    return _CACHE[key]


@pytest.mark.parametrize("path", sorted(CALLS))
def test_untouched_held_out_first_shapes(path):
    """The first 40 of random_shapes(4, 800), recorded after the rule's split model was fixed
    (vectors/hardware/h100/sweep/run3.py): exactly the documented ones fail."""
    rec = record_seed4(path)
    first = range(40)
    shapes = {tuple(rec["shapes"][i]) for i in first}
    want = [s for s in cr.shipped()["untouched_held_out"][path]["failures"] if tuple(s) in shapes]
    assert reproduce(path, first, rec) == want


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(CALLS))
def test_untouched_held_out_all_shapes(path):
    rec = record_seed4(path)
    assert reproduce(path, range(len(rec["shapes"])), rec) == cr.shipped()["untouched_held_out"][path]["failures"]


def test_ffma_split_k_deals_k_tiles_round_robin():
    """cuBLAS's sm80 xmma FFMA split-K kernels (float32, slices added by a reduction kernel): CTA
    z of the grid's z sums the k-tiles of 8 numbered z, z + split, … — the GPU's bits on 12
    recorded shapes, which contiguous slices of the same split do not give."""
    rec = record("fp32")
    fam = "sm80_xmma_gemm_f32f32_f32f32_f32_nn_n_k8_stage3_ffma_aligna4_alignc4_execute_kernel__5x_cublas+reduce"
    picks = [i for i, (M, N, K) in enumerate(rec["shapes"]) if str(i) in rec["bits"] and 256 <= K <= 4096
             and cr.describe(rec["kernels"][i], M, N, K)[0] == fam
             and cr.describe(rec["kernels"][i], M, N, K)[1] > 2][::7][:12]
    assert len(picks) == 12
    dealt, contiguous = cr.Walk(1, None, 8, "float32", interleave=True), cr.Walk(1, None, 8, "float32")
    for i in picks:
        M, N, K = rec["shapes"][i]
        rows, cols, want = gpu_bits(rec, i)
        split = cr.describe(rec["kernels"][i], M, N, K)[1]
        assert np.array_equal(cr.emulate("fp32", dealt, split, M, N, K, rows, cols), want), (M, N, K, split)
    assert not all(np.array_equal(cr.emulate("fp32", contiguous, cr.describe(rec["kernels"][i], *rec["shapes"][i])[1],
                                             *rec["shapes"][i], *gpu_bits(rec, i)[:2]), gpu_bits(rec, i)[2])
                   for i in picks)


def test_split_interleave_is_checked():
    with pytest.raises(ValueError, match="split_interleave"):
        lowbit.mac.accumulator("fused-block", split_interleave=1)
    with pytest.raises(ValueError, match="split_interleave"):
        lowbit.mac.accumulator("fused-block", split_interleave=True, split_slices=(4, 4))


def test_provenance_says_recorded_or_predicted():
    """Where a preset's schedule at a shape comes from, as a user can ask: the H200 rule's record,
    its prediction (a held-out shape), or the preset's H100 table."""
    rec = record("bf16-f32")
    held = tuple(rec["shapes"][list(HELD)[0]])
    assert cr.shipped()["rules"]["bf16-f32"].recorded(1, 4096, 4096).size
    assert lowbit.mac.provenance("h100-bf16", 1, 4096, 4096).endswith("bf16-f32 recorded")
    assert "bf16-f32 predicted: the shape tree's kernel, as at the recorded" in lowbit.mac.provenance("h100-bf16", *held)
    assert "H100" in lowbit.mac.provenance("h100-bf16", 64, 64, 4096)
    with pytest.raises(ValueError, match="unknown preset 'h100-bf17'"):
        lowbit.mac.provenance("h100-bf17", 1, 1, 1)


def test_record_sets_lays_out_the_sweep_as_recorded(tmp_path, monkeypatch):
    """run.py's call of record_sets (with the GPU stood in for) gives the shape list, the sets'
    ranges and the sampled shapes the H200 recording has (records/meta.json, bf16-f32.json.gz)."""
    from lowbit.mac import calibration

    monkeypatch.setattr(calibration, "gpu_info", lambda: {"gpu": "fake", "sm": [9, 0], "versions": {}})
    seen = {}

    def fake_record(path, shapes, outputs=True, chunk=500, log=None):
        seen.update(shapes=[list(s) for s in shapes], outputs=outputs)
        return {"path": path, "shapes": [list(s) for s in shapes], "kernels": [[] for _ in shapes], "errors": {},
                "rows": {}, "cols": {}, "bits": {}}

    monkeypatch.setattr(sweep, "record", fake_record)
    sets = {"grid": sweep.grid_shapes(), "train": sweep.random_shapes(1, 2000),
            "held_out": sweep.random_shapes(2, 400), "llm": sweep.llm_shapes()}
    meta = cr.record_sets(tmp_path, sets, ["bf16-f32"], meta="meta.json", suffix="",
                          sampled=lambda name, j: name != "grid" or j % 8 == 0, log=lambda s: None)
    rec = record("bf16-f32")
    assert meta["sets"] == META["sets"] and json.loads((tmp_path / "meta.json").read_text())["sets"] == META["sets"]
    assert seen["shapes"] == rec["shapes"]
    grid_end = META["sets"]["grid"][1]
    assert seen["outputs"] == {i for i in range(len(rec["shapes"])) if i >= grid_end or i % 8 == 0}
    assert {int(i) for i in rec["bits"]} <= seen["outputs"]  # the GPU sampled where asked (not where it failed)
    assert cr.load_record(tmp_path / "bf16-f32.json.gz")["shapes"] == rec["shapes"]


def test_streamk_cut_is_the_h100_recording():
    """The stream-K cut and order, derived on the H200's sweep, give the tile cut recorded on the
    H100 at TF32 1024×1024×4096 (h100_paths.H100_TF32_SEGMENTED: 15 pieces of k-tiles of 32,
    7 of 256 then 8 of 288, and its addition tree) — data of another GPU, not used to find them."""
    from lowbit.mac.h100_paths import H100_TF32_SEGMENTED

    seg = H100_TF32_SEGMENTED[(1024, 1024, 4096)]
    assert cr.streamk_slices(4096, 32, 15) == seg["slices"]
    assert cr.pow2_tree(0, 15) == seg["tree"]


def _sampled(rec, want):
    for i, (M, N, K) in enumerate(rec["shapes"]):
        if str(i) in rec["bits"]:
            d = cr.describe(rec["kernels"][i], M, N, K)
            if d and want(d[0], d[1], M, N, K):
                yield i, d


@pytest.mark.parametrize("path, every", [("tf32", 8), ("fp16-acc16", 6)])
def test_streamk_launches_reproduced_from_their_grid(path, every):
    """sm90 xmma stream-K kernels (``segment_k_on``) whose grid has at least as many CTAs as
    padded output tiles: every tile in grid CTAs // tiles pieces of whole k-tiles, added in the
    power-of-two tree in the accumulator's format — the GPU's bits; the split read from the grid
    alone, nothing fitted to the shape.  Launches of fewer CTAs than tiles describe as -1."""
    rec = record(path)
    picks = list(_sampled(rec, lambda fam, s, M, N, K: "segment_k_on" in fam))
    uniform = [(i, d) for i, d in picks if d[1] > 0]
    assert len(uniform) > 40 and any(d[1] > 2 for _, d in uniform) and any(d[1] < 0 for _, d in picks)
    for i, (fam, split) in uniform[::every]:
        M, N, K = rec["shapes"][i]
        walk = cr.candidates(path, fam)[0]
        assert walk.plan == "streamk"
        rows, cols, want = gpu_bits(rec, i)
        assert np.array_equal(cr.emulate(path, walk, split, M, N, K, rows, cols), want), (M, N, K, split)


@pytest.mark.parametrize("path", ["fp32", "bf16-f32"])
def test_gemmsn_lanes_reproduced(path):
    """gemmSN_NN_kernel (M ≤ 8): block / 64 lanes of ceil(K / lanes), each in pieces of 512 / lanes
    added in order, lanes in order — the GPU's bits at K above and below 512 (a single chain per
    lane, the earlier guess, holds only up to 512)."""
    rec = record(path)
    picks = list(_sampled(rec, lambda fam, s, M, N, K: fam.startswith("gemmSN_NN_kernel") and "half" not in fam))
    assert any(rec["shapes"][i][2] > 2048 for i, _ in picks) and any(rec["shapes"][i][2] <= 512 for i, _ in picks)
    walk = cr.Walk(1, None, 1, "float32", plan="lanes")
    one_chain_per_lane = 0
    for i, (fam, split) in picks[::12]:
        M, N, K = rec["shapes"][i]
        rows, cols, want = gpu_bits(rec, i)
        assert split in (2, 4)
        assert np.array_equal(cr.emulate(path, walk, split, M, N, K, rows, cols), want), (M, N, K, split)
        if K > 1024:
            one_chain_per_lane += np.array_equal(cr.emulate(path, cr.Walk(1), split, M, N, K, rows, cols), want)
    assert one_chain_per_lane == 0


def test_gemvx_threads_and_shuffle_tree_reproduced():
    """internal::gemvx::kernel (float32, decode shapes): block y threads deal each split-K slice
    in runs of 1 or 64 and add their chains by a shuffle-down tree — every sampled launch of
    the FP32 recording fits one of the two runs, and the fitted run of its family (template and
    block in the family name) fits most."""
    rec = record("fp32")
    picks = list(_sampled(rec, lambda fam, s, M, N, K: "gemvx" in fam))
    assert len(picks) > 100
    fits = {1: 0, 64: 0}
    for i, (fam, split) in picks[::5]:
        M, N, K = rec["shapes"][i]
        rows, cols, want = gpu_bits(rec, i)
        ok = [run for run in (1, 64) if np.array_equal(
            cr.emulate("fp32", cr.Walk(1, None, run, "float32", plan="gemvx" + fam.split("x")[-1].split("]")[0]),
                       split, M, N, K, rows, cols), want)]
        assert ok, (M, N, K, fam, split)
        fits[ok[0]] += 1
    assert fits[1] and fits[64]


# (path, shape) -> (split-K slices, lane run) the recorded bits fit (gemvx_probe.py on the H200)
GEMVX_PROBE = {("bf16-f32", "1x9216x6235"): (16, 64), ("bf16-f32", "1x10720x13714"): (16, 1),
               ("bf16-f32", "1x13072x15326"): (16, 1), ("bf16-f32", "1x12650x12700"): (16, 64),
               ("bf16-f32", "1x8027x9936"): (16, 1), ("bf16-f32", "1x6132x9584"): (16, 64),
               ("fp16-f32", "1x9216x6235"): (16, 1), ("fp16-f32", "1x12928x10190"): (16, 1),
               ("fp16-f32", "1x4778x8292"): (32, 1)}


def test_gemvx_int_true_64x2_lane_run_is_per_shape_not_state():
    """gemvx<int, true> block (64, 2) with split-K (bf16 / fp16 -> float32, M = 1), recorded by
    gemvx_probe.py seven ways per shape (as the sweep, again, after another GEMM, cloned
    operands, output moved, after empty_cache, in a loop): the same bits every way, reproduced
    by one lane run and not the other — runs of 64 at some shapes, element-strided at others,
    and one shape (1x9216x6235) cut differently under bf16 and fp16.  Why is open
    (docs/cublas.md): the rule refuses this kernel."""
    probe = json.loads((RECORDS.parent / "probes" / "gemvx_probe.json").read_text())
    runs = {}
    for (path, shape), (split, run) in GEMVX_PROBE.items():
        M, N, K = (int(v) for v in shape.split("x"))
        settings = probe[path][shape]
        assert len(settings) == 7 and len({tuple(v["bits"]) for v in settings.values()}) == 1, (path, shape)
        assert all(any("gemvx::kernel<int, int" in k for k in v["kernels"]) for v in settings.values())
        want = np.array(settings["as_sweep"]["bits"], np.uint32)
        cols = sweep.sample_index(N)
        got = {r: np.array_equal(cr.emulate(path, cr.Walk(1, None, r, "float32", plan="gemvx2"), split, M, N, K,
                                            [0], cols), want) for r in (1, 64)}
        assert got == {1: run == 1, 64: run == 64}, (path, shape, got)
        runs.setdefault(shape, set()).add(run)
    assert runs["1x9216x6235"] == {1, 64}


def test_split_lanes_are_checked():
    for bad in ({"split_lanes": 3}, {"split_lanes": 0}, {"lane_run": 0}, {"split_lanes": True},
                {"split_lanes": 2, "split_k": 2, "split_interleave": True}):
        with pytest.raises(ValueError, match="split_lanes|lane_run"):
            lowbit.mac.accumulator("fused-block", **bad)


def test_shuffle_tree_order():
    """split_lanes=4: lanes (0 + 2) + (1 + 3), not in order: with values where float32
    addition is not associative the two differ, and the tree's is what comes back."""
    from lowbit.mac import api

    big, one = np.float32(2.0 ** 24), np.float32(1.0)
    parts = [np.array([[v]], np.float32) for v in (big, one, -big, one)]
    lanes = lowbit.mac.accumulator("fused-block", split_lanes=4)
    got = api.reduce_parts(parts, lanes)[0, 0]
    assert got == np.float32((big + -big) + (one + one)) == 2.0
    assert np.float32(np.float32(np.float32(big + one) + -big) + one) != got


def test_rule_table_keeps_wide_shapes():
    """LLM projections reach N = 57,344: M, N, K are stored as uint16, the rest as int16; the
    rows come back sorted by (M, N, K), M stored as steps."""
    rows = [[7, 57344, 8192, 0, 2, 0, 0], [1, 16, 16, -1, -1, 0, 0], [7, 16, 65535, 0, 3, 0, 8], [65535, 1, 1, 0, 1, 0, 0]]
    rule = cr.Rule("bf16-f32", ("b16-t0-g8-float32",), ("fam",), np.array(rows, np.int64))
    back = cr.rule_from_dict("bf16-f32", cr.rule_to_dict(rule))
    assert back.table.tolist() == sorted(rows)
    with pytest.raises(ValueError, match="does not fit"):
        cr.rule_to_dict(cr.Rule("x", (), (), np.array([[70000, 1, 1, 0, 1, 0, 0]], np.int64)))


def test_gemmsn_half_round_robin_pieces_reproduced():
    """gemmSN_NN_kernel_half (FP16 accumulation, M ≤ 8): pieces of 128 k, float16 FMA chains,
    dealt round-robin to 8 lanes, lanes' pieces then lanes added in float16 — the GPU's bits."""
    rec = record("fp16-acc16")
    picks = list(_sampled(rec, lambda fam, s, M, N, K: fam.startswith("gemmSN_NN_kernel_half")))
    assert len(picks) > 40 and any(rec["shapes"][i][2] > 2048 for i, _ in picks)
    walk = cr.candidates("fp16-acc16", picks[0][1][0])[0]
    assert walk.plan == "rrlanes" and walk.key() == cr.Walk.from_key(walk.key()).key()
    for i, (fam, split) in picks[::6]:
        M, N, K = rec["shapes"][i]
        rows, cols, want = gpu_bits(rec, i)
        assert split == 8
        assert np.array_equal(cr.emulate("fp16-acc16", walk, split, M, N, K, rows, cols), want), (M, N, K)


def test_walk_keys_round_trip():
    for w in (cr.Walk(16, 64, 8, "bfloat16-partials"), cr.Walk(1, None, 8, "float32", interleave=True),
              cr.Walk(1, None, 4, "float32", granule_aligned=32), cr.Walk(8, None, 32, "float32", plan="streamk"),
              cr.Walk(1, None, 64, "float32", plan="gemvx16"), cr.Walk(1, None, 128, "float16", plan="rrlanes")):
        assert cr.Walk.from_key(w.key()) == w, w.key()
    w = cr.Walk(1, None, 4, "float32", granule_aligned=32)
    assert (w.granule_for(24576), w.granule_for(12601), w.granule_for(3216)) == (32, 4, 4)


def test_simt_split_k_granule_follows_k_alignment():
    """cutlass_80_simt_sgemm split-K (FP32): slices of ceil(K / split) rounded up to 32 where K is
    a multiple of 32, to 4 where it is not — the GPU's bits on recorded shapes whose slices
    differ between the two roundings (regranule found it; the first fit kept 4 everywhere)."""
    rec = record("fp32")
    fam = "cutlass_80_simt_sgemm_256x128_k8_nn_align1+reduce"
    picks = [(i, d[1]) for i, d in _sampled(rec, lambda f, s, M, N, K: f == fam and s > 1)
             if cr.split_cut(rec["shapes"][i][2], d[1], 4)[1] != cr.split_cut(rec["shapes"][i][2], d[1], 32)[1]]
    aligned = [p for p in picks if rec["shapes"][p[0]][2] % 32 == 0][:8]
    unaligned = [p for p in picks if rec["shapes"][p[0]][2] % 32][:8]
    assert len(aligned) == len(unaligned) == 8
    walk = cr.Walk(1, None, 4, "float32")
    for group, right, wrong in ((aligned, 32, 4), (unaligned, 4, 32)):
        for i, split in group:
            M, N, K = rec["shapes"][i]
            rows, cols, want = gpu_bits(rec, i)
            assert np.array_equal(cr.emulate("fp32", walk, split, M, N, K, rows, cols, right), want), (M, N, K)
            if cr.split_cut(K, split, wrong)[0] == split:
                assert not np.array_equal(cr.emulate("fp32", walk, split, M, N, K, rows, cols, wrong), want)


def _held(path, suffix):
    key = path + "." + suffix
    if key not in _CACHE:
        _CACHE[key] = cr.load_record(RECORDS / f"{path}.{suffix}.json.gz")
    return _CACHE[key]


LLM_HELD = range(*json.loads((RECORDS / "meta5.json").read_text())["sets"]["llm_held_out"])


@pytest.mark.parametrize("path", sorted(CALLS))
def test_seed5_and_llm_held_out_first_shapes(path):
    """random_shapes(5, 800) (recorded after this rule's split model was fixed) and LLM layers at
    token counts the LLM cover does not hold (llm_random_shapes(11, 400)): the first 25 of each,
    through the public call; exactly the documented ones fail."""
    doc = cr.shipped()
    for rec, indices, key in ((_held(path, "seed5"), range(25), "untouched_held_out_5"),
                              (_held(path, "llm"), LLM_HELD[:25], "llm_held_out")):
        shapes = {tuple(rec["shapes"][i]) for i in indices}
        want = [s for s in doc[key][path]["failures"] if tuple(s) in shapes]
        assert reproduce(path, indices, rec) == want, key


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(CALLS))
def test_seed5_and_llm_held_out_all_shapes(path):
    doc = cr.shipped()
    rec = _held(path, "seed5")
    assert reproduce(path, range(len(rec["shapes"])), rec) == doc["untouched_held_out_5"][path]["failures"]
    rec = _held(path, "llm")
    assert reproduce(path, LLM_HELD, rec) == doc["llm_held_out"][path]["failures"]


# held-out seeds recorded after the rule's kernel tree was chosen, none in a table: the record's
# suffix and the rule file's measure of it
LATE_SEEDS = (("seed6", "untouched_held_out_6"),  # run8.py: after the tree was chosen on seeds 4, 5
              ("seed8", "untouched_held_out_8"),  # run11.py: before anything of stop 23 was measured;
#                                                  it first measured stop 22's rule untouched
              ("seed9", "untouched_held_out_9"))  # run12.py: before stop 24's seventh cover


@pytest.mark.parametrize("suffix, key", LATE_SEEDS)
@pytest.mark.parametrize("path", sorted(CALLS))
def test_late_seed_held_out_first_shapes(path, suffix, key):
    """random_shapes(6 / 8 / 9, 800), in no table: the first 25, through the public call; exactly the
    documented ones fail."""
    rec = _held(path, suffix)
    shapes = {tuple(rec["shapes"][i]) for i in range(25)}
    want = [s for s in cr.shipped()[key][path]["failures"] if tuple(s) in shapes]
    assert reproduce(path, range(25), rec) == want


@pytest.mark.slow
@pytest.mark.parametrize("suffix, key", LATE_SEEDS)
@pytest.mark.parametrize("path", sorted(CALLS))
def test_late_seed_held_out_all_shapes(path, suffix, key):
    rec = _held(path, suffix)
    assert reproduce(path, range(len(rec["shapes"])), rec) == cr.shipped()[key][path]["failures"]


def test_no_held_out_shape_is_in_a_table():
    """Shapes of the held-out sets measure predictions only: none is a row of the shipped tables."""
    doc = cr.shipped()
    meta = json.loads((RECORDS / "meta.json").read_text())
    for path in ("bf16-f32", "fp32", "int8"):
        have = {tuple(r) for r in doc["rules"][path].table[:, :3].tolist()}
        held = [tuple(record(path)["shapes"][i]) for i in range(*meta["sets"]["held_out"])]
        held += [tuple(record_dense(path)["shapes"][i]) for i in FRESH]
        for suffix in ("seed4", "seed5") + tuple(suffix for suffix, _ in LATE_SEEDS):
            held += [tuple(s) for s in _held(path, suffix)["shapes"]]
        held += [tuple(_held(path, "llm")["shapes"][i]) for i in LLM_HELD]
        assert not have & set(held), path


def _regrown_equals_shipped(path):
    shipped = cr.shipped()["rules"][path]
    assert shipped.tree is not None, f"{path}: the rule file has no kernel tree"
    bare = cr.Rule(shipped.path, shipped.walks, shipped.families, shipped.table, shipped.sms)
    for k in ("feature", "value", "right"):
        assert np.array_equal(getattr(bare.kernel_tree, k), getattr(shipped.tree, k)), (path, k)


@pytest.mark.parametrize("path", ["int8", "fp8-fast"])
def test_shipped_kernel_tree_is_the_one_its_table_grows(path):
    """The kernel tree in the rule file is what lowbit.mac.shape_tree grows from the file's own
    table (deterministic: the file can be rebuilt byte for byte)."""
    _regrown_equals_shipped(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(CALLS))
def test_shipped_kernel_tree_is_the_one_its_table_grows_every_path(path):
    _regrown_equals_shipped(path)


def test_kernel_tree_puts_every_usable_recorded_shape_in_its_own_class():
    """A fully grown tree: at every recorded shape a prediction may copy, the tree answers the
    kernel class (walk and tiling) recorded there."""
    rule = cr.shipped()["rules"]["fp8-slow"]
    use = np.flatnonzero(rule._usable)
    t = rule.table[use]
    got = rule.kernel_tree.predict(cr.features(t[:, 0], t[:, 1], t[:, 2]))
    assert np.array_equal(got, rule.kernel_class[use])


def test_unrecorded_shape_takes_the_tree_kernels_class():
    """An unrecorded shape's walk and tiling are those of the tree's leaf class, and the
    provenance names a recorded shape of that class."""
    rule = cr.shipped()["rules"]["bf16-f32"]
    for M, N, K in sweep.random_shapes(99, 20):
        if rule.recorded(M, N, K).size:
            continue
        c = int(rule.kernel_tree.predict(cr.features(M, N, K))[0])
        try:
            walk, split, g, how = rule.lookup(M, N, K)
        except LookupError:
            continue
        assert walk.key() == rule.walks[rule.table[c, 3]]
        Mr, Nr, Kr = (int(v) for v in how.split("as at the recorded ")[1].split(" ")[0].split("x"))
        assert rule.kernel_class[rule.recorded(Mr, Nr, Kr)[0]] == c


def test_kernel_class_is_the_first_row_of_the_same_walk_and_tiling():
    """Rows of one walk and one tile geometry are one class, named by its first row, whatever the
    family's name; a family of unknown walk is its own class."""
    fams = ("a@64x8/1x1", "b@64x8/1x1", "c@128x8/1x1", "d@64x8/1x1", "gemv")
    rows = [[1, 1, 1, 0, 1, 0, 0], [2, 1, 1, 0, 1, 1, 0], [3, 1, 1, 0, 1, 2, 0], [4, 1, 1, 1, 1, 0, 0],
            [5, 1, 1, -1, 0, 3, 0], [6, 1, 1, -1, 0, 0, 0], [7, 1, 1, 0, 1, 4, 0], [8, 1, 1, 0, 1, 4, 0],
            [9, 1, 1, -1, 0, 3, 0]]
    rule = cr.Rule("x", ("b1-t0-g1-float32", "b16-t0-g8-float32"), fams, np.array(rows, np.int64))
    assert rule.kernel_class.tolist() == [0, 0, 2, 3, 4, 5, 6, 6, 4]


def test_a_rule_without_usable_rows_is_written_and_refuses_to_predict():
    """A calibration that kept no shape (or only rows whose split was not seen) still writes its
    rule; asked an unrecorded shape, it says so instead of failing inside the tree."""
    for rows in ([], [[8, 8, 8, 0, 0, 0, 0]]):
        rule = cr.Rule("bf16-f32", ("b16-t0-g8-float32",), ("fam@64x8/1x1",), np.array(rows, np.int64).reshape(-1, 7))
        back = cr.rule_from_dict("bf16-f32", cr.rule_to_dict(rule))
        assert back.table.tolist() == rows and back.tree is None
        with pytest.raises(LookupError, match="no usable recorded shape"):
            back.lookup(16, 16, 16)


def test_cutlass_fp16_split_k_cuts_at_64_where_k_is_a_multiple_of_64():
    """cuBLAS's CUTLASS FP16 256x128 split-K kernel (fp16 -> float32) cuts K into slices of
    ceil(K / split) rounded up to 8, but to 64 where K is a multiple of 64: the GPU's bits at
    every training shape (seed 2 held out) whose slices differ between the two.  Thirty shapes
    spread over the family missed it (the shipped walk cut at 8 everywhere); the evidence of all
    of them picks it (cr.granule_evidence, cr.choose_granule)."""
    rec = record("fp16-f32")
    fam = "cutlass_75_tensorop_s1688gemm_f16_256x128_nn_align1+reduce"
    walk = cr.Walk(8, 32, 8, "float32")
    picks = [(i, d[1]) for i, d in _sampled(rec, lambda f, s, M, N, K: f == fam and s > 1)
             if i not in HELD and cr.split_cut(rec["shapes"][i][2], d[1], 8)[1] != cr.split_cut(rec["shapes"][i][2], d[1], 64)[1]]
    aligned = [p for p in picks if rec["shapes"][p[0]][2] % 64 == 0]
    unaligned = [p for p in picks if rec["shapes"][p[0]][2] % 64][:len(aligned)]
    assert len(aligned) >= 10
    for group, right, wrong in ((aligned, 64, 8), (unaligned, 8, 64)):
        for i, split in group:
            M, N, K = rec["shapes"][i]
            rows, cols, want = gpu_bits(rec, i)
            assert np.array_equal(cr.emulate("fp16-f32", walk, split, M, N, K, rows, cols, right), want), (M, N, K)
            assert not np.array_equal(cr.emulate("fp16-f32", walk, split, M, N, K, rows, cols, wrong), want)
    evidence = cr.granule_evidence(rec, {fam: {"walk": walk.key()}}, exclude=set(HELD))
    assert cr.choose_granule(walk, evidence[fam]) == cr.Walk(8, 32, 8, "float32", granule_aligned=64)
    assert cr.Walk.from_key(cr.shipped()["families"]["fp16-f32"][fam]["walk"]).granule_for(4096) == 64


def test_choose_granule_counts_every_shape_and_keeps_its_own_on_a_tie():
    w = cr.Walk(8, 32, 8, "float32")
    works = [(640, frozenset({64})), (1032, frozenset({8})), (1000, frozenset({8, 16}))]
    assert cr.choose_granule(w, works) == cr.Walk(8, 32, 8, "float32", granule_aligned=64)
    assert cr.choose_granule(w, [(1000, frozenset({8, 16}))]) == w  # 16 explains it too: a tie keeps 8
    assert cr.choose_granule(w, []) == w


def test_float16_output_borrows_the_float32_paths_walk():
    """cuBLAS's wmma FP16 32x32 k64 kernel runs in the fp16 (float16 output) and fp16-f32 paths
    alike; the rounded output hid its k-tile and granule (fitted on it alone: in order, granule
    1), the float32 output shows them.  cr.borrow_walks takes the float32 path's walk where it
    reproduces at least as many of the float16 samples (the GPU's bits), keeping the path's own
    reduction, and leaves a walk that reproduces fewer."""
    rec = record("fp16")
    fam = "cutlass_75_wmma_tensorop_s161616gemm_f16_32x32_k64_nn_align1+reduce"
    mine = {fam: {"walk": cr.Walk(16, None, 1, "float32", granule_aligned=64).key()}}
    theirs = {fam: {"walk": cr.Walk(16, 64, 8, "float32", granule_aligned=64).key()}}
    got = cr.borrow_walks(rec, mine, theirs, exclude=set(HELD))
    assert got[fam]["walk"] == theirs[fam]["walk"]
    b = got[fam]["borrowed"]
    assert b["after"] >= b["before"] and b["after"] >= 0.9 * b["shapes"] > 0
    wrong = {fam: {"walk": cr.Walk(1, None, 8, "float32").key()}}  # a float32 FMA chain: not this kernel
    assert cr.borrow_walks(rec, mine, wrong, exclude=set(HELD))[fam]["walk"] == mine[fam]["walk"]
    assert cr.SIBLINGS["fp16"] == "fp16-f32"


def test_rewalk_moves_a_familys_rows_and_keeps_observed_granules():
    old, new = cr.Walk(8, 32, 8, "float32"), cr.Walk(8, 32, 8, "float32", granule_aligned=64)
    other = cr.Walk(16, 64, 8, "float32")
    fams = ("famA@256x128/1x1", "famB@128x128/1x1")
    table = np.array([[100, 200, 4096, 0, 4, 0, 0],   # famA, observed: matched at 8, the new walk cuts at 64
                      [100, 300, 4096, 0, 4, 0, 0],   # famA, not observed: takes the new default
                      [100, 400, 4000, 0, 4, 0, 0],   # famA, observed, K not a multiple of 64: same cut, nothing written
                      [50, 60, 1000, 1, 1, 1, 0]], np.int64)
    rule = cr.Rule("fp16-f32", (old.key(), other.key()), fams, table)
    got = cr.rewalk(rule, {"famA": {"walk": new.key()}}, observed={(100, 200, 4096), (100, 400, 4000)})
    assert got.walks[got.table[0, 3]] == new.key() and got.walks[got.table[3, 3]] == other.key()
    assert got.table[:, 6].tolist() == [8, 0, 0, 0]
    assert old.key() not in got.walks  # no row keeps it
    assert got.lookup(100, 200, 4096)[2] == 8 and got.lookup(100, 300, 4096)[0].granule_for(4096) == 64


def test_fit_path_of_a_rounded_output_takes_the_float32_paths_walks():
    """``lowbit calibrate --sweep`` fits the float32-output path first and hands its families to
    the float16 one (cr.fit_path ``sibling``): the wmma FP16 kernel's float16-output schedules
    take the k-tile and granules the float32 outputs showed, and still reproduce their samples
    (the GPU's bits)."""
    rec = record("fp16")
    fam = "cutlass_75_wmma_tensorop_s161616gemm_f16_32x32_k64_nn_align1+reduce"
    idx = [i for i, d in _sampled(rec, lambda f, s, M, N, K: f == fam and s > 0) if i not in HELD][:24]
    part = {"path": "fp16", "shapes": [rec["shapes"][i] for i in idx], "kernels": [rec["kernels"][i] for i in idx],
            **{k: {str(j): rec[k][str(i)] for j, i in enumerate(idx)} for k in ("rows", "cols", "bits")}}
    theirs = cr.Walk(16, 64, 8, "float32", granule_aligned=64)
    got = cr.fit_path(part, set(), sibling={fam: {"walk": theirs.key()}})
    assert got["families"][fam]["walk"] == theirs.key()
    rule = cr.rule_from_dict("fp16", got["rule"])
    assert set(rule.walks) == {theirs.key()}
    ok = 0
    for j, (M, N, K) in enumerate(part["shapes"]):
        walk, split, g, how = rule.lookup(M, N, K)
        assert how == "recorded"
        ok += np.array_equal(cr.emulate("fp16", walk, split, M, N, K, *cr._samples(part, j)[:2], g), cr._samples(part, j)[2])
    assert ok == len(idx)


def test_uncertain_shapes_are_where_the_committee_of_trees_splits():
    """Kernel A at M <= 100, kernel B above, recorded at M = 10, 20, ..., 200 (one N, K).  The
    rule's tree cuts at M <= 100 (the largest M of A, CART's threshold); the committee's half
    grown on M = 10, 30, ..., 190 cuts at 90, the other at 100: they disagree exactly at
    M = 91..100.  uncertain_shapes returns those pool shapes, in the pool's order, never a
    recorded or excluded one, at most ``count``."""
    a, b = cr.Walk(16, 64, 8, "float32"), cr.Walk(8, 32, 8, "float32")
    rows = [[m, 512, 4096, 0 if m <= 100 else 1, 1, 0 if m <= 100 else 1, 0] for m in range(10, 201, 10)]
    rule = cr.Rule("bf16-f32", (a.key(), b.key()), ("famA@64x64/1x1", "famB@128x128/1x1"), np.array(rows, np.int64))
    pool = [(m, 512, 4096) for m in range(300, 0, -1)] + [(95, 512, 4096), (95, 256, 4096)]
    got = cr.uncertain_shapes(rule, pool, 100, exclude=[(97, 512, 4096)])
    # 100: recorded, 97: excluded, the second 95 x 512 a repeat; no tree splits on N (one N recorded)
    assert got == [(m, 512, 4096) for m in (99, 98, 96, 95, 94, 93, 92, 91)] + [(95, 256, 4096)]
    assert cr.uncertain_shapes(rule, pool, 3) == [(99, 512, 4096), (98, 512, 4096), (97, 512, 4096)]
    tiny = cr.Rule("bf16-f32", (a.key(),), ("famA@64x64/1x1",), np.array(rows[:2], np.int64))
    with pytest.raises(LookupError, match="too few usable recorded shapes"):
        cr.uncertain_shapes(tiny, pool, 10)


def test_borrowed_walks_are_the_float32_paths_but_for_the_reduction():
    """Every family of the shipped rule that took its float32 path's walk (cr.borrow_walks) has
    that walk whole — block, k-tile, granules, slicing plan — with its own path's reduction, and
    reproduced at least as many of its samples as the walk it replaced."""
    fams = cr.shipped()["families"]
    seen = 0
    for path, sib in cr.SIBLINGS.items():
        for fam, v in fams[path].items():
            if "borrowed" not in v:
                continue
            seen += 1
            mine, theirs = cr.Walk.from_key(v["walk"]), cr.Walk.from_key(v["borrowed"]["from"])
            assert v["borrowed"]["from"] == fams[sib][fam]["walk"]
            assert mine == cr.Walk(theirs.block, theirs.k_tile, theirs.granule, mine.reduce, theirs.interleave,
                                   theirs.plan, theirs.granule_aligned), (path, fam)
            assert v["borrowed"]["after"] >= v["borrowed"]["before"]
    assert seen >= 50
