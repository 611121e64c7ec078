"""The ``retrograd`` command: ``retrograd --version``, ``retrograd --list`` (or ``retrograd demo
--list``; ``retrograd --help`` lists them too) and ``retrograd demo NAME``.

A demo's run returns a dict; when it holds ``"ok": False`` the demo did not
reach what it claims (an accuracy, a target error, learning at all), and the
command says so and exits with status 1, so scripts and CI notice.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__, demos


def main(argv=None) -> int:
    """Entry point of the ``retrograd`` console script."""
    listing = demos.descriptions()
    width = max(len(n) for n in listing)
    demo_lines = "\n".join(f"  {name:<{width}}  {text}" for name, text in listing.items())
    parser = argparse.ArgumentParser(
        prog="retrograd", description="retrograd: see how backprop works",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"demos (retrograd demo NAME [--out DIR] [--seed N]):\n{demo_lines}")
    parser.add_argument("--version", action="version", version=f"retrograd {__version__}")
    parser.add_argument("--list", action="store_true", help="list the demos (as `retrograd demo --list`)")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="run a demo (see --list)")
    demo.add_argument("name", nargs="?", help="demo to run")
    demo.add_argument("--list", action="store_true", help="list the demos")
    demo.add_argument("--out", default=".", help="folder for plots and outputs, made if missing (default: .)")
    demo.add_argument("--seed", type=int, default=None, help="random seed")
    demo.add_argument("--distributed", action="store_true",
                      help="data-parallel over the MPI processes: mpiexec -n 2 retrograd demo charlm --distributed")
    args = parser.parse_args(argv)
    if args.command is None:
        if args.list:
            print("\n".join(line[2:] for line in demo_lines.splitlines()))
            return 0
        parser.print_help()
        return 2
    if args.command == "demo":
        if args.list or not args.name:
            print("\n".join(line[2:] for line in demo_lines.splitlines()))
            return 0
        os.makedirs(args.out, exist_ok=True)  # a new folder for the plots, as --out names it
        kwargs = {"out_dir": args.out}
        if args.seed is not None:
            kwargs["seed"] = args.seed
        if args.distributed:
            import inspect

            if "distributed" not in inspect.signature(demos._module(args.name).run).parameters \
                    if args.name in demos.NAMES else False:
                raise SystemExit(f"demo {args.name!r} does not run data-parallel (--distributed: charlm)")
            kwargs["distributed"] = True
        result = demos.run(args.name, **kwargs)
        if isinstance(result, dict) and result.get("ok") is False:
            print(f"retrograd demo {args.name}: did not reach what it claims (see above); exit status 1",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
