"""A local single-node Elasticsearch managed by the project (DESIGN §3).

The distribution is Maven Central's ``integ-test-zip`` (server, transport and
x-pack core/security only), fetched once with ``mvn dependency:copy``, unpacked
into the data folder and started in the background on 127.0.0.1 with security
off. Elasticsearch refuses to run as root, so a root caller gets a dedicated
unprivileged system user that owns the node's folder.

Layout of the data folder (``AUDITLOG_DATA_DIR``)::

    elasticsearch-<version>/   the unpacked distribution (config rewritten)
    es-data/  es-logs/         the node's data and logs
    node.json                  pid, port and url of the running node
    node.out                   the launcher's stdout/stderr of the node
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

# Newest version published as integ-test-zip on Maven Central that runs on the
# machine's Java 17 (9.x is not published there and needs Java 21+). The Python
# client in pyproject.toml is pinned to the same major version.
ELASTICSEARCH_VERSION = "8.19.21"
MAVEN_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
SYSTEM_USER = "auditlog-es"
MIN_JAVA = 17
# Nodes started by this process, kept so they are reaped on stop (no zombies, no
# "subprocess still running" warnings when a Popen object is collected).
_children: dict[int, subprocess.Popen[bytes]] = {}


class LocalNodeError(RuntimeError):
    """The local node could not be installed, started or stopped; the message says why."""


@dataclass
class NodeState:
    """What ``node.json`` records about a node this launcher started."""

    pid: int
    port: int
    url: str
    version: str
    home: str


def default_data_dir() -> Path:
    """The folder for the node: ``AUDITLOG_DATA_DIR`` or a per-user default."""
    configured = os.environ.get("AUDITLOG_DATA_DIR")
    if configured:
        return Path(configured).resolve()
    if os.geteuid() == 0:
        # Root's home is usually 0700, which the unprivileged node user cannot enter.
        return Path("/var/lib/auditlog")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "auditlog"


def cache_dir() -> Path:
    """Where the downloaded zip is kept between installs."""
    configured = os.environ.get("AUDITLOG_CACHE_DIR")
    if configured:
        return Path(configured).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "auditlog"


def _java_home() -> Path:
    """Find a Java runtime of at least MIN_JAVA, or raise naming what is missing."""
    candidates: list[Path] = []
    for var in ("ES_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]))
    java = shutil.which("java")
    if java:
        candidates.append(Path(os.path.realpath(java)).parent.parent)
    for home in candidates:
        binary = home / "bin" / "java"
        if not binary.exists():
            continue
        out = subprocess.run(
            [str(binary), "-version"], capture_output=True, text=True, check=False
        ).stderr
        major = _java_major(out)
        if major is not None and major >= MIN_JAVA:
            return home
    raise LocalNodeError(
        f"Java {MIN_JAVA} or newer is needed to run the local Elasticsearch node and none was "
        "found (checked ES_JAVA_HOME, JAVA_HOME and `java` on PATH). Install it, e.g. "
        "`apt-get install openjdk-17-jre-headless`, or set ELASTICSEARCH_URL to use an "
        "existing cluster."
    )


def _java_major(version_output: str) -> int | None:
    """Parse the major version out of ``java -version`` output (``"17.0.15"``, ``"1.8.0"``)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _download(version: str) -> Path:
    """Fetch the distribution zip with Maven once; return its cached path."""
    target_dir = cache_dir()
    zip_path = target_dir / f"elasticsearch-{version}.zip"
    if zip_path.exists():
        return zip_path
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalNodeError(
            "Maven (`mvn`) is needed once to fetch Elasticsearch from Maven Central and was "
            "not found. Install it, e.g. `apt-get install maven`, or set ELASTICSEARCH_URL."
        )
    target_dir.mkdir(parents=True, exist_ok=True)
    print(f"Fetching Elasticsearch {version} from Maven Central (once)...", file=sys.stderr)
    cmd = [
        mvn,
        "--batch-mode",
        "dependency:copy",
        f"-Dartifact={MAVEN_ARTIFACT.format(version=version)}",
        f"-DoutputDirectory={target_dir}",
        # Maven's own transfer log is the progress display of the first download.
        "-Dorg.slf4j.simpleLogger.log.org.apache.maven.cli.transfer.Slf4jMavenTransferListener=info",
    ]
    result = subprocess.run(cmd, cwd=target_dir, stdout=sys.stderr, check=False)
    if result.returncode != 0 or not zip_path.exists():
        raise LocalNodeError(
            f"`mvn dependency:copy` could not fetch {MAVEN_ARTIFACT.format(version=version)} "
            f"(exit {result.returncode})."
        )
    return zip_path


def _ensure_system_user() -> pwd.struct_passwd:
    """Create (once) the unprivileged user the node runs as when we are root."""
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
        check=True,
    )
    return pwd.getpwnam(SYSTEM_USER)


def _check_traversable(data_dir: Path) -> None:
    """The node user must be able to reach ``data_dir``: every parent needs o+x."""
    for parent in data_dir.resolve().parents:
        if not parent.stat().st_mode & 0o001:
            raise LocalNodeError(
                f"{parent} is not searchable by other users, so the unprivileged "
                f"{SYSTEM_USER!r} user cannot reach {data_dir}; choose another "
                "AUDITLOG_DATA_DIR (e.g. under /var/lib or /srv)"
            )


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def _install(data_dir: Path, version: str) -> Path:
    """Unpack the distribution into the data folder (once) and return its home."""
    home = data_dir / f"elasticsearch-{version}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    zip_path = _download(version)
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = data_dir / f".unpack-{version}"
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(partial)
    unpacked = partial / f"elasticsearch-{version}"
    for script in (unpacked / "bin").iterdir():
        script.chmod(0o755)
    unpacked.rename(home)
    shutil.rmtree(partial, ignore_errors=True)
    return home


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ClusterMember:
    """A node's place in a local multi-node cluster (``start_cluster``): its name and
    transport port, and every member's name and transport port (for discovery)."""

    cluster: str
    name: str
    transport_port: int
    members: tuple[tuple[str, int], ...]


def _discovery(member: ClusterMember | None) -> str:
    if member is None:
        return "cluster.name: auditlog-local\nnode.name: auditlog-local\ntransport.port: 0\n" \
               "discovery.type: single-node"
    seeds = ", ".join(f'"127.0.0.1:{port}"' for _, port in member.members)
    masters = ", ".join(f'"{name}"' for name, _ in member.members)
    return (f"cluster.name: {member.cluster}\nnode.name: {member.name}\n"
            f"transport.port: {member.transport_port}\n"
            f"discovery.seed_hosts: [{seeds}]\ncluster.initial_master_nodes: [{masters}]")


def _write_config(home: Path, data_dir: Path, port: int,
                  member: ClusterMember | None = None) -> None:
    config = f"""# Written by `auditlog elasticsearch start`; rewritten at every start.
{_discovery(member)}
network.host: 127.0.0.1
http.port: {port}
path.data: {data_dir / "es-data"}
path.logs: {data_dir / "es-logs"}
xpack.security.enabled: false
action.destructive_requires_name: false
cluster.routing.allocation.disk.threshold_enabled: false
"""
    (home / "config" / "elasticsearch.yml").write_text(config)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own exited child) is not a running node.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _health(url: str, timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/_cluster/health", timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def read_state(data_dir: Path | None = None) -> NodeState | None:
    """The recorded node of this data folder, if its process still runs."""
    path = (data_dir or default_data_dir()) / "node.json"
    try:
        state = NodeState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return state if _pid_alive(state.pid) else None


def start(
    data_dir: Path | None = None,
    port: int | None = None,
    heap: str = "1g",
    version: str = ELASTICSEARCH_VERSION,
    timeout: float = 180.0,
    member: ClusterMember | None = None,
    wait: bool = True,
) -> tuple[NodeState, bool]:
    """Start the local node, or find it running; return (state, started_now).

    ``member`` makes it one node of a local cluster (``start_cluster``) instead of a
    single-node one; ``wait=False`` returns as soon as the process runs.
    Raises LocalNodeError when Java or Maven is missing, the port is taken, or
    the node does not become yellow/green within ``timeout`` seconds.
    """
    data_dir = data_dir or default_data_dir()
    running = read_state(data_dir)
    if running is not None and _health(running.url) is not None:
        return running, False
    if running is not None:
        # Recorded and alive but not answering yet (e.g. still starting): wait for it.
        _wait_ready(running, timeout, data_dir)
        return running, False

    java_home = _java_home()
    home = _install(data_dir, version)
    if port is None:
        port = 9200 if _port_free(9200) else _free_port()
    elif not _port_free(port):
        raise LocalNodeError(f"port {port} on 127.0.0.1 is already in use")
    for sub in ("es-data", "es-logs", "tmp"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    _write_config(home, data_dir, port, member)

    env = dict(os.environ)
    env.pop("JAVA_HOME", None)
    env.update(
        ES_JAVA_HOME=str(java_home),
        ES_JAVA_OPTS=f"-Xms{heap} -Xmx{heap}",
        ES_TMPDIR=str(data_dir / "tmp"),
    )
    cmd = [str(home / "bin" / "elasticsearch")]
    if os.geteuid() == 0:
        _check_traversable(data_dir)
        user = _ensure_system_user()
        _chown_tree(data_dir, user.pw_uid, user.pw_gid)
        setpriv = shutil.which("setpriv")
        if setpriv:
            cmd = [
                setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
                *cmd,
            ]
        else:
            cmd = ["runuser", "-u", SYSTEM_USER, "--", *cmd]
        env["HOME"] = str(data_dir)
    log = open(data_dir / "node.out", "ab")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        cmd,
        cwd=data_dir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # outlives the launcher; stopped by `stop`
    )
    log.close()
    _children[proc.pid] = proc
    state = NodeState(
        pid=proc.pid, port=port, url=f"http://127.0.0.1:{port}", version=version, home=str(home)
    )
    (data_dir / "node.json").write_text(json.dumps(asdict(state)))
    if wait:
        _wait_ready(state, timeout, data_dir, proc)
    return state, True


def cluster_node_dirs(base_dir: Path, nodes: int) -> list[Path]:
    """The data folders of a local cluster's nodes: ``node-0`` ... under ``base_dir``."""
    return [base_dir / f"node-{n}" for n in range(nodes)]


def start_cluster(
    base_dir: Path,
    nodes: int = 3,
    heap: str = "512m",
    ports: list[int] | None = None,
    transport_ports: list[int] | None = None,
    timeout: float = 300.0,
) -> list[tuple[NodeState, ClusterMember]]:
    """Start ``nodes`` processes of the distribution on 127.0.0.1 as one cluster (every node
    master-eligible and a data node; indices with ``auto_expand_replicas`` get a replica).

    Each node has its own folder under ``base_dir`` (``cluster_node_dirs``); a node
    stopped or killed is started again with ``start(data_dir, port, member=...)``.
    Raises LocalNodeError as ``start`` does, or when the cluster does not gather every
    node within ``timeout`` seconds.
    """
    ports = ports or [_free_port() for _ in range(nodes)]
    transport_ports = transport_ports or [_free_port() for _ in range(nodes)]
    names = [f"node-{n}" for n in range(nodes)]
    members = tuple(zip(names, transport_ports, strict=True))
    cluster = f"auditlog-{base_dir.name}"
    started: list[tuple[NodeState, ClusterMember]] = []
    for data_dir, name, port, transport in zip(cluster_node_dirs(base_dir, nodes), names,
                                                ports, transport_ports, strict=True):
        member = ClusterMember(cluster, name, transport, members)
        state, _ = start(data_dir, port, heap=heap, timeout=timeout, member=member, wait=False)
        started.append((state, member))
    wait_for_nodes(started[0][0].url, nodes, timeout)
    return started


def wait_for_nodes(url: str, nodes: int, timeout: float = 300.0) -> dict:
    """Wait until the cluster at ``url`` has ``nodes`` nodes and is yellow or green; return
    its health. Raises LocalNodeError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    health: dict | None = None
    while time.monotonic() < deadline:
        health = _health(url)
        if (health and health.get("number_of_nodes") == nodes
                and health.get("status") in ("yellow", "green")):
            return health
        time.sleep(0.5)
    raise LocalNodeError(f"the cluster at {url} did not gather {nodes} nodes within "
                         f"{timeout:.0f}s (last health: {health})")


def kill(data_dir: Path) -> bool:
    """``kill -9`` the node of ``data_dir`` and its process group (a crash, not a stop);
    False when none ran."""
    state = read_state(data_dir)
    if state is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(state.pid, signal.SIGKILL)
    child = _children.pop(state.pid, None)
    if child is not None:
        child.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _pid_alive(state.pid):
        time.sleep(0.1)
    return True


def _wait_ready(
    state: NodeState, timeout: float, data_dir: Path, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LocalNodeError(
                f"Elasticsearch exited with code {proc.returncode} while starting; "
                f"last lines of {data_dir / 'node.out'}:\n{_tail(data_dir / 'node.out')}"
            )
        health = _health(state.url)
        if health and health.get("status") in ("yellow", "green"):
            return
        time.sleep(0.5)
    raise LocalNodeError(
        f"Elasticsearch did not become ready within {timeout:.0f}s at {state.url}; "
        f"see {data_dir / 'node.out'}:\n{_tail(data_dir / 'node.out')}"
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


def stop(data_dir: Path | None = None, timeout: float = 60.0) -> bool:
    """Stop the node this launcher started in ``data_dir``; False when none ran."""
    data_dir = data_dir or default_data_dir()
    state = read_state(data_dir)
    state_file = data_dir / "node.json"
    if state is None:
        state_file.unlink(missing_ok=True)
        return False
    # The node runs in its own session (start_new_session), so its group is its pid.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(state.pid):
        time.sleep(0.2)
    if _pid_alive(state.pid):
        os.killpg(state.pid, signal.SIGKILL)
    child = _children.pop(state.pid, None)
    if child is not None:
        child.wait()
    state_file.unlink(missing_ok=True)
    return True


def status(data_dir: Path | None = None) -> dict:
    """Where the node is: running or not, pid, url, version, cluster health."""
    data_dir = data_dir or default_data_dir()
    state = read_state(data_dir)
    if state is None:
        return {"running": False, "data_dir": str(data_dir)}
    health = _health(state.url)
    return {
        "running": True,
        "pid": state.pid,
        "url": state.url,
        "version": state.version,
        "data_dir": str(data_dir),
        "health": health.get("status") if health else "not answering",
    }
