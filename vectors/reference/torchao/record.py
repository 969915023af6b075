"""Record torchao's MX (`to_mx`) and NVFP4 (`nvfp4_quantize`) outputs on fixed inputs.

Run in a virtualenv with torch (CPU) and torchao, without lowbit:

    python3 -m venv /tmp/venv_torchao
    /tmp/venv_torchao/bin/pip install torch==2.13.0 torchao numpy
    /tmp/venv_torchao/bin/python vectors/reference/torchao/record.py

It writes ``torchao_<torchao version>.npz`` beside this file (see README.md for its arrays).
The inputs are built by :func:`build_inputs` with NumPy only (fixed seeds), so that
``tests/test_mx_torchao_recorded.py`` can check, without torch, that the stored inputs are the
ones this script builds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# torchao element dtype name -> (lowbit MX format name, ebits, mbits, emax of the element)
MX_ELEMENTS = {
    "fp8_e4m3": ("mxfp8_e4m3", 4, 3, 8),
    "fp8_e5m2": ("mxfp8_e5m2", 5, 2, 15),
    "fp6_e2m3": ("mxfp6_e2m3", 2, 3, 2),
    "fp6_e3m2": ("mxfp6_e3m2", 3, 2, 4),
    "fp4_e2m1": ("mxfp4", 2, 1, 2),
}
MX_BLOCK = 32
MX_ROW = 256  # 8 blocks per row
NV_BLOCK = 16
NV_ROW = 64  # 4 blocks per row
F32_MAX = np.finfo(np.float32).max


def element_values(ebits: int, mbits: int) -> np.ndarray:
    """All non-negative finite values of an OCP element format (FP8 E4M3 without its NaN,
    FP8 E5M2 without Inf/NaN; FP6/FP4 have no specials), ascending."""
    bias = (1 << (ebits - 1)) - 1
    vals = []
    for e in range(1 << ebits):
        for m in range(1 << mbits):
            if ebits == 5 and e == 31:
                continue  # E5M2 Inf/NaN
            if ebits == 4 and mbits == 3 and e == 15 and m == 7:
                continue  # E4M3 NaN
            if e == 0:
                vals.append(m / 2.0**mbits * 2.0 ** (1 - bias))
            else:
                vals.append((1 + m / 2.0**mbits) * 2.0 ** (e - bias))
    return np.array(sorted(set(vals)), dtype=np.float64)


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).astype(np.float32)


def _signs(rng, n) -> np.ndarray:
    return np.where(rng.random(n) < 0.5, -1.0, 1.0)


def _place(rng, rest: np.ndarray, amax: float, bs: int) -> np.ndarray:
    """A block of bs float32 values: `rest` (bs - 1 values) with amax at a random position."""
    blk = np.asarray(rest, dtype=np.float64).copy()
    blk = np.insert(blk, rng.integers(0, bs), amax)
    return _f32(blk)


def _extremes_and_nonfinite(add, bs: int, special: list, seed_extremes: int, seed_nonfinite: int) -> None:
    """The "extremes" blocks (16: amax from ``special``, the rest random or zero) and the
    "nonfinite" ones (16: ±Inf and NaN placements, canonical quiet NaN 0x7FC00000 and its
    negative), each kind from its own seed — shared by the MX and NVFP4 inputs."""
    rng = np.random.default_rng(seed_extremes)
    for j in range(16):
        amax = float(special[j % len(special)])
        rest = rng.uniform(-1, 1, bs - 1) * amax if j < 8 else np.zeros(bs - 1)
        add("extremes", _place(rng, rest, amax * (-1.0 if j % 3 == 2 else 1.0), bs))
    rng = np.random.default_rng(seed_nonfinite)
    nan = np.array([0x7FC00000], np.uint32).view(np.float32)[0]
    nnan = np.array([0xFFC00000], np.uint32).view(np.float32)[0]
    for j in range(16):
        blk = _f32(rng.standard_normal(bs))
        pos = rng.choice(bs, 3, replace=False)
        if j % 8 == 0:
            blk[pos[0]] = np.inf
        elif j % 8 == 1:
            blk[pos[0]] = -np.inf
        elif j % 8 == 2:
            blk[pos[0]] = nan
        elif j % 8 == 3:
            blk[pos[0]] = nnan
        elif j % 8 == 4:
            blk[pos[0]], blk[pos[1]] = np.inf, nan
        elif j % 8 == 5:
            blk[:] = nan
        elif j % 8 == 6:
            blk[:] = 0
            blk[pos[0]] = np.inf
        else:
            blk[pos[0]], blk[pos[1]] = np.inf, -np.inf
        add("nonfinite", blk)


def _mx_blocks() -> tuple[list[np.ndarray], list[str]]:
    """MX input blocks (32 float32 values each) and their category names."""
    bs = MX_BLOCK
    blocks: list[np.ndarray] = []
    kinds: list[str] = []

    def add(kind, blk):
        blk = np.asarray(blk, dtype=np.float32)
        assert blk.shape == (bs,), blk.shape
        blocks.append(blk)
        kinds.append(kind)

    # normal: N(0, 1)
    rng = np.random.default_rng(100)
    for _ in range(64):
        add("normal", _f32(rng.standard_normal(bs)))
    # normal_scaled: N(0, 1) x 2^k, k over the whole float32 exponent range (underflow included)
    rng = np.random.default_rng(101)
    for _ in range(96):
        k = int(rng.integers(-152, 126))
        add("normal_scaled", _f32(rng.standard_normal(bs) * 2.0**k))
    # wide_exponent: magnitudes spread over 2^-30 .. 2^30 around a random centre within a block
    rng = np.random.default_rng(102)
    for _ in range(64):
        c = int(rng.integers(-110, 96))
        e = rng.uniform(-30, 30, bs) + c
        add("wide_exponent", _f32(_signs(rng, bs) * np.exp2(e)))
    # random_bits: uniform random finite float32 bit patterns (whole range, subnormals included)
    rng = np.random.default_rng(103)
    for _ in range(16):
        b = rng.integers(0, 1 << 32, bs, dtype=np.uint64).astype(np.uint32)
        b = np.where((b & 0x7F800000) == 0x7F800000, b & 0xBFFFFFFF, b).astype(np.uint32)
        add("random_bits", b.view(np.float32))
    # near_pow2: amax = prev/at/next float32 of 2^k (float32 log2 and exponent-field edges)
    rng = np.random.default_rng(104)
    ks = rng.choice(np.arange(-140, 128), 64, replace=False)
    for i, k in enumerate(ks):
        p = np.float32(2.0 ** int(k))
        amax = [np.nextafter(p, np.float32(0)), p, np.nextafter(p, np.float32(np.inf))][i % 3]
        if not np.isfinite(amax):
            amax = p
        rest = rng.uniform(-1, 1, bs - 1) * float(amax)
        add("near_pow2", _place(rng, rest, float(amax) * (-1.0 if i % 2 else 1.0), bs))
    # near_maxpos: amax at each element's max_pos x 2^s (+-1 ulp), at the EVEN rounding tie
    # (2 - 2^-(mbits+1)) x 2^s (+-1 ulp), and between max_pos and the next power of two
    # (elements that saturate)
    rng = np.random.default_rng(105)
    for _, (_, eb, mb, _) in MX_ELEMENTS.items():
        max_pos = element_values(eb, mb)[-1]
        for j in range(16):
            s = int(rng.integers(-120, 110))
            if j < 6:
                base = np.float32(max_pos * 2.0**s)
                amax = [np.nextafter(base, np.float32(0)), base, np.nextafter(base, np.float32(np.inf))][j % 3]
            elif j < 12:
                base = np.float32((2 - 2.0 ** -(mb + 1)) * 2.0**s)
                amax = [np.nextafter(base, np.float32(0)), base, np.nextafter(base, np.float32(np.inf))][j % 3]
            else:
                top = 2.0 ** (np.floor(np.log2(max_pos)) + 1)
                amax = np.float32(rng.uniform(max_pos, top) * 2.0**s)
            rest = rng.uniform(-1, 1, bs - 1) * float(amax)
            add("near_maxpos", _place(rng, rest, float(amax) * float(_signs(rng, 1)[0]), bs))
    # ties: per element format, blocks whose scaled elements are exactly midpoints between
    # neighbouring element values (subnormal ones and the one below zero's neighbour included),
    # with amax = max_pos x 2^s or 2^emax x 2^s, so FLOOR's scale is 2^s
    rng = np.random.default_rng(106)
    for _, (_, eb, mb, emax) in MX_ELEMENTS.items():
        vals = element_values(eb, mb)
        mids = (vals[:-1] + vals[1:]) / 2
        for j in range(16):
            s = int(rng.integers(-100, 100))
            top = vals[-1] if j % 2 == 0 else 2.0**emax
            pick = np.where(rng.random(bs - 1) < 0.8, rng.choice(mids, bs - 1), rng.choice(vals, bs - 1))
            add("ties", _place(rng, _signs(rng, bs - 1) * pick * 2.0**s, top * 2.0**s, bs))
    # subnormal: float32 subnormal inputs (all-subnormal blocks, subnormals with small normals),
    # and blocks whose scaled elements fall in the elements' subnormal range or underflow
    rng = np.random.default_rng(107)
    for j in range(48):
        if j < 16:
            b = rng.integers(1, 1 << 23, bs).astype(np.uint32) | np.where(rng.random(bs) < 0.5, 0x80000000, 0).astype(np.uint32)
            blk = b.view(np.float32)
        elif j < 32:
            e = rng.uniform(-149, -118, bs)
            blk = _f32(_signs(rng, bs) * np.exp2(e))
        else:
            s = int(rng.integers(-60, 60))
            e = rng.uniform(-26, 0, bs - 1) + s
            blk = _place(rng, _signs(rng, bs - 1) * np.exp2(e), 2.0**s * 1.5, bs)
        add("subnormal", blk)
    # zeros: all +0, all -0, mixed signed zeros, one nonzero among zeros
    rng = np.random.default_rng(108)
    for j in range(24):
        if j < 4:
            blk = np.zeros(bs, np.float32)
        elif j < 8:
            blk = np.full(bs, -0.0, np.float32)
        elif j < 12:
            blk = _f32(_signs(rng, bs) * 0.0)
        else:
            blk = _f32(_signs(rng, bs) * 0.0)
            blk[rng.integers(0, bs)] = np.float32(float(_signs(rng, 1)[0]) * 2.0 ** float(rng.uniform(-149, 127)))
        add("zeros", blk)
    # extremes: float32 max and neighbours, 2^127, smallest subnormal, smallest normal
    special = [F32_MAX, np.nextafter(F32_MAX, np.float32(0)), np.float32(2.0**127), np.float32(1.5 * 2.0**127),
               np.float32(2.0**-149), np.float32(2.0**-126), np.nextafter(np.float32(2.0**-126), np.float32(0)),
               np.float32(2.0**-127)]
    _extremes_and_nonfinite(add, bs, special, 109, 110)
    return blocks, kinds


def _nv_blocks() -> tuple[list[np.ndarray], list[str]]:
    """NVFP4 input blocks (16 float32 values each) and their category names."""
    bs = NV_BLOCK
    blocks: list[np.ndarray] = []
    kinds: list[str] = []
    e4m3 = element_values(4, 3)
    fp4 = element_values(2, 1)

    def add(kind, blk):
        blk = np.asarray(blk, dtype=np.float32)
        assert blk.shape == (bs,), blk.shape
        blocks.append(blk)
        kinds.append(kind)

    rng = np.random.default_rng(200)
    for _ in range(64):
        add("normal", _f32(rng.standard_normal(bs)))
    # normal_scaled: block scales from far below E4M3's range (clamped) to far above (saturated)
    rng = np.random.default_rng(201)
    for _ in range(64):
        k = int(rng.integers(-140, 126))
        add("normal_scaled", _f32(rng.standard_normal(bs) * 2.0**k))
    rng = np.random.default_rng(202)
    for _ in range(32):
        c = int(rng.integers(-20, 20))
        e = rng.uniform(-12, 12, bs) + c
        add("wide_exponent", _f32(_signs(rng, bs) * np.exp2(e)))
    # scale_ties: amax / 6 exactly at a midpoint of E4M3 values (and at values, and +-1 ulp),
    # from E4M3's subnormals to beyond 448
    rng = np.random.default_rng(203)
    emids = (e4m3[:-1] + e4m3[1:]) / 2
    for j in range(48):
        if j < 40:
            m = float(rng.choice(emids if j % 2 == 0 else e4m3[1:]))
            amax = np.float32(6.0 * m)
            if j % 5 == 4:
                amax = np.nextafter(amax, np.float32(0))
            elif j % 5 == 3:
                amax = np.nextafter(amax, np.float32(np.inf))
        else:
            amax = np.float32(6.0 * 448 * float(rng.uniform(1.0, 4.0)))
        rest = rng.uniform(-1, 1, bs - 1) * float(amax)
        add("scale_ties", _place(rng, rest, float(amax) * float(_signs(rng, 1)[0]), bs))
    # element_ties: block scale s exactly representable in E4M3 (amax = 6 s), elements at
    # midpoints of FP4 values times s
    rng = np.random.default_rng(204)
    fmids = (fp4[:-1] + fp4[1:]) / 2
    for j in range(48):
        s = float(rng.choice(e4m3[1:]))
        pick = np.where(rng.random(bs - 1) < 0.8, rng.choice(fmids, bs - 1), rng.choice(fp4, bs - 1))
        add("element_ties", _place(rng, _signs(rng, bs - 1) * pick * s, 6.0 * s, bs))
    rng = np.random.default_rng(205)
    for j in range(32):
        if j < 12:
            b = rng.integers(1, 1 << 23, bs).astype(np.uint32) | np.where(rng.random(bs) < 0.5, 0x80000000, 0).astype(np.uint32)
            blk = b.view(np.float32)
        elif j < 20:
            blk = _f32(_signs(rng, bs) * np.exp2(rng.uniform(-149, -118, bs)))
        else:
            # amax / 6 in or just above E4M3's subnormal range (2^-9 .. 2^-6)
            amax = 6.0 * 2.0 ** float(rng.uniform(-10, -5))
            blk = _place(rng, rng.uniform(-1, 1, bs - 1) * amax, amax, bs)
        add("subnormal", blk)
    rng = np.random.default_rng(206)
    for j in range(16):
        if j < 3:
            blk = np.zeros(bs, np.float32)
        elif j < 6:
            blk = np.full(bs, -0.0, np.float32)
        elif j < 9:
            blk = _f32(_signs(rng, bs) * 0.0)
        else:
            blk = _f32(_signs(rng, bs) * 0.0)
            blk[rng.integers(0, bs)] = np.float32(float(_signs(rng, 1)[0]) * 2.0 ** float(rng.uniform(-149, 127)))
        add("zeros", blk)
    special = [F32_MAX, np.float32(2.0**127), np.float32(2.0**-149), np.float32(2.0**-126),
               np.float32(448 * 6.0), np.float32(2.0**-9 * 6.0), np.float32(2.0**-6 * 6.0), np.float32(1e-30)]
    _extremes_and_nonfinite(add, bs, special, 207, 208)
    return blocks, kinds


def _rows(blocks, kinds, row):
    x = np.concatenate(blocks).reshape(-1, row)
    names = sorted(set(kinds), key=kinds.index)
    idx = np.array([names.index(k) for k in kinds], np.uint8).reshape(x.shape[0], -1)
    return x, idx, np.array(names)


def _bf16(x: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns of float32 values truncated to bfloat16 (exact; NaNs stay quiet)."""
    return (x.view(np.uint32) >> 16).astype(np.uint16)


def build_inputs() -> dict[str, np.ndarray]:
    """The recorded inputs (NumPy only, fixed seeds)."""
    mb, mk = _mx_blocks()
    mx_x, mx_kind, mx_kinds = _rows(mb, mk, MX_ROW)
    nb, nk = _nv_blocks()
    nv_x, nv_kind, nv_kinds = _rows(nb, nk, NV_ROW)
    # bfloat16 inputs: the MX and NVFP4 rows truncated to bfloat16, every 2nd row
    return {
        "mx_x": mx_x.view(np.uint32),
        "mx_kind": mx_kind,
        "mx_kinds": mx_kinds,
        "mx_bf16_x": _bf16(np.ascontiguousarray(mx_x[::2])),
        "nvfp4_x": nv_x.view(np.uint32),
        "nvfp4_kind": nv_kind,
        "nvfp4_kinds": nv_kinds,
        "nvfp4_bf16_x": _bf16(np.ascontiguousarray(nv_x[::2])),
    }


def record() -> Path:
    import torch
    import torchao
    from torchao.prototype.mx_formats.config import ScaleCalculationMode
    from torchao.prototype.mx_formats.constants import DTYPE_FP6_E2M3, DTYPE_FP6_E3M2
    from torchao.prototype.mx_formats.kernels import unpack_uint4
    from torchao.prototype.mx_formats.mx_tensor import to_dtype, to_mx
    from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor, nvfp4_quantize, per_tensor_amax_to_scale

    torch.set_num_threads(1)
    torch.set_flush_denormal(False)
    dtypes = {"fp8_e4m3": torch.float8_e4m3fn, "fp8_e5m2": torch.float8_e5m2, "fp6_e2m3": DTYPE_FP6_E2M3,
              "fp6_e3m2": DTYPE_FP6_E3M2, "fp4_e2m1": torch.float4_e2m1fn_x2}
    out = build_inputs()
    out["torch_version"] = np.array(torch.__version__)
    out["torchao_version"] = np.array(torchao.__version__)
    out["numpy_version"] = np.array(np.__version__)
    out["python_version"] = np.array(sys.version.split()[0])
    modes = [m.value for m in ScaleCalculationMode]
    out["mx_elements"] = np.array(list(dtypes))
    out["mx_lowbit_names"] = np.array([MX_ELEMENTS[k][0] for k in dtypes])
    out["mx_modes"] = np.array(modes)

    def codes(q, name):
        q = q.view(torch.uint8)
        return (unpack_uint4(q) if name == "fp4_e2m1" else q).numpy().copy()

    def same_bits(a, b):
        return ((a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))).all()

    inputs = {"mx": torch.from_numpy(out["mx_x"].view(np.float32).copy()),
              "mx_bf16": torch.from_numpy(out["mx_bf16_x"].view(np.int16).copy()).view(torch.bfloat16)}
    for src, xt in inputs.items():
        for name, dt in dtypes.items():
            for mode in modes:
                s, q = to_mx(xt.clone(), dt, MX_BLOCK, ScaleCalculationMode(mode))
                out[f"{src}_{name}_{mode}_scales"] = s.view(torch.uint8).numpy().copy()
                out[f"{src}_{name}_{mode}_elements"] = codes(q, name)
                if src == "mx":
                    # to_dtype of the codes: torchao's dequantize (float32 bit patterns)
                    deq = to_dtype(q, s, dt, MX_BLOCK, torch.float32).numpy().copy()
                    out[f"{src}_{name}_{mode}_dequant"] = deq.view(np.uint32)

    # NVFP4: no per-tensor scale, fixed float32 scales, and per_tensor_amax_to_scale of the
    # amax of the "normal" blocks and of all finite inputs
    x32 = out["nvfp4_x"].view(np.float32)
    normal = x32.reshape(-1, NV_BLOCK)[out["nvfp4_kind"].reshape(-1) == list(out["nvfp4_kinds"]).index("normal")]
    finite = x32[np.isfinite(x32)]
    ts = {"none": None, "1": 1.0, "0.37": 0.37, "3e-5": 3e-5, "2^20": 2.0**20, "2^-100": 2.0**-100}
    ts_t = {k: (None if v is None else torch.tensor(v, dtype=torch.float32)) for k, v in ts.items()}
    ts_t["amax_normal"] = per_tensor_amax_to_scale(torch.tensor(float(np.abs(normal).max()), dtype=torch.float32))
    ts_t["amax_finite"] = per_tensor_amax_to_scale(torch.tensor(float(np.abs(finite).max()), dtype=torch.float32))
    out["nvfp4_cases"] = np.array(list(ts_t))
    out["nvfp4_tensor_scale"] = np.array([0 if t is None else t.view(torch.int32).item() for t in ts_t.values()],
                                         np.int64).astype(np.uint32)  # bits; 0 = no per-tensor scale
    inputs = {"nvfp4": torch.from_numpy(x32.copy()),
              "nvfp4_bf16": torch.from_numpy(out["nvfp4_bf16_x"].view(np.int16).copy()).view(torch.bfloat16)}
    for src, xt in inputs.items():
        for case, t in ts_t.items():
            s, q = nvfp4_quantize(xt.clone(), NV_BLOCK, t)
            sc = s.view(torch.uint8).numpy().copy()
            el = unpack_uint4(q.view(torch.uint8)).numpy().copy()
            out[f"{src}_{case}_scales"] = sc
            out[f"{src}_{case}_elements"] = el
            # NVFP4Tensor.to_nvfp4 (the tensor subclass) holds the same codes; its dequantize
            nt = NVFP4Tensor.to_nvfp4(xt.clone(), NV_BLOCK, t)
            assert (nt.scale.view(torch.uint8).numpy() == sc).all()
            assert (unpack_uint4(nt.qdata.view(torch.uint8)).numpy() == el).all()
            if src == "nvfp4":
                deq = nt.dequantize(torch.float32).numpy().copy()
                out[f"{src}_{case}_dequant"] = deq.view(np.uint32)
    # reproducibility check: a second run of one case gives the same codes
    s2, _ = to_mx(inputs_mx := torch.from_numpy(out["mx_x"].view(np.float32).copy()), dtypes["fp4_e2m1"], MX_BLOCK,
                  ScaleCalculationMode.RCEIL)
    assert (s2.view(torch.uint8).numpy() == out["mx_fp4_e2m1_rceil_scales"]).all()
    del inputs_mx
    for k, v in out.items():
        assert v.dtype != object, k
    path = HERE / f"torchao_{torchao.__version__}.npz"
    np.savez_compressed(path, **out)
    return path


if __name__ == "__main__":
    p = record()
    d = np.load(p)
    print(f"wrote {p} ({p.stat().st_size} bytes): torch {d['torch_version']}, torchao {d['torchao_version']}, "
          f"{d['mx_x'].size // MX_BLOCK} MX blocks x {len(d['mx_elements'])} dtypes x {len(d['mx_modes'])} modes, "
          f"{d['nvfp4_x'].size // NV_BLOCK} NVFP4 blocks x {len(d['nvfp4_cases'])} per-tensor-scale cases")
