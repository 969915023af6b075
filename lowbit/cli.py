"""The lowbit command line: ``lowbit formats`` and the subcommands later capabilities add."""

from __future__ import annotations

import argparse
import sys


def _cmd_formats(args) -> int:
    from .formats import format_table

    print(format_table())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lowbit",
        description="Bit-exact reference for low-bit ML number formats.",
        epilog="example: lowbit formats",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("formats", help="table of every format lowbit knows",
                       epilog="example: lowbit formats", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=_cmd_formats)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        return _cmd_formats(args)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
