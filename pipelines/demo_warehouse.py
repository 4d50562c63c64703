"""python -m pipelines demo [--db FILE] [--messy]: write the synthetic district, and load it when asked.

The demo goes through the same loader as a district's files, marked synthetic,
with the as-of date the generator used, so `make run` shows a real load. With
--messy the vendor-style export is loaded after it (profile vendor_messy), so
the quarantine holds rows of every kind of rule, as in the README's screenshots.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import date
from pathlib import Path

from pipelines import finish_steps
from pipelines.loader import load_files, print_summary
from pipelines.synthetic import write_manifest


def run(args) -> int:
    from pipelines.demo.cli import run as write_demo

    code = write_demo(args) or 0
    if code:
        return code
    write_manifest(args.out)  # these files, and only these, may be loaded with --synthetic
    if not args.db:
        return code
    truth = json.loads((Path(args.out) / "ground_truth.json").read_text())
    as_of = date.fromisoformat(truth["as_of"])
    messy = getattr(args, "messy", False)
    # with --messy a second load follows at once: only its build stores the published figures
    with finish_steps.suspended() if messy else nullcontext():
        result = load_files(args.db, [args.out], "interchange", as_of=as_of, synthetic=True)
    print_summary(result)
    if not result.exit_code and messy:
        result = load_files(args.db, [Path(args.out) / "vendor"], "vendor_messy", as_of=as_of, synthetic=True)
        print_summary(result)
    if result.exit_code:
        print("the demo did not load: this is a bug, please report it", file=sys.stderr)
    return result.exit_code
