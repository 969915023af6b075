"""The lowbit command line.

``lowbit formats | table | encode | decode | explain | vectors build|verify | check | discover | calibrate``.
Every command's ``--help`` ends with an example; errors print one clear line and exit
with status 2 (never a traceback).  ``lowbit`` with no arguments prints the format table.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

EXIT_MISMATCH, EXIT_ERROR = 1, 2


class CLIError(Exception):
    """A user error: printed as ``lowbit: error: ...``, exit status 2."""


def _cmd_formats(args) -> int:
    from .formats import P3109_REPRESENTATIVE, format_table, p3109_family

    if getattr(args, "p3109", None):
        members = [f.name for f in p3109_family(args.p3109)]
        print(format_table(members, registered=False))
        return 0
    print(format_table(P3109_REPRESENTATIVE))
    return 0


# ---- table / encode / decode ---------------------------------------------------------
def split_fields(code: int, fmt) -> str:
    """The code's bits split into sign, exponent and significand fields: ``0 0111 000``."""
    bits = format(code, f"0{fmt.bits}b")
    if fmt.is_int:
        return bits
    parts = []
    pos = 0
    if fmt.signed:
        parts.append(bits[0])
        pos = 1
    parts.append(bits[pos:pos + fmt.ebits])
    if fmt.mbits:
        parts.append(bits[pos + fmt.ebits:])
    return " ".join(parts)


def _code_line(code: int, fmt, value: float, cls: int) -> str:
    from .formats import CLASS_NAMES
    from .vectors.diagnose import _num

    digits = (fmt.bits + 3) // 4
    return f"{code:#0{digits + 2}x}  {split_fields(code, fmt):>{fmt.bits + 2}}  {_num(value):>24}  {CLASS_NAMES[cls]}"


def _lookup(name):
    from .formats import format as lookup

    return lookup(name)


def _cmd_table(args) -> int:
    fmt = _lookup(args.format)
    if fmt.bits > 16:
        raise CLIError(f"format {fmt.name!r} has {fmt.bits} bits: 'lowbit table' lists formats of up to 16 bits")
    fields = "bits" if fmt.is_int else "sign exponent significand" if fmt.signed else "exponent significand"
    print(f"# {fmt.name}: {fmt.num_codes} codes; code, fields ({fields}), value, class")
    values, classes = fmt.values, fmt.classes
    out = [_code_line(c, fmt, float(values[c]), int(classes[c])) for c in range(fmt.num_codes)]
    print("\n".join(out))
    return 0


def parse_value(text: str) -> float:
    """A decimal, hex-float (0x1.8p3), inf or nan value."""
    t = text.strip()
    try:
        if t.lower().lstrip("+-").startswith("0x"):
            return float.fromhex(t)
        return float(t)
    except ValueError:
        raise CLIError(f"cannot read {text!r} as a number; write a decimal (1.5e-3), a hex float (0x1.8p3), inf or nan") from None


def parse_code(text: str, fmt) -> int:
    t = text.strip().lower()
    try:
        code = int(t, 16) if t.startswith(("0x", "-0x")) else int(t, 0) if t.startswith(("0b", "0o")) else int(t)
    except ValueError:
        raise CLIError(f"cannot read {text!r} as a code; write hex (0x7e), binary (0b01111110) or decimal (126)") from None
    if fmt.is_int and -(1 << (fmt.bits - 1)) <= code < 0:
        code += 1 << fmt.bits
    if not 0 <= code < (1 << fmt.bits):
        raise CLIError(f"code {text} out of range for {fmt.bits}-bit format {fmt.name!r}; allowed: 0x0..{(1 << fmt.bits) - 1:#x}")
    return code


def _cmd_encode(args) -> int:
    from .codec import encode
    from .formats import CLASS_NAMES
    from .vectors.diagnose import _num

    fmt = _lookup(args.format)
    src = {"float64": np.float64, "float32": np.float32, "float16": np.float16}.get(args.source)
    if src is None:
        import ml_dtypes

        src = ml_dtypes.bfloat16
    xs = [parse_value(v) for v in args.values]
    with np.errstate(over="ignore"):
        x = np.array(xs, dtype=np.float64).astype(src)
    kwargs = {k: getattr(args, k) for k in ("rounding", "overflow", "profile", "nan") if getattr(args, k) is not None}
    codes = encode(x, fmt, **kwargs)
    from .codec import decode

    back = decode(codes, fmt)
    for text, xv, c, v in zip(args.values, x, codes, back):
        c = int(c)
        digits = (fmt.bits + 3) // 4
        shown = text if float(xv) == parse_value(text) or np.isnan(xv) else f"{text} (as {args.source}: {_num(float(xv))})"
        cls = CLASS_NAMES[int(fmt.classes[c])] if fmt.bits <= 16 else ""
        print(f"{shown} -> {c:#0{digits + 2}x}  {split_fields(c, fmt)}  = {_num(float(v))}  {cls}".rstrip())
    return 0


def _cmd_decode(args) -> int:
    from .codec import decode
    from .formats import CLASS_NAMES

    fmt = _lookup(args.format)
    codes = [parse_code(c, fmt) for c in args.codes]
    vals = decode(np.array(codes, dtype=np.int64), fmt)
    for c, v in zip(codes, vals):
        if fmt.bits <= 16:
            print(_code_line(c, fmt, float(v), int(fmt.classes[c])))
        else:
            from .vectors.diagnose import _num

            print(f"{c:#0{(fmt.bits + 3) // 4 + 2}x}  {split_fields(c, fmt)}  {_num(float(v))}")
    del CLASS_NAMES
    return 0


# ---- vectors / check -----------------------------------------------------------------
def _cmd_vectors_build(args) -> int:
    import time

    from .vectors.build import build

    t0 = time.monotonic()
    manifest = build(args.out, only=args.only, progress=not args.quiet and sys.stderr.isatty())
    files = manifest["files"]
    written = len(files) if args.only is None else len([p for p in files if _matches(p, args.only)])
    print(f"wrote {written} files to {args.out} in {time.monotonic() - t0:.1f} s"
          + ("" if args.only is not None else f" ({manifest['total_cases']} cases, {manifest['total_bytes'] / 1e6:.1f} MB; "
             f"manifest {args.out}/MANIFEST.json)"))
    return 0


def _matches(path, patterns):
    from fnmatch import fnmatch

    return any(fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def _cmd_vectors_verify(args) -> int:
    from pathlib import Path

    from .vectors.build import verify

    if not Path(args.root).is_dir():
        raise CLIError(f"{args.root}: no such folder (pass the vectors folder: lowbit vectors verify --root vectors)")
    problems = verify(args.root, only=args.only, progress=not args.quiet and sys.stderr.isatty())
    if problems:
        print(f"{args.root}: {len(problems)} differences from a fresh build:")
        for p in problems[:50]:
            print("  " + p)
        if len(problems) > 50:
            print(f"  ... and {len(problems) - 50} more")
        print(f"(if the change is intended: lowbit vectors build --out {args.root})")
        return EXIT_MISMATCH
    print(f"{args.root}: identical to a fresh build")
    return 0


def _parse_params(items) -> dict:
    """``key=value`` pairs of accumulator parameters; values read as Python literals."""
    import ast

    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"--param {item!r}: expected KEY=VALUE, e.g. fast_accum=True")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def _cmd_check_gemm(args) -> int:
    from . import mac
    from .gemm_check import check_gemm

    if len(args.formats) != 2:
        raise CLIError("--gemm needs --formats A_FORMAT B_FORMAT (two names), e.g. --formats e4m3 e4m3")
    params = _parse_params(args.param)
    a, b, c = (_load_npy(path) for path in args.gemm)
    acc = mac.accumulator(args.accumulator, **params)
    device = {} if args.device == "cpu" else {"device": args.device}
    result = check_gemm(a, b, c, args.formats[0], args.formats[1], acc, scale_a=args.scale_a,
                        scale_b=args.scale_b, **device)
    result.accumulator = args.accumulator + "".join(f", {p}" for p in args.param or ())
    print(result.report(limit=args.limit))
    return 0 if result.ok else EXIT_MISMATCH


def _cmd_discover(args) -> int:
    import importlib
    import json

    from .mac import discovery as D
    from .mac.store import save

    if len(args.formats) != 2:
        raise CLIError("--formats needs two names (A's and B's), e.g. --formats bfloat16 bfloat16")
    M, N, K = args.shape
    flags = _parse_params(args.param)
    if args.callable:
        mod, _, fn = args.callable.partition(":")
        if not fn:
            raise CLIError(f"--callable {args.callable!r}: give module:function (a file path also works: path.py:function)")
        if mod.endswith(".py"):
            spec = importlib.util.spec_from_file_location("lowbit_user_gemm", mod)
            if spec is None:
                raise CLIError(f"--callable: cannot load {mod!r}")
            m = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(m)
        else:
            m = importlib.import_module(mod)
        factory = getattr(m, fn, None)
        if factory is None:
            raise CLIError(f"--callable: {mod!r} has no {fn!r}")
        gemm = factory(**flags) if flags else factory
    elif args.gemm:
        from .mac.gemms import build

        gemm = build(args.gemm, args.formats[0], args.formats[1], **flags)
    else:
        raise CLIError("give --gemm OP (torch.matmul, torch._scaled_mm, triton.dot) or --callable module:function")
    acc, rep = D.discover(gemm, args.formats[0], args.formats[1], M=M, N=N, K=K, seed=args.seed, report=True,
                          device=args.device)
    print(rep)
    print(f"accumulator: {acc!r}")
    if args.out:
        save(acc, args.out, gemm=args.gemm or args.callable, params={k: repr(v) for k, v in flags.items()},
             formats=list(args.formats), shape=[M, N, K], calls=rep.calls, seconds=round(rep.seconds, 2),
             log=rep.lines)
        print(f"saved to {args.out} (lowbit.mac.load({json.dumps(str(args.out))}))")
    return 0


def _cmd_calibrate(args) -> int:
    from .mac import calibration as C

    if args.list:
        rows = C.entries(args.preset)
        for e in rows:
            what = "found" if "accumulator" in e else f"not found ({e.get('error', '')[:80]})"
            print(f"{e['preset']}{''.join(f' {k}={v}' for k, v in e['params'].items())} {e['M']}x{e['N']}x{e['K']}: "
                  f"{what}  [{e['gpu']}, {e['versions']}; {e['file']}]")
        print(f"{len(rows)} entries")
        return 0
    if args.sweep:
        from .mac import cublas_rule, sweep

        paths = args.path or list(sweep.PATHS)
        shapes = [tuple(s) for s in args.shape] if args.shape else None
        if args.uncertain is not None:
            if shapes:
                raise CLIError("--uncertain picks its own shapes: give it without --shape")
            if args.uncertain < 1:
                raise CLIError(f"--uncertain {args.uncertain}: give a number of shapes of at least 1")
            pool = sweep.random_shapes(12, 200000)
            for p in paths:
                sweep._check_path(p)
                picked = cublas_rule.uncertain_shapes(cublas_rule.shipped()["rules"][p], pool, args.uncertain)
                print(f"{p}: {len(picked)} shapes where the kernel trees disagree")
                dest = cublas_rule.calibrate_sweep([p], picked)
            print(f"cuBLAS rule written to {dest}")
            return 0
        dest = cublas_rule.calibrate_sweep(paths, shapes)
        print(f"cuBLAS rule written to {dest}")
        return 0
    if not args.preset or not args.shape:
        raise CLIError("give --preset and at least one --shape M N K (or --sweep, or --list)")
    path = C.calibrate(args.preset, [tuple(s) for s in args.shape], _parse_params(args.param), device=args.device,
                       record_outputs=args.held_out)
    print(f"calibration written to {path}")
    return 0


def _load_npy(path):
    import numpy as np

    if not str(path).endswith(".npy"):
        raise CLIError(f"{path}: --gemm takes .npy files (A codes, B codes, the kernel's C)")
    return np.load(path, allow_pickle=False)


def _cmd_check(args) -> int:
    from .vectors.check import check_files

    if args.gemm:
        if args.files:
            raise CLIError("--gemm takes its three .npy files after the flag; give no VECTORS RESULTS with it")
        return _cmd_check_gemm(args)
    if len(args.files) != 2:
        raise CLIError("check needs VECTORS RESULTS (two files), or --gemm A.npy B.npy C.npy")
    args.vectors, args.results = args.files
    result = check_files(args.vectors, args.results)
    print(result.report(limit=args.limit))
    return 0 if result.ok else EXIT_MISMATCH


# ---- parser ----------------------------------------------------------------------------
def _sub(sub, name, help, example, description=None):
    return sub.add_parser(name, help=help, description=description or help, epilog=f"example:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    from .rules import NAN_RULES, OVERFLOWS, ROUNDINGS

    parser = argparse.ArgumentParser(
        prog="lowbit",
        description="Bit-exact reference for low-bit ML number formats.",
        epilog="examples:\n  lowbit formats\n  lowbit encode float8_e4m3fn 1.1 300 --overflow saturate\n"
               "  lowbit vectors verify\n  lowbit check vectors/encode/edges/float8_e4m3fn/nearest_even-saturate.txt results.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = _sub(sub, "formats", "table of every format lowbit knows (and representative IEEE P3109 family members)",
             "lowbit formats\n  lowbit formats --p3109 8      (every P3109 family member up to 8 bits)")
    p.add_argument("--p3109", type=int, nargs="?", const=16, metavar="MAX_K",
                   help="list every IEEE P3109 family member p3109_k{K}p{P}{s|u}{e|f} with K <= MAX_K (default 16)")
    p.set_defaults(func=_cmd_formats)

    p = _sub(sub, "table", "every code of a format: hex, bit fields, value, class", "lowbit table float4_e2m1fn")
    p.add_argument("format", metavar="FMT", help="format name (see lowbit formats)")
    p.set_defaults(func=_cmd_table)

    p = _sub(sub, "encode", "encode values into codes of a format",
             "lowbit encode float8_e4m3fn 1.1 0x1.8p3 500 nan --overflow saturate")
    p.add_argument("format", metavar="FMT", help="format name (see lowbit formats)")
    p.add_argument("values", metavar="VALUE", nargs="+", help="decimal, hex float (0x1.8p3), inf or nan")
    p.add_argument("--rounding", choices=ROUNDINGS[:6], help="rounding rule (default nearest_even)")
    p.add_argument("--overflow", choices=OVERFLOWS, help="overflow rule (default: the format's)")
    p.add_argument("--profile", help="named rule bundle, e.g. ml_dtypes (see lowbit.profiles.PROFILES)")
    p.add_argument("--nan", choices=[n for n in NAN_RULES if n != "error"], help="what a NaN input becomes")
    p.add_argument("--from", dest="source", default="float64", choices=("float64", "float32", "float16", "bfloat16"),
                   help="round each VALUE to this type first, then encode it (default float64)")
    p.set_defaults(func=_cmd_encode)

    p = _sub(sub, "decode", "decode codes of a format into values", "lowbit decode float8_e4m3fn 0x7e 0x7f 0b00111000 56")
    p.add_argument("format", metavar="FMT", help="format name (see lowbit formats)")
    p.add_argument("codes", metavar="CODE", nargs="+", help="hex (0x7e), binary (0b0111), or decimal; negative for integer formats")
    p.set_defaults(func=_cmd_decode)

    _add_explain(sub)

    p = _sub(sub, "vectors", "build or verify the golden test vectors", "lowbit vectors build --out vectors",
             description="build or verify the golden test vectors (see vectors/README.md)")
    vsub = p.add_subparsers(dest="vectors_command", metavar="build|verify", required=True)
    b = _sub(vsub, "build", "write the golden vectors and MANIFEST.json (deterministic: same bytes every time)",
             "lowbit vectors build --out vectors\n  lowbit vectors build --out /tmp/v --only 'encode/edges/float8_e4m3fn/*'")
    b.add_argument("--out", default="vectors", help="output folder (default: vectors)")
    b.add_argument("--only", nargs="+", metavar="PATTERN", help="build only the files whose path matches (glob or folder)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=_cmd_vectors_build)
    v = _sub(vsub, "verify", "rebuild in memory and compare with a vectors folder and its manifest (exit 1 on any difference)",
             "lowbit vectors verify --root vectors")
    v.add_argument("--root", default="vectors", help="the vectors folder (default: vectors)")
    v.add_argument("--only", nargs="+", metavar="PATTERN", help="verify only the files whose path matches (glob or folder)")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    v.set_defaults(func=_cmd_vectors_verify)

    p = _sub(sub, "check", "compare a kernel's results with golden vectors (exit 0 only when all match)",
             "lowbit check vectors/encode/edges/float8_e4m3fn/nearest_even-saturate.txt my_kernel.txt\n"
             "  lowbit check --gemm A.npy B.npy C.npy --formats e4m3 e4m3 --accumulator h100-fp8 --param fast_accum=True",
             description="compare a kernel's results with a golden-vector file. RESULTS is text in the vectors' "
                         "line format (input then output words, hex, any order), one hex output per line in the "
                         "golden order, or a .npy array with one element per case. Mismatches are listed with "
                         "decoded values and the profiles / rules that give the kernel's answer.")
    p.add_argument("files", nargs="*", metavar="VECTORS RESULTS",
                   help="a golden-vector file and the kernel's results (.txt or .npy)")
    p.add_argument("--limit", type=int, default=20, help="mismatches to list (default 20)")
    g = p.add_argument_group("full-size GEMM output (instead of VECTORS RESULTS)")
    g.add_argument("--gemm", nargs=3, metavar=("A.npy", "B.npy", "C.npy"),
                   help="operand codes (M×K, K×N) and the kernel's output C (float32, bfloat16 or float16)")
    g.add_argument("--formats", nargs="+", default=[], metavar="FMT", help="the formats of A and B")
    g.add_argument("--accumulator", default="h100-fp8", help="accumulator or preset name (default h100-fp8)")
    g.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="accumulator parameter, repeatable (e.g. fast_accum=True, block_k=64)")
    g.add_argument("--scale-a", type=float, default=1.0)
    g.add_argument("--scale-b", type=float, default=1.0)
    g.add_argument("--device", default="cpu", help="where lowbit computes the model: cpu or cuda")
    p.set_defaults(func=_cmd_check)

    p = _sub(sub, "discover", "derive a GEMM's bit-exact accumulator by probing it (lowbit.mac.discover)",
             "lowbit discover --gemm torch.matmul --formats bfloat16 bfloat16 --shape 64 64 4096 --out bf16.json\n"
             "  lowbit discover --gemm torch._scaled_mm --formats e4m3 e4m3 --shape 64 64 4096 --param fast_accum=True\n"
             "  lowbit discover --gemm triton.dot --formats float16 float16 --shape 64 64 256 --param block_k=64\n"
             "  lowbit discover --callable my_kernels.py:gemm --formats e4m3 e4m3 --shape 128 128 1024",
             description="send crafted operands to a GEMM at one shape, read its unit (block, grid, roundings, "
                         "sum width) and schedule (steps, split-K slices, promotion, reduction order) from the bits, "
                         "confirm on random operands and print the accumulator; --out saves it as JSON for "
                         "lowbit.mac.load. Built-in GEMMs (--gemm) need torch (and Triton) on a CUDA GPU; "
                         "--callable takes any Python gemm(A, B) -> float32 numpy C on code arrays.")
    p.add_argument("--gemm", help="torch.matmul, torch._scaled_mm or triton.dot")
    p.add_argument("--callable", help="module:function or path.py:function: the GEMM itself (with --param: a "
                                      "factory called with the parameters)")
    p.add_argument("--formats", nargs="+", default=[], metavar="FMT", help="the formats of A and B")
    p.add_argument("--shape", nargs=3, type=int, required=True, metavar=("M", "N", "K"))
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="the GEMM's knobs, repeatable (fast_accum=True, block_k=64, allow_tf32=True)")
    p.add_argument("--out", help="save the accumulator here (JSON)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random confirmation operands")
    p.add_argument("--device", default="cpu", help="where lowbit computes its candidates: cpu or cuda")
    p.set_defaults(func=_cmd_discover)

    p = _sub(sub, "calibrate", "record cuBLAS's per-shape schedule on this GPU into the user cache the presets read",
             "lowbit calibrate --preset h100-bf16 --shape 128 4096 4096 --shape 1 4096 14336\n"
             "  lowbit calibrate --preset h100-fp8 --param fast_accum=True --shape 256 1024 8192\n"
             "  lowbit calibrate --sweep --path bf16-f32 --path tf32\n"
             "  lowbit calibrate --sweep --path bf16-f32 --uncertain 2000\n"
             "  lowbit calibrate --list",
             description="run lowbit discover on the preset's library GEMM (h100-bf16, h100-fp16: torch.matmul; "
                         "h100-tf32: torch.matmul with allow_tf32; h100-fp8: torch._scaled_mm) at each shape and "
                         "store the schedules in $LOWBIT_CACHE or ~/.cache/lowbit/calibration/<gpu>.json, keyed by "
                         "the GPU and library versions; lowbit.matmul with that preset then reproduces those shapes. "
                         "Needs torch on a CUDA GPU (SM90 for the h100 presets).")
    p.add_argument("--preset", choices=("h100-bf16", "h100-fp16", "h100-tf32", "h100-fp8"))
    p.add_argument("--shape", nargs=3, type=int, action="append", metavar=("M", "N", "K"))
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="fast_accum=True for h100-fp8")
    p.add_argument("--device", default="cpu", help="where lowbit checks its candidates: cpu or cuda")
    p.add_argument("--held-out", type=int, default=0, metavar="N",
                   help="also record an N×N corner of the GEMM on seeded random operands (held-out checks)")
    p.add_argument("--list", action="store_true", help="list the calibrations lowbit reads (cache, then shipped)")
    p.add_argument("--sweep", action="store_true",
                   help="record the kernel cuBLAS runs (with output samples) for each --path: at the --shape "
                        "shapes, each kept if its family's walk reproduces its outputs; or, without --shape, at a "
                        "whole sweep (grid, 2000 random and the LLM shapes) fitted from scratch with 400 random "
                        "shapes held out and measured; written to the user cache (cublas/<gpu>.json.gz), which "
                        "the presets read first")
    p.add_argument("--uncertain", type=int, metavar="N",
                   help="with --sweep: per --path, the N shapes (of 200,000 random ones) where the rule's kernel "
                        "trees disagree (lowbit.mac.cublas_rule.uncertain_shapes), recorded and kept as with "
                        "--shape: new rows where the rule is least sure")
    p.add_argument("--path", action="append", metavar="PATH",
                   help="with --sweep: a GEMM path of lowbit.mac.sweep.PATHS (bf16-f32, bf16-rpr, tf32, fp8-fast, "
                        "...; default all)")
    p.set_defaults(func=_cmd_calibrate)
    return parser


def _add_explain(sub) -> None:
    """``lowbit explain``: provided by :mod:`lowbit.explanation` (``add_cli(subparsers)``)."""
    from .explanation import add_cli

    add_cli(sub)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        return _cmd_formats(args)
    try:
        return args.func(args)
    except BrokenPipeError:  # output piped into e.g. `head`, which closed it: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keep the interpreter's final flush quiet
        return 0
    except (CLIError, ValueError, TypeError, OSError) as e:  # VectorFormatError is a ValueError
        print(f"lowbit: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("lowbit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
