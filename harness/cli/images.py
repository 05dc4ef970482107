"""`harness images build | list | prune`: node images from images/ and the package layers."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import Parser, Subparsers
from harness.errors import UsageError
from harness.nodes.engine import ensure_engine
from harness.nodes.images import build_images
from harness.nodes.layers import human_age, human_size, list_layers, prune_layers


def cmd_images_build(args: argparse.Namespace) -> int:
    for tag in build_images(Path(args.images), progress=print, force=args.force):
        print(tag)
    return 0


def cmd_images_list(args: argparse.Namespace) -> int:
    """One row per package layer: tag, size, age, base image, packages."""
    rows = list_layers(ensure_engine())
    if not rows:
        print("no package layers (a cluster with --package-layer on builds them)")
        return 0
    table = [("TAG", "SIZE", "AGE", "BASE", "PACKAGES")]
    table += [(r["tag"], human_size(r["size"]), human_age(r["age"]), r["base"],
               " ".join(r["packages"])) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True))
              + "  " + row[4])
    return 0


def cmd_images_prune(args: argparse.Namespace) -> int:
    if args.older_than < 0:
        raise UsageError(f"--older-than must be >= 0 days, not {args.older_than}")
    removed, in_use = prune_layers(ensure_engine(), args.older_than * 86400, progress=print)
    print(f"removed {len(removed)} package layer(s)"
          + (f"; kept {len(in_use)} a container uses" if in_use else ""))
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("images", help="node images and package layers")
    isub = p.add_subparsers(dest="images_command", required=True, parser_class=Parser)
    b = isub.add_parser("build", help="build node images (rebuilds only on change)")
    b.add_argument("--images", default="images", help="images directory (default: images)")
    b.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    b.set_defaults(handler=cmd_images_build)
    ls = isub.add_parser("list", help="package layers with size, age, base and packages")
    ls.set_defaults(handler=cmd_images_list)
    pr = isub.add_parser("prune", help="remove the package layers no container uses")
    pr.add_argument("--older-than", type=float, default=0.0, metavar="DAYS",
                    help="only layers built more than DAYS ago (default: 0, every unused one)")
    pr.set_defaults(handler=cmd_images_prune)
