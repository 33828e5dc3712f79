"""cluster/: the KubeRay manifests, the CronJob and the Ray autoscaler config parse, carry the
fields their controllers need, and run commands that exist in this repository and its CLI.

No Kubernetes here: these are static checks (a kubectl dry run needs a cluster with the
KubeRay CRDs). The autoscaler config is validated against Ray's own JSON schema.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import ray
import yaml

REPO = Path(__file__).resolve().parent.parent
CLUSTER = REPO / "cluster"
RAY_MAJOR_MINOR = ".".join(ray.__version__.split(".")[:2])
KUBE_FILES = ["raycluster-t4.yaml", "rayjob-t4.yaml", "cronjob.yaml", "raycronjob.yaml", "serviceaccount.yaml"]


def load(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((CLUSTER / name).read_text()) if d is not None]


def by_kind(name: str, kind: str) -> dict:
    docs = [d for d in load(name) if d.get("kind") == kind]
    assert len(docs) == 1, f"{name}: expected one {kind}, found {len(docs)}"
    return docs[0]


def _help(script: str) -> str:
    out = subprocess.run([sys.executable, str(REPO / script), "--help"], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return out.stdout


_HELP_CACHE: dict[str, str] = {}


def check_entrypoint(entrypoint: str, where: str) -> str:
    """The entrypoint runs a job script of this repo with options its parser declares."""
    argv = shlex.split(entrypoint)
    assert argv[0] == "python", f"{where}: {entrypoint!r}"
    script = argv[1]
    assert (REPO / script).is_file(), f"{where}: {script} does not exist"
    if script not in _HELP_CACHE:
        _HELP_CACHE[script] = _help(script)
    declared = set(re.findall(r"(--[a-z][a-z0-9-]*)", _HELP_CACHE[script]))
    used = [a.split("=", 1)[0] for a in argv[2:] if a.startswith("--")]
    assert used, where
    unknown = [f for f in used if f not in declared]
    assert not unknown, f"{where}: {script} has no option(s) {unknown}"
    for required in ("--input", "--output"):
        assert required in used, f"{where}: {required} missing"
    return script


def ray_cluster_specs() -> list[tuple[str, dict]]:
    out = [("raycluster-t4.yaml", by_kind("raycluster-t4.yaml", "RayCluster")["spec"])]
    out.append(("rayjob-t4.yaml", by_kind("rayjob-t4.yaml", "RayJob")["spec"]["rayClusterSpec"]))
    out.append(("raycronjob.yaml", by_kind("raycronjob.yaml", "RayCronJob")["spec"]["jobTemplate"]["rayClusterSpec"]))
    out.append(("cronjob.yaml (ConfigMap)", scheduled_rayjob()["spec"]["rayClusterSpec"]))
    return out


def scheduled_rayjob() -> dict:
    cm = by_kind("cronjob.yaml", "ConfigMap")
    return yaml.safe_load(cm["data"]["rayjob.yaml"])


@pytest.mark.parametrize("name", KUBE_FILES)
def test_kubernetes_objects_have_identity(name):
    docs = load(name)
    assert docs
    for d in docs:
        assert d.get("apiVersion") and d.get("kind"), name
        meta = d.get("metadata") or {}
        assert meta.get("name") or meta.get("generateName"), f"{name}: {d['kind']} has no name"
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", meta["name"]), meta["name"]


@pytest.mark.parametrize("where,spec", ray_cluster_specs(), ids=lambda x: x if isinstance(x, str) else "")
def test_ray_cluster_specs(where, spec):
    assert ".".join(str(spec["rayVersion"]).split(".")[:2]) == RAY_MAJOR_MINOR, (
        f"{where}: rayVersion {spec['rayVersion']} but the project runs Ray {ray.__version__}"
    )
    head = spec["headGroupSpec"]
    assert head["template"]["spec"]["containers"][0]["image"]
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    gpu = [g for g in groups.values() if _gpus(g) > 0]
    cpu = [g for g in groups.values() if _gpus(g) == 0]
    assert gpu and cpu, f"{where}: needs a GPU group and a CPU (decode) group"
    for g in gpu:
        pod = g["template"]["spec"]
        res = pod["containers"][0]["resources"]
        assert int(res["limits"]["nvidia.com/gpu"]) == 1, f"{where}: one GPU per recogniser pod"
        assert "g4dn" in json.dumps(pod.get("nodeSelector", {})), f"{where}: T4 nodes (g4dn)"
        assert any(t.get("key") == "nvidia.com/gpu" for t in pod.get("tolerations", [])), where
    for g in groups.values():
        assert g["minReplicas"] <= g.get("replicas", 0) <= g["maxReplicas"], (where, g["groupName"])
        assert g["template"]["spec"]["containers"][0]["image"] == head["template"]["spec"]["containers"][0]["image"]


def _gpus(group: dict) -> int:
    res = group["template"]["spec"]["containers"][0].get("resources", {})
    return int(res.get("limits", {}).get("nvidia.com/gpu", 0))


def test_rayjob_runs_recognize():
    spec = by_kind("rayjob-t4.yaml", "RayJob")["spec"]
    assert check_entrypoint(spec["entrypoint"], "rayjob-t4.yaml") == "jobs/recognize.py"
    assert spec["shutdownAfterJobFinishes"] is True
    assert yaml.safe_load(spec["runtimeEnvYAML"])["working_dir"]


def test_cronjob_forbids_overlap_and_creates_the_configmap_rayjob():
    cron = by_kind("cronjob.yaml", "CronJob")
    spec = cron["spec"]
    assert cron["apiVersion"] == "batch/v1"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert len(spec["schedule"].split()) == 5
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    script = " ".join(container.get("command", []) + container.get("args", []))
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    cm_name = by_kind("cronjob.yaml", "ConfigMap")["metadata"]["name"]
    mount = next(mounts[n] for n, v in volumes.items() if v.get("configMap", {}).get("name") == cm_name)
    assert f"kubectl create -f {mount}/rayjob.yaml" in script
    assert "jobDeploymentStatus" in script  # waits for the RayJob, so Forbid covers the run
    # RBAC: the pod's service account may create RayJobs
    assert pod["serviceAccountName"] == by_kind("cronjob.yaml", "ServiceAccount")["metadata"]["name"]
    role = by_kind("cronjob.yaml", "Role")
    assert any("rayjobs" in r["resources"] and {"create", "get"} <= set(r["verbs"]) for r in role["rules"])
    binding = by_kind("cronjob.yaml", "RoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["name"] == pod["serviceAccountName"]
    # the RayJob it creates runs the scheduled, incremental job
    rayjob = scheduled_rayjob()
    assert rayjob["kind"] == "RayJob" and rayjob["metadata"]["generateName"]
    entry = rayjob["spec"]["entrypoint"]
    assert check_entrypoint(entry, "cronjob.yaml") == "jobs/scheduled_archive.py"
    assert "--incremental" in shlex.split(entry)
    assert rayjob["spec"]["activeDeadlineSeconds"] < spec["jobTemplate"]["spec"]["activeDeadlineSeconds"]


def test_raycronjob():
    doc = by_kind("raycronjob.yaml", "RayCronJob")
    assert doc["apiVersion"] == "ray.io/v1"
    spec = doc["spec"]
    assert set(spec) <= {"schedule", "jobTemplate", "suspend"}, "fields KubeRay 1.6's RayCronJob has"
    assert len(spec["schedule"].split()) == 5
    entry = spec["jobTemplate"]["entrypoint"]
    assert check_entrypoint(entry, "raycronjob.yaml") == "jobs/scheduled_archive.py"
    assert "--incremental" in shlex.split(entry)


def test_partition_patterns_compile():
    for where, entry in [
        ("cronjob.yaml", scheduled_rayjob()["spec"]["entrypoint"]),
        ("raycronjob.yaml", by_kind("raycronjob.yaml", "RayCronJob")["spec"]["jobTemplate"]["entrypoint"]),
    ]:
        argv = shlex.split(entry)
        pattern = re.compile(argv[argv.index("--partition-pattern") + 1])
        m = pattern.search("lot7/cam2/2026-03-01/000123.jpg")
        assert m and m.group("site") == "lot7" and m.group("date") == "2026-03-01", where


def test_service_account_is_the_one_pods_use():
    sa = by_kind("serviceaccount.yaml", "ServiceAccount")["metadata"]["name"]
    for where, spec in ray_cluster_specs():
        groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
        assert {g["template"]["spec"]["serviceAccountName"] for g in groups} == {sa}, where


def test_autoscaler_config():
    cfg = yaml.safe_load((CLUSTER / "autoscaler-aws-g4dn.yaml").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = Path(ray.__file__).parent / "autoscaler" / "ray-schema.json"
    jsonschema.validate(cfg, json.loads(schema_path.read_text()))
    assert cfg["provider"]["type"] == "aws"
    types = cfg["available_node_types"]
    assert cfg["head_node_type"] in types
    gpu = [t for t in types.values() if t["node_config"]["InstanceType"].startswith("g4dn.")]
    cpu = [n for n, t in types.items() if n != cfg["head_node_type"] and t not in gpu]
    assert gpu and cpu
    assert sum(t.get("max_workers", 0) for n, t in types.items() if n != cfg["head_node_type"]) >= cfg["max_workers"]
    extras = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    gpu_cmds = " ".join(cfg["setup_commands"] + gpu[0].get("worker_setup_commands", cfg.get("worker_setup_commands", [])))
    assert RAY_MAJOR_MINOR in " ".join(cfg["setup_commands"])
    installed = set()
    for m in re.finditer(r"lpr-ray\[([a-z,]+)\]", gpu_cmds):
        installed |= set(m.group(1).split(","))
    assert {"pipeline", "tensorrt"} <= installed <= extras, installed
    assert "~/lpr-ray" in cfg["file_mounts"]


def test_dockerfile_installs_the_extras_and_matches_ray():
    text = (CLUSTER / "Dockerfile").read_text()
    assert re.search(rf"FROM rayproject/ray:{re.escape(ray.__version__)}", text) or RAY_MAJOR_MINOR in text
    assert "pipeline,tensorrt" in text
    image = by_kind("rayjob-t4.yaml", "RayJob")["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"][
        "containers"][0]["image"]
    assert image in text


def test_running_docs_document_each_file():
    running = (REPO / "docs" / "RUNNING.md").read_text()
    section = running[running.index("## Running on a cluster"):]
    for name in [*KUBE_FILES, "autoscaler-aws-g4dn.yaml", "Dockerfile"]:
        assert f"cluster/{name}" in section, name
    assert os.path.exists(REPO / "jobs" / "recognize.py")
