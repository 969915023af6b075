"""Record ml_dtypes' casts on inputs.npz; group recordings of several versions into eras.

Needs only numpy and ml_dtypes (it does not import lowbit).  Two commands:

    python record.py record --out rec-0.7.0.npz [--inputs inputs.npz]
        In a venv holding one ml_dtypes version: for every target in inputs.npz that this
        ml_dtypes (or numpy: float16, float32, int8) has as a dtype, and every source
        (float16, bfloat16: all 2^16 bit patterns, generated here; float32, float64: the edge
        sets of inputs.npz; same-dtype casts, which copy, are left out), the
        codes of ``x.astype(dtype)``; and the decode direction: every code of every target
        ``.astype(np.float32)`` and ``.astype(np.float64)``, as bit patterns.

    python record.py eras rec-*.npz [--outdir DIR]
        Group consecutive versions whose arrays are identical wherever both made the cast
        (ml_dtypes 0.5.0-0.5.3 refuse bfloat16 -> int2/int4) into eras and write one
        ``ml_dtypes_<first version>.npz`` per era into DIR (default: beside this script),
        with the versions of the era as metadata; print every difference between
        consecutive eras (a markdown list, for README.md).

Arrays of a recording (and of an era file):
  ``enc__<source>__<target>``: uint8 codes (uint16 for float16/bfloat16, uint32 for float32
      targets), one per input of ``<source>`` in inputs.npz.  Codes of formats narrower than
      a byte are the low bits (int4 -1 is 0xF); integer targets are two's complement codes.
  ``dec__<target>__float32`` (uint32), ``dec__<target>__float64`` (uint64): the bit patterns
      of every code 0 … 2^bits − 1 decoded (targets of up to 16 bits).
  ``versions``, ``numpy_versions``: the ml_dtypes / numpy versions recorded (era files: all
      versions of the era, oldest first); ``targets``: the targets recorded; ``refused`` (era
      files): "version: source -> target" for each cast a version of the era refuses;
      ``inputs_sha256``: sha256 of the inputs file's arrays (see ``inputs_digest``).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCES = ("float16", "bfloat16", "float32", "float64")
UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
NUMPY_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64, "int8": np.int8}


def inputs_digest(inputs) -> str:
    """sha256 over the inputs' arrays (name, dtype, shape, bytes), independent of zip metadata."""
    h = hashlib.sha256()
    for k in sorted(inputs.files if hasattr(inputs, "files") else inputs):
        a = np.asarray(inputs[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes() if a.dtype.kind != "U" else "\0".join(a.tolist()).encode())
    return h.hexdigest()


def _dtype(name: str):
    import ml_dtypes

    if hasattr(ml_dtypes, name):
        return np.dtype(getattr(ml_dtypes, name))
    if name in NUMPY_DTYPES:
        return np.dtype(NUMPY_DTYPES[name])
    return None


def source_bits(inputs, src: str) -> np.ndarray:
    """The inputs of one source as bit patterns: float16/bfloat16 every 16-bit pattern."""
    if src in ("float16", "bfloat16"):
        return np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    return np.asarray(inputs[src])


def source_values(inputs, src: str) -> np.ndarray:
    return source_bits(inputs, src).view(_dtype(src))


def codes_of(values: np.ndarray, dt: np.dtype, bits: int) -> np.ndarray:
    codes = values.view(UINT[dt.itemsize])
    if bits < 8 * dt.itemsize:  # int2/int4 and float4/float6 live in a byte
        codes = codes & np.array((1 << bits) - 1, dtype=codes.dtype)
    return codes


def from_codes(codes: np.ndarray, name: str, dt: np.dtype, bits: int) -> np.ndarray:
    """Values of the given codes of a target (integers: two's complement of ``bits`` bits)."""
    if name.startswith("int"):
        c = codes.astype(np.int64)
        signed = c - ((c >> (bits - 1)) << bits)
        return signed.astype(dt)
    return codes.astype(UINT[dt.itemsize]).view(dt)


def record(inputs_path: Path, out: Path) -> None:
    import ml_dtypes

    inputs = np.load(inputs_path)
    targets = [str(t) for t in inputs["targets"]]
    widths = dict(zip(targets, (int(b) for b in inputs["target_bits"])))
    arrays: dict[str, np.ndarray] = {}
    done = []
    for name in targets:
        dt = _dtype(name)
        if dt is None:
            print(f"ml_dtypes {ml_dtypes.__version__} has no {name}: skipped", file=sys.stderr)
            continue
        done.append(name)
        bits = widths[name]
        for src in SOURCES:
            if src == name:  # a same-dtype astype is a copy, not a conversion
                continue
            x = source_values(inputs, src)
            try:
                with np.errstate(all="ignore"):
                    y = x.astype(dt)
            except TypeError as e:  # e.g. ml_dtypes 0.5 has no bfloat16 -> int4 cast
                print(f"ml_dtypes {ml_dtypes.__version__}: {src} -> {name}: {e}", file=sys.stderr)
                continue
            arrays[f"enc__{src}__{name}"] = codes_of(y, dt, bits)
        if bits > 16:  # float32: no decode table (2^32 codes); numpy's widening
            continue
        codes = np.arange(1 << bits, dtype=np.uint64)
        vals = from_codes(codes, name, dt, bits)
        with np.errstate(all="ignore"):
            arrays[f"dec__{name}__float32"] = vals.astype(np.float32).view(np.uint32)
            arrays[f"dec__{name}__float64"] = vals.astype(np.float64).view(np.uint64)
    arrays["versions"] = np.array([ml_dtypes.__version__])
    arrays["numpy_versions"] = np.array([np.__version__])
    arrays["targets"] = np.array(done)
    arrays["inputs_sha256"] = np.array(inputs_digest(inputs))
    np.savez_compressed(out, **arrays)
    print(f"ml_dtypes {ml_dtypes.__version__}, numpy {np.__version__}: {len(done)} targets -> {out}")


# ---------------------------------------------------------------------------------------
# eras
# ---------------------------------------------------------------------------------------
META = ("versions", "numpy_versions", "targets", "inputs_sha256", "refused")


def _vkey(v: str) -> tuple:
    return tuple(int(p) if p.isdigit() else 0 for p in v.split(".")[:3])


def era_name(versions: list[str], all_versions: list[str]) -> str:
    """``ml_dtypes_<major.minor>`` when the era holds the first recorded release of that
    minor series, else ``ml_dtypes_<first version>``."""
    first = versions[0]
    mm = ".".join(first.split(".")[:2])
    series = [v for v in all_versions if v.startswith(mm + ".")]
    return f"ml_dtypes_{mm}" if series and series[0] == first else f"ml_dtypes_{first}"


def _data(rec) -> dict[str, np.ndarray]:
    return {k: rec[k] for k in rec.files if k not in META}


def _same(a: dict, b: dict) -> bool:
    """Identical wherever both recorded a cast (a version may refuse a cast another makes)."""
    return all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a.keys() & b.keys())


def _fmt_in(src: str, bits) -> str:
    b = int(bits)
    width = {"float16": 4, "bfloat16": 4, "float32": 8, "float64": 16}[src]
    return f"0x{b:0{width}X}"


def describe(old: dict, new: dict, inputs, old_name: str, new_name: str, limit: int = 3, pairs_shown: int = 6) -> list[str]:
    """Markdown lines listing every array element that differs between two eras."""
    lines = []
    for k in sorted(set(old) | set(new)):
        if k not in old or k not in new:
            lines.append(f"- `{k}`: only in {new_name if k in new else old_name}")
            continue
        a, b = old[k], new[k]
        if np.array_equal(a, b):
            continue
        bad = np.flatnonzero(a != b)
        kind, p, q = k.split("__")
        if kind == "enc":
            src_bits = source_bits(inputs, p)
            with np.errstate(all="ignore"):
                vals = src_bits.view(_np_view(p)).astype(np.float64)
            pairs: dict[tuple[int, int], list[int]] = {}
            for i in bad:
                pairs.setdefault((int(a[i]), int(b[i])), []).append(int(i))
            lines.append(f"- `{q}` from `{p}`: {bad.size} inputs differ")
            ordered = sorted(pairs.items(), key=lambda t: (-len(t[1]), t[0]))
            for (ca, cb), idx in ordered[:pairs_shown]:
                ex = ", ".join(f"{float(vals[i])!r} ({_fmt_in(p, src_bits[i])})" for i in idx[:limit])
                more = f" … ({len(idx)} inputs)" if len(idx) > limit else ""
                lines.append(f"  - 0x{ca:X} → 0x{cb:X}: {ex}{more}")
            if len(ordered) > pairs_shown:
                lines.append(f"  - … and {len(ordered) - pairs_shown} more (old → new) code pairs")
        else:
            lines.append(f"- decode `{p}` → `{q}`: {bad.size} codes differ: "
                         + ", ".join(f"0x{int(i):X}: 0x{int(a[i]):X} → 0x{int(b[i]):X}" for i in bad[:limit]))
    return lines


def _np_view(src: str):
    if src == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return NUMPY_DTYPES[src]


def eras(paths: list[Path], outdir: Path, inputs_path: Path) -> None:
    inputs = np.load(inputs_path)
    recs = sorted((np.load(p) for p in paths), key=lambda r: _vkey(str(r["versions"][0])))
    digest = inputs_digest(inputs)
    for r in recs:
        if str(r["inputs_sha256"]) != digest:
            raise SystemExit(f"recording of {r['versions'][0]} was made on other inputs")
    all_versions = [str(r["versions"][0]) for r in recs]
    groups: list[list] = []
    for r in recs:
        if groups and all(_same(_data(g), _data(r)) for g in groups[-1]):
            groups[-1].append(r)
        else:
            groups.append([r])
    previous = None
    for g in groups:
        versions = [str(r["versions"][0]) for r in g]
        name = era_name(versions, all_versions)
        data: dict[str, np.ndarray] = {}
        for r in g:  # the union: a cast one version refuses is recorded from another
            for k, v in _data(r).items():
                data.setdefault(k, v)
        refused = [f"{str(r['versions'][0])}: {k.split('__')[1]} -> {k.split('__')[2]}"
                   for r in g for k in sorted(data) if k not in r.files]
        out = outdir / f"{name}.npz"
        np.savez_compressed(out, **data, versions=np.array(versions),
                            numpy_versions=np.array([str(r["numpy_versions"][0]) for r in g]),
                            targets=g[0]["targets"], inputs_sha256=np.array(digest),
                            refused=np.array(refused, dtype=str))
        print(f"## {name}: ml_dtypes {', '.join(versions)} -> {out.name} ({out.stat().st_size} bytes)")
        for line in refused:
            print(f"- refused (TypeError) in {line}")
        if previous is not None:
            pname, pdata = previous
            print(f"\n### {pname} → {name}\n")
            print("\n".join(describe(pdata, data, inputs, pname, name)))
        print()
        previous = (name, data)
    compact([outdir / f"{era_name([str(r['versions'][0]) for r in g], all_versions)}.npz" for g in groups])


# Older eras are stored as differences from the newest (the repository travels to the GPU
# machine under 64 MiB): ``delta_base`` names the newest era's file; an array equal to the
# base's is left out, one that differs in a few places is ``idx__<key>`` (positions) and
# ``val__<key>`` (its values there); :func:`load_era` rebuilds every array.
def compact(paths: list[Path]) -> None:
    base_path = paths[-1]
    base = np.load(base_path)
    for path in paths[:-1]:
        full = dict(np.load(path))
        absent = [k for k in base.files if k.startswith(("enc__", "dec__")) and k not in full]
        out: dict[str, np.ndarray] = {"delta_base": np.array(base_path.stem), "absent": np.array(absent, dtype=str)}
        for k, v in full.items():
            if k.startswith(("enc__", "dec__")) and k in base.files and base[k].shape == v.shape \
                    and base[k].dtype == v.dtype:
                diff = np.flatnonzero(v.view(f"u{v.dtype.itemsize}") != base[k].view(f"u{v.dtype.itemsize}"))
                if diff.size:
                    out[f"idx__{k}"] = diff.astype(np.uint32)
                    out[f"val__{k}"] = v[diff]
            else:
                out[k] = v
        np.savez_compressed(path, **out)
        assert all(np.array_equal(a.view(f"u{a.dtype.itemsize}"), full[k].view(f"u{a.dtype.itemsize}"))
                   if a.dtype.kind in "uif" else np.array_equal(a, full[k]) for k, a in load_era(path).items())


def load_era(path: Path) -> dict[str, np.ndarray]:
    """Every array of an era file, a delta file's rebuilt from its base (see :func:`compact`)."""
    d = np.load(path)
    if "delta_base" not in d.files:
        return {k: d[k] for k in d.files}
    base = load_era(Path(path).parent / f"{d['delta_base']}.npz")
    absent = {str(k) for k in d["absent"]}
    out = {k: d[k] for k in d.files if not k.startswith(("idx__", "val__")) and k not in ("delta_base", "absent")}
    for k, v in base.items():
        if k.startswith(("enc__", "dec__")) and k not in absent:
            v = v.copy()
            if f"idx__{k}" in d.files:
                v[d[f"idx__{k}"]] = d[f"val__{k}"]
            out[k] = v
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--inputs", type=Path, default=HERE / "inputs.npz")
    r.add_argument("--out", type=Path, required=True)
    e = sub.add_parser("eras")
    e.add_argument("recordings", type=Path, nargs="+")
    e.add_argument("--inputs", type=Path, default=HERE / "inputs.npz")
    e.add_argument("--outdir", type=Path, default=HERE)
    a = ap.parse_args(argv)
    if a.cmd == "record":
        record(a.inputs, a.out)
    else:
        eras(a.recordings, a.outdir, a.inputs)


if __name__ == "__main__":
    main()
