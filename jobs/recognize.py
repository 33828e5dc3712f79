"""Ray job entrypoint: the archive recognition job.

    ray job submit --address http://HEAD:8265 --working-dir . -- \
        python jobs/recognize.py --input s3://bucket/crops/ --output s3://bucket/plates/

Same options as `lpr-ray run` (see `python jobs/recognize.py --help`). Object-storage
credentials come from the cluster nodes' environment or instance roles: never pass them in
the entrypoint or runtime_env, where they would be stored in the job's metadata.
"""

from __future__ import annotations

import argparse
import os
import sys

# With --working-dir the project is importable from the job's cwd even when lpr-ray is not
# installed on the cluster image.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lpr_ray.cli.run import EPILOG, add_run_arguments, execute  # noqa: E402
from lpr_ray.errors import LprRayError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="jobs/recognize.py",
        description="Recognise plates under an input URI and write Parquet rows (Ray job).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return execute(args)
    except LprRayError as exc:
        print(f"recognize: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
