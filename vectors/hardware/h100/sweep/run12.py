"""Twelfth sweep: a new untouched held-out set, and a seventh random cover.

PYTHONPATH=. python vectors/hardware/h100/sweep/run12.py OUTDIR seed9|dense7 [PATH ...]
* seed9: random_shapes(9, 800) with output samples for all fourteen paths (``<path>.seed9.json.gz``,
  meta16.json), recorded before stop 24 changed anything: seed 8 decided that stop 23's sixth
  cover ships, so these shapes are the first to measure the rule with it and with stop 24's
  changes untouched;
* dense7: random_shapes(15, 120000) without output samples (``<path>.dense7.json.gz``,
  meta17-<path>.json; the nine float paths): table rows drawn as users' shapes are. The sixth
  cover (120,000 rows, 250,579 -> 370,470) took seed 8 from 7,777 to 7,810 of 8,352.
"""
import sys

from run11 import record_cover, record_seed  # this folder is on sys.path when run as a script


def main():
    out, what, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    if what == "seed9":
        record_seed(out, 9, "meta16.json", paths)
    elif what == "dense7":
        record_cover(out, 15, "dense7", 17, paths)
    else:
        raise SystemExit(f"run12.py: unknown set {what!r}; seed9 or dense7")


if __name__ == "__main__":
    main()
