"""python -m pipelines demo: write the synthetic demo district (and, with --messy, a vendor-style export)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from pipelines.demo.config import DEFAULT_AS_OF, DemoConfig


def config_from_args(args: argparse.Namespace) -> DemoConfig:
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else DEFAULT_AS_OF
    except ValueError:
        raise ValueError(f"--as-of {args.as_of!r} is not a date YYYY-MM-DD") from None
    return DemoConfig(students=args.students, years=args.years, seed=args.seed, as_of=as_of)


def run(args: argparse.Namespace) -> int:
    from pipelines.demo.generator import generate
    from pipelines.demo.messy import check_as_of, write_messy

    started = time.perf_counter()
    out = Path(args.out)
    try:
        cfg = config_from_args(args)
        if args.messy:
            check_as_of(cfg)
        truth, last, schools = generate(cfg, out)
        if args.messy:
            write_messy(cfg, out, last, schools, truth)
    except ValueError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{name} {rows:,}" for name, rows in truth["files"].items())
    print(
        f"demo: wrote {out} ({', '.join(truth['school_years'])}; as of {truth['as_of']}) in "
        f"{time.perf_counter() - started:.1f} s: {counts}" + ("; vendor/ and identifiers/ too" if args.messy else "")
    )
    return 0
