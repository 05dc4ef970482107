"""`harness images build | tag | list | prune`: node images from images/ (rebuilt only on
change) and the package layers."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import Parser, Subparsers
from harness.errors import UsageError
from harness.nodes.engine import ensure_engine
from harness.nodes.imagedefs import image_tag
from harness.nodes.images import build_images
from harness.nodes.layers import human_age, human_size, list_layers, prune_layers
from harness.nodes.platforms import platform_image_dir


def cmd_images_build(args: argparse.Namespace) -> int:
    for tag in build_images(Path(args.images), progress=print, force=args.force,
                            platform=args.platform):
        print(tag)
    return 0


def cmd_images_tag(args: argparse.Namespace) -> int:
    """The tag a platform's image has (content hash): CI keys its image cache on it."""
    print(image_tag(platform_image_dir(Path(args.images), args.platform)))
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
    b.add_argument("--platform", metavar="NAME",
                   help="build only this platform's image (default: every image)")
    b.set_defaults(handler=cmd_images_build)
    t = isub.add_parser("tag", help="print a platform's image tag (no engine needed)")
    t.add_argument("--images", default="images", help="images directory (default: images)")
    t.add_argument("--platform", metavar="NAME", required=True)
    t.set_defaults(handler=cmd_images_tag)
    ls = isub.add_parser("list", help="package layers with size, age, base and packages")
    ls.set_defaults(handler=cmd_images_list)
    pr = isub.add_parser("prune", help="remove the package layers no container uses")
    pr.add_argument("--older-than", type=float, default=0.0, metavar="DAYS",
                    help="only layers built more than DAYS ago (default: 0, every unused one)")
    pr.set_defaults(handler=cmd_images_prune)
