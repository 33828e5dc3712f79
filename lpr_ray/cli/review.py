"""`lpr-ray review`: serve a web page on which people correct low-confidence reads."""

from __future__ import annotations

import argparse

EPILOG = """\
The page shows the current reads nobody has reviewed yet, lowest confidence first, each beside
its crop (fetched by this server: storage credentials never reach the browser), with filters
by confidence, status (including images that could not be read), site, camera, date and model.
Type the plate and press Enter (Enter on the read as it is accepts it); Alt+U marks the image
unreadable, Alt+N not a plate, Ctrl+Z undoes. Verdicts are stored under RESULTS/_reviews/,
one file each (who, when, the old read, the new label), and from then on `lpr-ray query`,
`report` and the Python API show the person's label as the image's current read.

The URL printed at start carries a random token: open it as printed (requests without the
token are refused). Several people may use one server, or servers on the same RESULTS: each
is shown other images, and nobody's verdict overwrites another's.

Next: `lpr-ray export-reviews --results RESULTS --out DIR` writes the corrections as a TAO
dataset for `lpr-ray train --init-from MODEL --train-tao DIR`.

example:
  lpr-ray review --results s3://lot-results/plates
"""


def register(sub) -> None:
    p = sub.add_parser(
        "review",
        help="serve a web page to correct low-confidence reads (they become training data)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--results", required=True, help="results root (the --output of a run)")
    p.add_argument("--port", type=_port, default=0, help="TCP port (default: 0, any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1). Anything but loopback shows the "
                        "page (and your storage's images) to the network: a warning is printed")
    p.add_argument("--reviewer", default=None, help="name stored with each verdict (default: your login name; "
                                                    "each person can change it on the page)")
    p.set_defaults(func=run)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {port}")
    return port


def run(args: argparse.Namespace) -> int:
    import getpass
    import sys

    from lpr_ray.core.errors import LprRayError
    from lpr_ray.core.storage import storage_error
    from lpr_ray.results.query import read_errors
    from lpr_ray.review.server import is_loopback, serve

    if not is_loopback(args.host):
        print(f"lpr-ray review: warning: listening on {args.host}, beyond this machine: anyone who can reach "
              "it and has the URL's token sees the crops and can add verdicts", file=sys.stderr)

    def announce(url: str) -> None:
        print(f"lpr-ray review: serving {args.results} at\n    {url}\n(Ctrl+C to stop)", flush=True)

    try:
        serve(args.results, host=args.host, port=args.port, token=None,
              reviewer=args.reviewer or getpass.getuser(), announce=announce)
    except read_errors() as exc:
        raise LprRayError(storage_error("cannot read the results", args.results, exc)) from exc
    return 0
