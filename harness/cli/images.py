"""`harness images build | tag`: node images from images/ (rebuilt only on change)."""
from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import Parser, Subparsers
from harness.nodes.imagedefs import image_tag
from harness.nodes.images import build_images
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


def register(sub: Subparsers) -> None:
    p = sub.add_parser("images", help="node images")
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
