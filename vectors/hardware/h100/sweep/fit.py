"""Fit the cuBLAS rule from the sweeps' recordings and measure it on held-out shapes.

PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py RECORDS OUT [PATH ...]   (OUT/<path>.fit.json)
PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py --assemble RECORDS OUT   (the package data)

RECORDS holds run.py's <path>.json.gz + meta.json (grid, 2000 random, LLM shapes, with output
samples) and run2.py's <path>.dense.json.gz + meta2.json (24,000 random shapes, kernels only).
1. Each kernel family's walk is fitted on run.py's samples (lowbit.mac.cublas_rule.fit_path, what
   `lowbit calibrate --sweep` runs), the 400 shapes of random_shapes(2, 400) held out;
2. the rule's table takes every recorded shape but the held-out ones (run2's dense shapes with
   the walk of their kernel's family);
3. the held-out sets are reproduced from the rule alone: random_shapes(2, 400) (recorded with the
   fitting data), random_shapes(3, 400) (recorded by run2.py after the walks were fitted) and,
   where run3.py's <path>.seed4.json.gz is there, random_shapes(4, 800) (recorded after the split
   model, designed looking at the first two, was fixed: the unbiased measure).
A prior OUT/<path>.fit.json keeps its fitted walks; only the table and the measures are redone
(its rows' kernels relabelled from the records, relabel()).
"""
import json
import sys
import time
from pathlib import Path

from lowbit.mac import cublas_rule as cr


def table(fits) -> str:
    """The README's table: per path, held-out shapes reproduced by the rule and by their own kernel."""
    sets = ("held_out", "fresh_held_out", "untouched_held_out")
    lines = ["| path | seed 2: rule | own kernel | seed 3: rule | own kernel | seed 4: rule | own kernel | walk unknown |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    total = {k: [0, 0, 0] for k in sets}
    for p, d in sorted(fits.items()):
        cells, unknown = [], []
        for k in sets:
            h = d.get(k, {"predicted": 0, "own_kernel": 0, "shapes": 0, "unknown_family": 0})
            cells += [f"{h['predicted']}/{h['shapes']}", f"{h['own_kernel']}/{h['shapes']}"]
            unknown.append(str(h["unknown_family"]))
            total[k] = [total[k][0] + h["predicted"], total[k][1] + h["own_kernel"], total[k][2] + h["shapes"]]
        lines.append(f"| {p} | {' | '.join(cells)} | {' + '.join(unknown)} |")
    cells = [f"{t[i]}/{t[2]}" for k in sets for t in [total[k]] for i in (0, 1)]
    lines.append(f"| all | {' | '.join(cells)} | |")
    return "\n".join(lines)


def relabel(rule, *records):
    """A prior fit's rule (its rows' walks, splits and granules, fitted on the samples) with each
    row's kernel labelled as the rule now labels it (cr.kernel_label: family and tile geometry),
    from the record's launches: the walks need no refit."""
    where = {tuple(s): ks for rec in reversed(records) for s, ks in zip(rec["shapes"], rec["kernels"])}
    fams, table = [], rule.table.copy()
    for r in table:
        r[5] = cr._index(fams, cr.kernel_label(where[tuple(r[:3].tolist())], *r[:3].tolist()))
    return cr.Rule(rule.path, rule.walks, tuple(fams), table)


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
        base = cr.build_rule(rec, fitted) if fitted["schedules"] else relabel(cr.rule_from_dict(path, d["rule"]), rec, dense)
        base = cr.Rule(path, base.walks, base.families, base.table[base.table[:, 0] > 0])
        rule = cr.extend_rule(base, dense, fitted["families"], exclude=fresh)
        dense2 = records / f"{path}.dense2.json.gz"
        if dense2.exists():  # run4.py's second cover; no shape of a held-out set enters the table
            more = cr.load_record(dense2)
            heldout = {tuple(rec["shapes"][i]) for i in held} | {tuple(dense["shapes"][i]) for i in fresh}
            untouched = records / f"{path}.seed4.json.gz"
            if untouched.exists():
                heldout |= {tuple(s) for s in cr.load_record(untouched)["shapes"]}
            rule = cr.extend_rule(rule, more, fitted["families"],
                                  exclude={i for i, s in enumerate(more["shapes"]) if tuple(s) in heldout})
        d = {"path": path, "families": fitted["families"], "schedules": fitted["schedules"],
             "rule": cr.rule_to_dict(rule),
             "held_out": cr.held_out(rec, rule, sorted(held), fitted),
             "fresh_held_out": cr.held_out(dense, rule, sorted(fresh), fitted)}
        untouched = records / f"{path}.seed4.json.gz"
        if untouched.exists():  # run3.py's: recorded after the split model was designed
            seed4 = cr.load_record(untouched)
            d["untouched_held_out"] = cr.held_out(seed4, rule, range(len(seed4["shapes"])), fitted)
        d["seconds"] = round(time.time() - t, 1)
        prior.write_text(json.dumps(d) + "\n")
        for key in ("held_out", "fresh_held_out", "untouched_held_out"):
            if key not in d:
                continue
            h = d[key]
            print(f"{path} {key}: {h['predicted']}/{h['shapes']} by the rule, {h['own_kernel']}/{h['shapes']} by "
                  f"their own kernel, {h['unknown_family']} of an unknown family ({d['seconds']} s)", flush=True)


if __name__ == "__main__":
    main()
