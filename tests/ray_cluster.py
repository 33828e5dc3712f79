"""A real local Ray cluster for the tests, isolated from anyone else's Ray (not shipped).

Why not `ray.cluster_utils.Cluster`: that starts nodes in-process through Ray's private node
API, while these tests follow what users run (`ray start --head`, `ray job submit` to the
dashboard with a token) and must never touch another Ray on the machine.

    with LocalRayCluster(num_cpus=2, dashboard=True, env=s3.env()) as cluster:
        cluster.connect()                       # ray.init(address=cluster.address)
        cluster.job_client().submit_job(entrypoint="python -c 'print(1)'")
        subprocess.run(["ray", "job", "submit", "--", ...], env={**os.environ, **cluster.env()})

Each cluster runs `ray start --head --block` (and `ray start --address=... --block` for extra
nodes) in its own process group, with its own short temp dir (/tmp/lprray-XXXX: Ray's unix
socket paths must stay under ~107 bytes), its own free ports and `--disable-usage-stats`.
`stop()` signals those process groups (never `ray stop`, which kills every Ray on the
machine), kills any straggler whose command line names the cluster's temp dir, and deletes
the temp dir, including the `ray_current_cluster` file that would make a later `ray.init()`
without an address attach to a dead cluster.

Authentication (Ray 2.60 turns token auth on by default). The cluster runs with
RAY_AUTH_MODE=token and a random token passed as RAY_AUTH_TOKEN, because Ray's GCS, raylet
and agent gRPC servers listen on every interface (0.0.0.0/::; Ray has no option to bind them
to loopback, and it even replaces --node-ip-address=127.0.0.1 with the host's address), so
with auth disabled anyone who can reach this machine could run code on it. The token is
per Python process, not per cluster: Ray's C++ token loader caches the token for the life
of a process, so one process can only talk to clusters sharing its token (a process whose
environment already has RAY_AUTH_MODE=token and RAY_AUTH_TOKEN reuses that token). Clients
need only the environment from `env()`:
- `ray.init(address=...)`: RAY_AUTH_MODE=token and RAY_AUTH_TOKEN in os.environ before the
  call (`connect()` sets them); with an explicit address Ray never enables auth by itself.
- `ray job submit` CLI: the same two variables (+ RAY_API_SERVER_ADDRESS for the address).
- `JobSubmissionClient`: adds the Authorization header itself when those variables are set
  in its process; `job_client()` passes it explicitly so it works from any environment.
The token never touches ~/.ray/auth_token (which `ray.init()` would create for new local
clusters, and which `ray start --head` would pick up, turning auth on for everyone's clusters).
`auth="disabled"` starts the cluster with RAY_AUTH_MODE=disabled instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lpr_ray.local import (
    LOOPBACK,
    free_port_range,
    free_ports,
    kill_group,
    log_tail,
    port_open,
    register_live,
    spawn,
    unregister_live,
)

DEFAULT_OBJECT_STORE_MEMORY = 1 << 30  # 1 GiB: enough for crops, polite on a shared machine
_MAX_TEMP_DIR_LEN = 60  # Ray appends ~50 bytes (session_<date>_<pid>/sockets/plasma_store)
_STARTED = "Ray runtime started"
_PROCESS_TOKEN: str | None = None


def ray_executable() -> str:
    """The `ray` script of this Python's environment (never another install's)."""
    beside = Path(sys.executable).parent / "ray"
    if beside.is_file():
        return str(beside)
    found = shutil.which("ray")
    if found:
        return found
    raise FileNotFoundError(
        f"the `ray` command was not found next to {sys.executable} or on PATH; install Ray "
        "into this environment: pip install 'ray[data,default]'"
    )


def process_auth_token() -> str:
    """The Ray auth token of this process (see the module doc for why it is per process)."""
    global _PROCESS_TOKEN
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token" and os.environ.get("RAY_AUTH_TOKEN"):
        return os.environ["RAY_AUTH_TOKEN"]
    if _PROCESS_TOKEN is None:
        _PROCESS_TOKEN = secrets.token_hex(32)  # what Ray's own generator makes
    return _PROCESS_TOKEN


@dataclass
class RayNode:
    """One `ray start --block` process (head or worker node) and the ports it was given."""

    proc: subprocess.Popen
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)
    num_cpus: float = 0
    num_gpus: float = 0
    resources: dict[str, float] = field(default_factory=dict)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


class LocalRayCluster:
    """A Ray head (+ optional extra nodes) on this machine; a context manager."""

    def __init__(
        self,
        num_cpus: float = 2,
        num_gpus: float = 0,
        resources: Mapping[str, float] | None = None,
        dashboard: bool = False,
        env: Mapping[str, str] | None = None,
        temp_dir: str | os.PathLike | None = None,
        workers: Sequence[Mapping] = (),
        *,
        object_store_memory: int | None = DEFAULT_OBJECT_STORE_MEMORY,
        auth: str = "token",
        start_timeout: float = 120.0,
    ) -> None:
        if auth not in ("token", "disabled"):
            raise ValueError(f"auth must be 'token' or 'disabled', got {auth!r}")
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.resources = dict(resources or {})
        self.dashboard = dashboard
        self.extra_env = dict(env or {})
        self._temp_arg = Path(temp_dir) if temp_dir is not None else None
        if self._temp_arg is not None and len(str(self._temp_arg)) > _MAX_TEMP_DIR_LEN:
            raise ValueError(
                f"temp_dir {str(self._temp_arg)!r} is longer than {_MAX_TEMP_DIR_LEN} "
                "characters: Ray's unix socket paths under it would exceed the 107-byte "
                "limit. Leave temp_dir=None for a short /tmp/lprray-XXXX."
            )
        self._initial_workers = [dict(w) for w in workers]
        self.object_store_memory = object_store_memory
        self.auth = auth
        self.token = process_auth_token() if auth == "token" else None
        self.start_timeout = start_timeout
        self.temp_dir: Path | None = None
        self._own_temp = False
        self.head: RayNode | None = None
        self.worker_nodes: list[RayNode] = []
        self._connected = False
        self._session_dirs: list[Path] = []
        self.startup_seconds: float | None = None

    # -- addresses and client settings --------------------------------------------------------

    @property
    def gcs_port(self) -> int:
        if self.head is None:
            raise RuntimeError("LocalRayCluster is not started")
        return self.head.ports["gcs"]

    @property
    def address(self) -> str:
        """GCS address for ray.init(address=...) and `ray start --address`."""
        return f"{LOOPBACK}:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str | None:
        if self.head is None or not self.dashboard:
            return None
        return f"http://{LOOPBACK}:{self.head.ports['dashboard']}"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def auth_env(self) -> dict[str, str]:
        if self.token:
            return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}
        return {"RAY_AUTH_MODE": "disabled"}

    def env(self) -> dict[str, str]:
        """What a client process needs: RAY_ADDRESS, auth, and the Jobs API address."""
        out = {"RAY_ADDRESS": self.address, **self.auth_env()}
        if self.dashboard_url:
            out["RAY_API_SERVER_ADDRESS"] = self.dashboard_url
        return out

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> LocalRayCluster:
        if self.head is not None:
            return self
        t0 = time.monotonic()
        if self._temp_arg is None:
            # Not tempfile.gettempdir(): TMPDIR may be long; Ray needs short socket paths.
            self.temp_dir = Path(tempfile.mkdtemp(prefix="lprray-", dir="/tmp"))
            self._own_temp = True
        else:
            self.temp_dir = self._temp_arg
            self.temp_dir.mkdir(parents=True, exist_ok=True)
        register_live(self)
        try:
            self.head = self._start_node(
                head=True,
                num_cpus=self.num_cpus,
                num_gpus=self.num_gpus,
                resources=self.resources,
            )
            # Ray names the session dir after the pid of the `ray start` that made it.
            self._session_dirs = sorted(self.temp_dir.glob(f"session_*_{self.head.proc.pid}"))
            if self.dashboard:
                self._wait_dashboard()
            for spec in self._initial_workers:
                self.add_worker_node(**spec)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def add_worker_node(
        self,
        num_cpus: float = 1,
        num_gpus: float = 0,
        resources: Mapping[str, float] | None = None,
        *,
        object_store_memory: int | None = None,
    ) -> RayNode:
        """Start another Ray node on this machine, joined to this cluster's head."""
        if self.head is None:
            raise RuntimeError("start the cluster before adding nodes")
        node = self._start_node(
            head=False,
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            resources=dict(resources or {}),
            object_store_memory=object_store_memory,
        )
        self.worker_nodes.append(node)
        return node

    def _node_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Nothing of another cluster's: address, token file or mode.
        for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_TOKEN_PATH"):
            env.pop(name, None)
        env.update(self.extra_env)
        env.update(self.auth_env())
        if not self.token:
            env.pop("RAY_AUTH_TOKEN", None)
        env["RAY_TMPDIR"] = str(self.temp_dir)
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        return env

    def _start_node(
        self,
        *,
        head: bool,
        num_cpus: float,
        num_gpus: float,
        resources: Mapping[str, float],
        object_store_memory: int | None = None,
    ) -> RayNode:
        assert self.temp_dir is not None
        names = [
            "node_manager",
            "object_manager",
            "dashboard_agent_listen",
            "dashboard_agent_grpc",
            "runtime_env_agent",
            "metrics_export",
        ]
        if head:
            names += ["gcs", "ray_client_server", "dashboard"]
        last_tail = ""
        for _attempt in range(3):  # a chosen port can be taken before Ray binds it: retry
            # Ports promised to this cluster's other nodes are free until Ray binds them
            # (worker ports only when a worker starts): never hand them out twice.
            reserved = self._reserved_ports()
            ports = dict(zip(names, free_ports(len(names), avoid=reserved), strict=True))
            n_worker_ports = max(64, int(16 * max(num_cpus, 1)))
            ports["min_worker"] = free_port_range(
                n_worker_ports, avoid=reserved | set(ports.values())
            )
            ports["max_worker"] = ports["min_worker"] + n_worker_ports - 1
            argv = [
                ray_executable(),
                "start",
                "--block",
                f"--num-cpus={_int_if_whole(num_cpus)}",
                f"--num-gpus={_int_if_whole(num_gpus)}",
                f"--node-manager-port={ports['node_manager']}",
                f"--object-manager-port={ports['object_manager']}",
                f"--min-worker-port={ports['min_worker']}",
                f"--max-worker-port={ports['max_worker']}",
                f"--dashboard-agent-listen-port={ports['dashboard_agent_listen']}",
                f"--dashboard-agent-grpc-port={ports['dashboard_agent_grpc']}",
                f"--runtime-env-agent-port={ports['runtime_env_agent']}",
                f"--metrics-export-port={ports['metrics_export']}",
                "--disable-usage-stats",
                "--log-style=record",
                "--log-color=false",
            ]
            if resources:
                argv.append(f"--resources={json.dumps(dict(resources))}")
            osm = self.object_store_memory if head else object_store_memory
            if osm is None and not head:
                osm = self.object_store_memory
            if osm is not None:
                argv.append(f"--object-store-memory={int(osm)}")
            if head:
                argv += [
                    "--head",
                    f"--port={ports['gcs']}",
                    f"--ray-client-server-port={ports['ray_client_server']}",
                    f"--temp-dir={self.temp_dir}",
                    f"--include-dashboard={'true' if self.dashboard else 'false'}",
                    f"--dashboard-host={LOOPBACK}",
                    f"--dashboard-port={ports['dashboard']}",
                ]
            else:
                argv.append(f"--address={self.address}")
            tag = "head" if head else f"node{len(self.worker_nodes) + 1}"
            log_path = self.temp_dir / f"{tag}.log"
            log_path.write_bytes(b"")
            proc = spawn(argv, env=self._node_env(), log_path=log_path, cwd=self.temp_dir)
            node = RayNode(
                proc=proc,
                log_path=log_path,
                ports=ports,
                num_cpus=num_cpus,
                num_gpus=num_gpus,
                resources=dict(resources),
            )
            if head:
                self.head = node  # so that stop() can clean up if waiting fails
            try:
                self._wait_started(node, gcs_port=ports["gcs"] if head else None)
                return node
            except _PortTaken as exc:
                last_tail = str(exc)
                kill_group(proc, term_timeout=3.0)
                if head:
                    self.head = None
        raise RuntimeError(f"Ray could not bind its ports after 3 tries:\n{last_tail}")

    def _reserved_ports(self) -> set[int]:
        out: set[int] = set()
        for node in [*([self.head] if self.head else []), *self.worker_nodes]:
            out.update(p for k, p in node.ports.items() if k not in ("min_worker", "max_worker"))
            if "min_worker" in node.ports:
                out.update(range(node.ports["min_worker"], node.ports["max_worker"] + 1))
        return out

    def _wait_started(self, node: RayNode, gcs_port: int | None) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            text = node.log_path.read_text(errors="replace")
            if node.proc.poll() is not None:
                tail = log_tail(node.log_path)
                if "already in use" in text or "Address already in use" in text:
                    raise _PortTaken(tail)
                raise RuntimeError(
                    f"`ray start` exited with code {node.proc.returncode} while starting; "
                    f"the end of {node.log_path}:\n{tail}"
                )
            if _STARTED in text and (gcs_port is None or port_open(gcs_port)):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Ray did not start within {self.start_timeout:.0f}s; the end of "
                    f"{node.log_path}:\n{log_tail(node.log_path)}"
                )
            time.sleep(0.1)

    def _wait_dashboard(self) -> None:
        """Wait until the Jobs API answers (the dashboard starts after the GCS)."""
        assert self.head is not None
        deadline = time.monotonic() + self.start_timeout
        url = f"{self.dashboard_url}/api/jobs/"
        last = None
        while time.monotonic() < deadline:
            if not self.head.alive:
                break
            req = urllib.request.Request(url, headers=self.auth_headers)
            try:
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(
            f"Ray's dashboard did not answer {url} within {self.start_timeout:.0f}s "
            f"(last: {last}); the end of {self.head.log_path}:\n{log_tail(self.head.log_path)}"
        )

    # -- clients ------------------------------------------------------------------------------

    def connect(self, **init_kwargs):
        """ray.init(address=self.address) from this process, with the auth environment set.

        stop() calls ray.shutdown() for a connection made here.
        """
        apply_auth_env(self.auth_env())
        import ray

        init_kwargs.setdefault("log_to_driver", True)
        ctx = ray.init(address=self.address, **init_kwargs)
        self._connected = True
        return ctx

    def job_client(self):
        """A ray.job_submission.JobSubmissionClient for this cluster (needs dashboard=True)."""
        if not self.dashboard_url:
            raise RuntimeError("the Jobs API needs LocalRayCluster(dashboard=True)")
        from ray.job_submission import JobSubmissionClient

        return JobSubmissionClient(self.dashboard_url, headers=self.auth_headers)

    # -- shutdown -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop this cluster's processes (by process group, never `ray stop`); remove its files."""
        if self._connected:
            self._connected = False
            with contextlib.suppress(Exception):
                import ray

                ray.shutdown()
        nodes = [*reversed(self.worker_nodes), *([self.head] if self.head else [])]
        for node in nodes:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(node.proc.pid, signal.SIGTERM)
        for node in nodes:
            kill_group(node.proc, term_timeout=2.0)
        self.worker_nodes = []
        self.head = None
        if self.temp_dir is not None:
            for session in self._session_dirs:
                _kill_processes_mentioning(str(session) + "/")
            # The address file (and everything else) lives in our temp dir; if ours was
            # given by the caller, remove at least the file that misleads a later ray.init().
            if self._own_temp:
                shutil.rmtree(self.temp_dir, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    (self.temp_dir / "ray_current_cluster").unlink()
        unregister_live(self)


def apply_auth_env(auth_env: Mapping[str, str]) -> None:
    """Put Ray's auth settings into os.environ and make an already-imported Ray see them.

    Ray reads RAY_AUTH_MODE into its C++ config when `ray` is imported and caches the token
    on first use, so setting the variables later is not enough: refresh both, as Ray's own
    `_enable_token_auth()` does (private API, guarded).
    """
    os.environ.update(auth_env)
    if "RAY_AUTH_TOKEN" not in auth_env:
        os.environ.pop("RAY_AUTH_TOKEN", None)
    if "ray" not in sys.modules:
        return  # the first import reads the environment
    try:
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError):  # pragma: no cover - other Ray versions
        pass


def _int_if_whole(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _kill_processes_mentioning(needle: str) -> None:
    """SIGKILL processes (ours, by construction) whose command line names our temp dir.

    Ray's daemons all take --session-dir/--log-dir arguments under it; anything that left our
    process groups (a daemon that called setsid) is still found this way.
    """
    me = os.getpid()
    needle_b = needle.encode()
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid == me:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle_b in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


class _PortTaken(RuntimeError):
    pass
