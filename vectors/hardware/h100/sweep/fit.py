"""Fit the cuBLAS rule from the sweeps' recordings and measure it on held-out shapes.

PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py RECORDS OUT [PATH ...]   (OUT/<path>.fit.json)
PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py --assemble RECORDS OUT   (the package data)
PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py --family-shapes RECORDS OUT   (run7.py's shapes)
PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py --remeasure RECORDS OUT PATH ...   (the held-out sets
    measured again with OUT's rules, after a change to the lookup alone)
PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py --run10-shapes RECORDS   (run10.py's: families without a walk,
    and the active cover where the shipped kernel trees disagree)
PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py --extend RECORDS OUT [PATH ...]   (the shipped rule with
    its walks as they are, its table extended by the covers of COVERS it lacks (stop 23: run11.py's
    dense6; stop 24: run12.py's dense7), its kernel tree regrown and every held-out set measured: OUT/<path>.fit.json for --assemble)
PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py --streamk RECORDS OUT [PATH ...]   (the shipped rule with its
    stream-K launches of fewer CTAs than output tiles planned (stop 25, cr.StreamK: the grid's CTAs from the
    launch, the pieces from its samples where sampled), a stream-K family without a walk given the one its
    samples take, the kernel tree regrown and every held-out set measured: OUT/<path>.fit.json for --assemble;
    default paths tf32 and fp16-acc16)
PYTHONPATH=. python vectors/hardware/h100/sweep/fit.py --refresh RECORDS OUT [PATH ...]   (the shipped rule's
    walks regranuled on every training shape and, for a float16/bfloat16 output, borrowed from
    the float32 path refreshed before it (name those first), its table extended by the covers
    recorded since (COVERS: rows taking their kernel family's walk, no held-out shape), its
    kernel trees grown and every held-out set measured again: OUT/<path>.fit.json for --assemble)

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
    names = {"held_out": "seed 2", "fresh_held_out": "seed 3", "llm_held_out": "LLM",
             **{key: f"seed {suffix[4:]}" for key, suffix in UNTOUCHED}}
    lines = ["| path | " + " | ".join(f"{names[k]}: rule | own kernel" for k in SETS) + " | walk unknown |",
             "| --- |" + " --- | --- |" * len(SETS) + " --- |"]
    total = {k: [0, 0, 0] for k in SETS}
    for p, d in sorted(fits.items()):
        cells, unknown = [], []
        for k in SETS:
            h = d.get(k, {"predicted": 0, "own_kernel": 0, "shapes": 0, "unknown_family": 0})
            cells += [f"{h['predicted']}/{h['shapes']}", f"{h['own_kernel']}/{h['shapes']}"]
            unknown.append(str(h["unknown_family"]))
            total[k] = [total[k][0] + h["predicted"], total[k][1] + h["own_kernel"], total[k][2] + h["shapes"]]
        lines.append(f"| {p} | {' | '.join(cells)} | {' + '.join(unknown)} |")
    cells = [f"{t[i]}/{t[2]}" for k in SETS for t in [total[k]] for i in (0, 1)]
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


def family_shapes(records: Path, fits: Path | None, per_family: int = 24,
                  suffixes=("dense", "dense2", "dense3", "llm", "seed4", "seed5")) -> dict:
    """Per path, up to ``per_family`` recorded shapes (spread over each family's sorted shapes) of
    every kernel family without a walk in the fits in ``fits`` (None: the shipped rule's) — met
    only by kernels-only covers, or fitted on too few samples — for run7.py / run10.py to record
    with output samples.  run7.py's list (family_shapes.json) was drawn from ``suffixes`` as
    they default, held-out seeds 4 and 5 included; run10.py's (family_shapes2.json) from the
    kernels-only covers alone."""
    import numpy as np

    out = {}
    if fits is None:
        doc = cr.shipped()
        known = {p: doc["families"][p] for p in doc["rules"]}
    else:
        known = {d["path"]: d["families"] for d in (json.loads(f.read_text()) for f in sorted(fits.glob("*.fit.json")))}
    for path, fams in sorted(known.items()):
        by = {}
        for suffix in suffixes:
            f = records / f"{path}.{suffix}.json.gz"
            if not f.exists():
                continue
            r = cr.load_record(f)
            for i, (M, N, K) in enumerate(r["shapes"]):
                dd = cr.describe(r["kernels"][i], M, N, K)
                if dd and not (fams.get(dd[0]) or {}).get("walk"):
                    by.setdefault(dd[0], set()).add((M, N, K))
        shapes = set()
        for fam, ss in sorted(by.items()):
            ss = sorted(ss)
            shapes |= {ss[int(j)] for j in np.unique(np.linspace(0, len(ss) - 1, min(per_family, len(ss))).round())}
        out[path] = sorted(shapes)
    return out


HELD_LISTS = (("random", 2, 400), ("random", 3, 400), ("random", 4, 800), ("random", 5, 800), ("random", 6, 800),
              ("random", 7, 40), ("random", 8, 800), ("random", 9, 800),
              ("llm", 11, 400))  # every held-out set and predict_check.py's shapes


def held_lists() -> set:
    """Every shape of HELD_LISTS."""
    from lowbit.mac import sweep

    held = set()
    for kind, seed, n in HELD_LISTS:
        held |= {tuple(x) for x in (sweep.random_shapes(seed, n) if kind == "random" else sweep.llm_random_shapes(seed, n))}
    return held


def active_shapes(per_path: int = 40000, pool: int = 200000) -> dict:
    """run10.py's active cover: per float path, ``per_path`` shapes where the shipped rule's
    kernel trees disagree (cr.uncertain_shapes), half from a pool of random_shapes(12, pool)
    (users' shapes, as the held-out sets), half from dense_shapes(13, pool) (decode and prefill
    too); no held-out shape."""
    from lowbit.mac import sweep

    held = held_lists()
    doc = cr.shipped()
    out = {}
    for path in sweep.FLOAT_PATHS:
        rule = doc["rules"][path]
        part = cr.uncertain_shapes(rule, sweep.random_shapes(12, pool), per_path // 2, exclude=held)
        rest = cr.uncertain_shapes(rule, sweep.dense_shapes(13, pool), per_path, exclude=held | set(part))
        out[path] = [list(s) for s in part + rest[:per_path - len(part)]]
    return out


def main():
    if sys.argv[1] == "--family-shapes":  # RECORDS FITS: writes family_shapes.json beside this file
        doc = family_shapes(Path(sys.argv[2]), Path(sys.argv[3]))
        (Path(__file__).resolve().parent / "family_shapes.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        print({p: len(v) for p, v in doc.items()})
        return
    if sys.argv[1] == "--run10-shapes":  # RECORDS: family_shapes2.json and active_shapes.json.gz for run10.py
        import gzip

        here = Path(__file__).resolve().parent
        doc = family_shapes(Path(sys.argv[2]), None, suffixes=("dense", "dense2", "dense3", "dense4", "dense5", "llm"))
        held = held_lists()
        doc = {p: [s for s in v if tuple(s) not in held] for p, v in doc.items()}
        (here / "family_shapes2.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        print({p: len(v) for p, v in doc.items()})
        act = active_shapes()
        with gzip.GzipFile(here / "active_shapes.json.gz", "wb", mtime=0) as f:
            f.write((json.dumps(act, separators=(",", ":")) + "\n").encode())
        print({p: len(v) for p, v in act.items()})
        return
    if sys.argv[1] in ("--refresh", "--extend"):
        records, out = Path(sys.argv[2]), Path(sys.argv[3])
        out.mkdir(parents=True, exist_ok=True)
        doc = cr.read(cr.SHIPPED / "nvidia-h200.json.gz")
        for path in sys.argv[4:] or sorted(doc["rules"]):
            t = time.time()
            d = (refresh if sys.argv[1] == "--refresh" else extend)(records, doc, path, out)
            d["seconds"] = round(time.time() - t, 1)
            (out / f"{path}.fit.json").write_text(json.dumps(d) + "\n")
            report(path, d)
        return
    if sys.argv[1] == "--streamk":
        records, out = Path(sys.argv[2]), Path(sys.argv[3])
        out.mkdir(parents=True, exist_ok=True)
        doc = cr.read(cr.SHIPPED / "nvidia-h200.json.gz")
        for path in sys.argv[4:] or ("tf32", "fp16-acc16"):
            t = time.time()
            d = streamk(records, doc, path)
            d["seconds"] = round(time.time() - t, 1)
            (out / f"{path}.fit.json").write_text(json.dumps(d) + "\n")
            report(path, d)
        return
    if sys.argv[1] == "--remeasure":  # RECORDS OUT PATH...: the held-out sets measured again with OUT's rules
        records, out = Path(sys.argv[2]), Path(sys.argv[3])
        for path in sys.argv[4:]:
            t = time.time()
            f = out / f"{path}.fit.json"
            d = json.loads(f.read_text())
            d.update(measure(cr.rule_from_dict(path, d["rule"]), held_sets(records, path), d["families"]))
            d["seconds"] = round(time.time() - t, 1)
            f.write_text(json.dumps(d) + "\n")
            report(path, d)
        return
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
    llm_held = set(range(*json.loads((records / "meta5.json").read_text())["sets"]["llm_held_out"])) \
        if (records / "meta5.json").exists() else set()
    for path in sys.argv[3:]:
        t = time.time()
        rec = cr.load_record(records / f"{path}.json.gz")
        dense = cr.load_record(records / f"{path}.dense.json.gz")
        extra = {s: cr.load_record(records / f"{path}.{s}.json.gz") for s in ("families", "llm")
                 if (records / f"{path}.{s}.json.gz").exists()}
        prior = out / f"{path}.fit.json"
        d = {}
        if prior.exists():  # walks fitted already: only re-assemble the table and re-measure
            d = json.loads(prior.read_text())
            fitted = {"families": d["families"], "schedules": d.get("schedules", {})}
            fitted = cr.regranule(rec, refit_unknown(rec, fitted, held))
        else:
            fitted = cr.fit(rec, exclude=held)
        families = dict(fitted["families"])
        # families the sampled sweep never met (or left without a walk)
        families = add_walks(families, [(more, llm_held if name == "llm" else set()) for name, more in extra.items()])
        fitted = dict(fitted, families=families)
        base = cr.build_rule(rec, fitted) if fitted["schedules"] else relabel(cr.rule_from_dict(path, d["rule"]), rec, dense)
        base = cr.Rule(path, base.walks, base.families, base.table[base.table[:, 0] > 0])
        rule = cr.extend_rule(base, dense, families, exclude=fresh)
        sets = held_sets(records, path, loaded={"": rec, "dense": dense, **extra})
        rule = extend_by_covers(rule, records, path, families, held_shapes(sets), loaded=extra)
        d = {"path": path, "families": families, "schedules": fitted["schedules"], "rule": cr.rule_to_dict(rule),
             **measure(rule, sets, families)}
        d["seconds"] = round(time.time() - t, 1)
        prior.write_text(json.dumps(d) + "\n")
        report(path, d)


def report(path, d):
    for key in SETS:
        if key not in d:
            continue
        h = d[key]
        print(f"{path} {key}: {h['predicted']}/{h['shapes']} by the rule, {h['own_kernel']}/{h['shapes']} by "
              f"their own kernel, {h['unknown_family']} of an unknown family ({d['seconds']} s)", flush=True)


def held_sets(records: Path, path: str, loaded=None) -> dict:
    """{measure key: (record, held-out indices)} of every held-out set recorded for ``path``
    (``loaded``: records read already, by suffix, "" for run.py's)."""
    def record(suffix):
        return (loaded or {}).get(suffix) or cr.load_record(records / f"{path}{'.' + suffix if suffix else ''}.json.gz")

    def ranged(meta, key):
        return range(*json.loads((records / meta).read_text())["sets"][key])

    out = {"held_out": (record(""), ranged("meta.json", "held_out")),
           "fresh_held_out": (record("dense"), ranged("meta2.json", "fresh_held_out"))}
    for key, name in UNTOUCHED:  # recorded after the rule they measure was designed
        if (records / f"{path}.{name}.json.gz").exists():
            r = record(name)
            out[key] = (r, range(len(r["shapes"])))
    if (records / f"{path}.llm.json.gz").exists() and (records / "meta5.json").exists():
        out["llm_held_out"] = (record("llm"), ranged("meta5.json", "llm_held_out"))
    return out


def held_shapes(sets: dict) -> set:
    """Every shape of the held-out sets: none enters a table."""
    return {tuple(rec["shapes"][i]) for rec, indices in sets.values() for i in indices}


def extend_by_covers(rule, records: Path, path: str, families: dict, heldout: set, loaded=None):
    """``rule`` with every kernels-only cover of COVERS recorded for ``path`` added, each shape
    taking its kernel family's walk; no shape of ``heldout`` enters, and rows of ``rule`` at a
    shape of ``heldout`` leave (a held-out set recorded after the rule's covers, seed 8, met 15
    of their shapes per float path): a held-out shape is always a prediction."""
    import numpy as np

    keep = np.array([tuple(r) not in heldout for r in rule.table[:, :3].tolist()], bool)
    if not keep.all():
        rule = cr.Rule(rule.path, rule.walks, rule.families, rule.table[keep], rule.sms)
    for cover in COVERS:
        f = records / f"{path}.{cover}.json.gz"
        if f.exists():
            more = (loaded or {}).get(cover) or cr.load_record(f)
            rule = cr.extend_rule(rule, more, families,
                                  exclude={i for i, s in enumerate(more["shapes"]) if tuple(s) in heldout})
    return rule


def measure(rule, sets: dict, families: dict) -> dict:
    """Each held-out set reproduced by ``rule`` and by the shapes' own kernels (cr.held_out)."""
    return {key: cr.held_out(rec, rule, indices, {"families": families}) for key, (rec, indices) in sets.items()}


def training(records: Path, path: str, sets: dict) -> dict:
    """{suffix: (record, indices held out of it)} of the records with output samples that the
    walks are fitted on: run.py's ("", seed 2 held out), run7.py's and run10.py's families and
    run5.py's LLM layers (their held-out token counts left out); run.py's and the LLM record as
    ``sets`` (held_sets) read them."""
    out = {"": (sets["held_out"][0], set(sets["held_out"][1]))}
    for name in ("families", "families2"):
        if (records / f"{path}.{name}.json.gz").exists():
            out[name] = (cr.load_record(records / f"{path}.{name}.json.gz"), set())
    if "llm_held_out" in sets:
        out["llm"] = (sets["llm_held_out"][0], set(sets["llm_held_out"][1]))
    return out


def add_walks(families: dict, sampled) -> dict:
    """``families`` with a walk fitted (cr.fit) for each family that has none where one of the
    ``sampled`` [(record, indices held out of it)] samples it."""
    families = dict(families)
    for rec, held in sampled:
        add = cr.fit(rec, exclude=set(held) | unknown_free(rec, families))["families"]
        families.update({f: v for f, v in add.items() if v["walk"] and not (families.get(f) or {}).get("walk")})
    return families


def rewalked(train: list, families: dict, sibling: dict | None) -> tuple:
    """(families, shapes observed) on the ``train`` [(record, held-out indices)] (training()'s
    values): walks fitted for
    families that had none where a training record now samples them (run10.py's families2,
    add_walks), the walks regranuled on every training shape that tells granules apart
    (cr.granule_evidence), then, for a float16/bfloat16 output, the float32 path's walks where
    they reproduce as much (cr.borrow_walks); the observed shapes are the sampled training ones
    (their table rows keep the granule they showed)."""
    families = add_walks(families, train)
    evidence: dict = {}
    for rec, held in train:
        for fam, works in cr.granule_evidence(rec, families, exclude=held).items():
            evidence.setdefault(fam, []).extend(works)
    families = cr.regranule_families(families, evidence)
    if sibling is not None:
        for rec, held in train:
            families = cr.borrow_walks(rec, families, sibling, exclude=held)
    observed = {tuple(rec["shapes"][int(k)]) for rec, held in train for k in rec["bits"] if int(k) not in held}
    return families, observed


def refresh(records: Path, doc: dict, path: str, out: Path) -> dict:
    """A shipped path as a .fit.json: its walks regranuled and borrowed (rewalked(); the
    sibling float32 path's from OUT/<sibling>.fit.json where refreshed first, else the shipped
    ones), its table extended by any cover of COVERS it lacks (extend_by_covers), its kernel
    tree grown by this lowbit (cr.Rule.kernel_tree), every held-out set measured again with it.
    Each record is read once."""
    sib = cr.SIBLINGS.get(path)
    sibling = None
    if sib:
        f = out / f"{sib}.fit.json"
        sibling = json.loads(f.read_text())["families"] if f.exists() else doc["families"][sib]
    sets = held_sets(records, path)
    train = training(records, path, sets)
    families, observed = rewalked(list(train.values()), doc["families"][path], sibling)
    rule = cr.rewalk(doc["rules"][path], families, observed)
    loaded = {name: rec for name, (rec, _) in train.items() if name}
    rule = extend_by_covers(rule, records, path, families, held_shapes(sets), loaded=loaded)
    return {"path": path, "families": families, "rule": cr.rule_to_dict(rule), **measure(rule, sets, families)}


def extend(records: Path, doc: dict, path: str, out: Path) -> dict:
    """A shipped path as a .fit.json with its walks as they are: its table extended by the covers
    of COVERS it lacks (extend_by_covers: held-out shapes out), its kernel tree grown on that
    table, every held-out set measured again with it."""
    sets = held_sets(records, path)
    families = doc["families"][path]
    rule = extend_by_covers(doc["rules"][path], records, path, families, held_shapes(sets))
    rule = cr.Rule(rule.path, rule.walks, rule.families, rule.table, rule.sms)  # the tree grown, not the file's
    return {"path": path, "families": families, "rule": cr.rule_to_dict(rule), **measure(rule, sets, families)}


def streamk(records: Path, doc: dict, path: str) -> dict:
    """A shipped path as a .fit.json with its stream-K launches of fewer CTAs than tiles planned:
    each such table row (split -1 before stop 25) takes cr.streamk_code(its launch's CTAs, the
    pieces its samples show (cr.fit_streamk) or 0 where it was not sampled), or stays -1 where
    no pieces reproduce its samples; a stream-K family without a walk (FP16 accumulation's k32
    kernels: no launch over fewer tiles than CTAs was sampled) takes the stream-K walk of its
    k-tile where that reproduces 90 % of its sampled launches.  Launches are read from every
    record of the path but the held-out sets; the kernel tree is grown again (those rows now
    count) and every held-out set measured."""
    import numpy as np

    sets = held_sets(records, path)
    heldout = held_shapes(sets)
    launches: dict = {}  # shape -> [(record, index)], sampled ones first; no held-out shape
    for f in [records / f"{path}.json.gz"] + sorted(records.glob(f"{path}.*.json.gz")):
        rec = cr.load_record(f)
        for i, shape in enumerate(rec["shapes"]):
            if tuple(shape) not in heldout:
                launches.setdefault(tuple(shape), []).append((rec, i))
    for v in launches.values():
        v.sort(key=lambda ri: str(ri[1]) not in ri[0]["bits"])
    families = {k: dict(v) for k, v in doc["families"][path].items()}
    rule = doc["rules"][path]
    walks, table = list(rule.walks), rule.table.copy()
    # a stream-K family without a walk: the stream-K walk of its k-tile, tried on its samples
    for fam, info in families.items():
        if info.get("walk") or "segment_k_on" not in fam:
            continue
        walk = next((c for c in cr.candidates(path, fam) if c.plan == "streamk"), None)  # its k-tile's, first reduce
        if walk is None:
            continue
        tried = ok = 0
        for shape, ls in launches.items():
            rec, i = ls[0]
            d = cr.describe(rec["kernels"][i], *shape)
            if d is None or d[0] != fam or str(i) not in rec["bits"]:
                continue
            tried += 1
            ok += cr._match(rec, path, walk, i, d[1]) is not None
        print(f"{path} {fam}: {walk.key()} reproduces {ok} of {tried} sampled launches", flush=True)
        if tried and ok >= 0.9 * tried:
            families[fam] = dict(info, walk=walk.key(), matched=ok)
            w = cr._index(walks, walk.key())
            for f, label in enumerate(rule.families):
                if label.split("@")[0] == fam:
                    table[table[:, 5] == f, 3] = w
    counts = {"planned": 0, "fitted": 0, "refused": 0}
    streamk_walks = [w for w, key in enumerate(walks) if cr.Walk.from_key(key).plan == "streamk"]
    for j in np.flatnonzero(np.isin(table[:, 3], streamk_walks) & np.isin(table[:, 4], (-1, 0))):
        M, N, K, w, split = (int(v) for v in table[j, :5])
        ls = launches.get((M, N, K))
        if not ls:
            continue
        rec, i = ls[0]
        d = cr.describe(rec["kernels"][i], M, N, K)
        code = cr.streamk_decode(d[1]) if d else None
        if code is None:
            continue
        walk = cr.Walk.from_key(walks[w])
        if str(i) in rec["bits"]:
            fitted = cr.fit_streamk(rec, path, walk, i, d[1])
            table[j, 4] = -1 if fitted is None else fitted
            counts["refused" if fitted is None else "fitted"] += 1
        else:
            table[j, 4] = d[1]
            counts["planned"] += 1
    print(f"{path}: stream-K rows {counts}", flush=True)
    rule = cr.Rule(path, tuple(walks), rule.families, table, rule.sms)  # the tree grown, not the file's
    return {"path": path, "families": families, "streamk_rows": counts, "rule": cr.rule_to_dict(rule),
            **measure(rule, sets, families)}


UNTOUCHED = (("untouched_held_out", "seed4"), ("untouched_held_out_5", "seed5"), ("untouched_held_out_6", "seed6"),
             ("untouched_held_out_8", "seed8"), ("untouched_held_out_9", "seed9"))  # measure key, record suffix
SETS = ("held_out", "fresh_held_out") + tuple(key for key, _ in UNTOUCHED) + ("llm_held_out",)
COVERS = ("dense2", "dense3", "llm", "families", "dense4", "dense5", "families2", "active",
          "dense6", "dense7")  # covers after run2.py's


def unknown_free(record, families) -> set:
    """Indices of a record's shapes whose family has a walk already (left out of a refit)."""
    out = set()
    for i, (M, N, K) in enumerate(record["shapes"]):
        dd = cr.describe(record["kernels"][i], M, N, K)
        if dd is None or (families.get(dd[0]) or {}).get("walk"):
            out.add(i)
    return out


def refit_unknown(rec, fitted, held) -> dict:
    """A prior fit with the families it left without a walk fitted again (candidates grow:
    stream-K and gemmSN lanes), their shapes' schedules replaced."""
    again = cr.fit(rec, exclude=held | unknown_free(rec, fitted["families"]))
    families = dict(fitted["families"])
    families.update({f: v for f, v in again["families"].items() if v["walk"]})
    schedules = dict(fitted["schedules"])
    for i, sched in again["schedules"].items():
        if sched[0]:
            schedules[str(i)] = sched
    return {"families": families, "schedules": schedules}


if __name__ == "__main__":
    main()
