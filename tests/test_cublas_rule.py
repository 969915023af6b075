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
    c = np.asarray(lowbit.matmul(a, b, fmt, fmt, accumulator=acc, out_dtype=out, M=M, N=N, K=K))
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
    assert "bf16-f32 predicted: the kernel of the recorded" in lowbit.mac.provenance("h100-bf16", *held)
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
