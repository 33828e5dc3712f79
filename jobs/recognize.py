"""Ray job entrypoint: the archive recognition job.

    ray job submit --address http://HEAD:8265 --working-dir . -- \
        python jobs/recognize.py --input s3://bucket/crops/ --output s3://bucket/plates/

Same options as `lpr-ray run` (see `python jobs/recognize.py --help`). Object-storage
credentials come from the cluster nodes' environment or instance roles: never pass them in
the entrypoint or runtime_env, where they would be stored in the job's metadata.
"""

from __future__ import annotations

import os
import sys

# With --working-dir the project is importable from the job's cwd even when lpr-ray is not
# installed on the cluster image.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lpr_ray.cli.run import job_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(job_main("jobs/recognize.py", __doc__))
