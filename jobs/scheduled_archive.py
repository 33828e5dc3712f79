"""Ray job entrypoint for scheduled incremental runs: only objects not yet in the ledger.

    ray job submit --address http://HEAD:8265 --working-dir . -- \\
        python jobs/scheduled_archive.py --input s3://lot-archive/ --output s3://lot-results/plates/ \\
        --partition-pattern '(?P<site>[^/]+)/(?P<camera>[^/]+)/(?P<date>\\d{4}-\\d{2}-\\d{2})/'

Run it from cron, a Kubernetes CronJob or Airflow: each run processes the objects whose
(uri, etag or size+mtime, model weights) is not in the committed ledger of OUTPUT, commits its rows
with a commit record, and is safe to kill and run again at any point (docs/LAYOUT.md). Same
options as `lpr-ray run --incremental`; `--incremental` is implied. Credentials come from the
cluster nodes' environment or instance roles, never from the entrypoint or runtime_env.
"""

from __future__ import annotations

import os
import sys

# With --working-dir the project is importable from the job's cwd even when lpr-ray is not
# installed on the cluster image.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lpr_ray.cli.run import job_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(job_main("jobs/scheduled_archive.py", __doc__, incremental=True))
