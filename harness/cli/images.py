"""`harness images build`: node images from images/ (rebuilt only on change)."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import Parser, Subparsers
from harness.nodes.images import build_images


def cmd_images_build(args: argparse.Namespace) -> int:
    for tag in build_images(Path(args.images), progress=print, force=args.force):
        print(tag)
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("images", help="node images")
    isub = p.add_subparsers(dest="images_command", required=True, parser_class=Parser)
    b = isub.add_parser("build", help="build node images (rebuilds only on change)")
    b.add_argument("--images", default="images", help="images directory (default: images)")
    b.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    b.set_defaults(handler=cmd_images_build)
