"""Fit the cuBLAS rule from the sweeps' recordings and measure it on held-out shapes.

PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py RECORDS OUT [PATH ...]   (OUT/<path>.fit.json)
PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py --assemble RECORDS OUT   (the package data)

RECORDS holds run.py's <path>.json.gz + meta.json (grid, 2000 random, LLM shapes, with output
samples) and run2.py's <path>.dense.json.gz + meta2.json (24,000 random shapes, kernels only).
1. Each kernel family's walk is fitted on run.py's samples (lowbit.mac.cublas_rule.fit_path, what
   `lowbit calibrate --sweep` runs), the 400 shapes of random_shapes(2, 400) held out;
2. the rule's table takes every recorded shape but the held-out ones (run2's dense shapes with
   the walk of their kernel's family);
3. both held-out sets are reproduced from the rule alone: random_shapes(2, 400) (recorded with the
   fitting data) and random_shapes(3, 400) (recorded by run2.py after the walks were fitted).
"""
import json
import sys
import time
from pathlib import Path

from lowbit.mac import cublas_rule as cr


def table(fits) -> str:
    """The README's table: per path, held-out shapes reproduced by the rule and by their own kernel."""
    lines = ["| path | held out (seed 2): rule | own kernel | fresh (seed 3): rule | own kernel | walk unknown |",
             "| --- | --- | --- | --- | --- | --- |"]
    for p, d in sorted(fits.items()):
        h, f = d["held_out"], d.get("fresh_held_out", {})
        lines.append(f"| {p} | {h['predicted']}/{h['shapes']} | {h['own_kernel']}/{h['shapes']} | "
                     f"{f.get('predicted')}/{f.get('shapes')} | {f.get('own_kernel')}/{f.get('shapes')} | "
                     f"{h['unknown_family']} + {f.get('unknown_family')} |")
    return "\n".join(lines)


def main():
    if sys.argv[1] == "--assemble":
        records, out = Path(sys.argv[2]), Path(sys.argv[3])
        meta = json.loads((records / "meta.json").read_text())
        fits = {}
        for f in sorted(out.glob("*.fit.json")):
            d = json.loads(f.read_text())
            fits[d.pop("path")] = d
        dest = cr.write(cr.document(meta, fits), cr.SHIPPED / "nvidia-h200.json.gz")
        print(dest, dest.stat().st_size)
        print(table(fits))
        return
    records, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    meta = json.loads((records / "meta.json").read_text())
    meta2 = json.loads((records / "meta2.json").read_text())
    held = set(range(*meta["sets"]["held_out"]))
    fresh = set(range(*meta2["sets"]["fresh_held_out"]))
    for path in sys.argv[3:]:
        t = time.time()
        rec = cr.load_record(records / f"{path}.json.gz")
        dense = cr.load_record(records / f"{path}.dense.json.gz")
        prior = out / f"{path}.fit.json"
        d = {}
        if prior.exists():  # walks fitted already: only re-assemble the table and re-measure
            d = json.loads(prior.read_text())
            fitted = {"families": d["families"], "schedules": d.get("schedules", {})}
        else:
            fitted = cr.fit(rec, exclude=held)
        base = cr.build_rule(rec, fitted) if fitted["schedules"] else cr.rule_from_dict(path, d["rule"])
        base = cr.Rule(path, base.walks, base.families, base.table[base.table[:, 0] > 0])
        rule = cr.extend_rule(base, dense, fitted["families"], exclude=fresh)
        d = {"path": path, "families": fitted["families"], "schedules": fitted["schedules"],
             "rule": cr.rule_to_dict(rule),
             "held_out": cr.held_out(rec, rule, sorted(held), fitted),
             "fresh_held_out": cr.held_out(dense, rule, sorted(fresh), fitted)}
        d["seconds"] = round(time.time() - t, 1)
        prior.write_text(json.dumps(d) + "\n")
        for key in ("held_out", "fresh_held_out"):
            h = d[key]
            print(f"{path} {key}: {h['predicted']}/{h['shapes']} by the rule, {h['own_kernel']}/{h['shapes']} by "
                  f"their own kernel, {h['unknown_family']} of an unknown family ({d['seconds']} s)", flush=True)


if __name__ == "__main__":
    main()
