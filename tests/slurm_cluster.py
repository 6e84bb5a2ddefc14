"""A throw-away one-node Slurm cluster (with job accounting) for the integration test.

Needs root and Debian's packages (installed on demand with apt): ``slurmctld``, ``slurmd``,
``slurmdbd``, ``slurm-client``, ``munge`` and ``mariadb-server``. All configuration,
state and logs live in one temporary folder; the node advertises one (fake) GPU so that
jobs asking for ``--gpus=1`` can run. :class:`SlurmCluster` starts munged, MariaDB,
slurmdbd, slurmctld and slurmd, remembers their process ids and stops exactly those.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
RUN_SLURM = Path("/run/slurm")
PACKAGES = ["slurmctld", "slurmd", "slurmdbd", "slurm-client", "munge", "mariadb-server"]
BINARIES = ["slurmctld", "slurmd", "slurmdbd", "sbatch", "sacct", "sacctmgr", "munged", "munge", "mariadbd"]


def why_unavailable() -> str | None:
    """A reason the cluster cannot be started here, or None."""
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root"
    if shutil.which("apt-get") is None and not all(_which(b) for b in BINARIES):
        return "needs Debian's apt-get (or the Slurm, munge and MariaDB binaries installed)"
    return None


def _which(name: str) -> str | None:
    return shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name)
                                       if p.exists()), None)


#: how long apt waits for another package manager (unattended upgrades, a parallel apt) to release its locks
APT_LOCK_TIMEOUT = 900


def apt_get(*args: str, lock_timeout: float = APT_LOCK_TIMEOUT, poll: float = 5.0) -> None:
    """Run ``apt-get -qq ARGS``, waiting while another package manager holds the dpkg or apt lists lock.

    ``DPkg::Lock::Timeout`` makes apt wait for the dpkg lock itself; the apt lists lock of
    ``apt-get update`` is retried here until ``lock_timeout`` seconds have passed. Any other
    failure raises :class:`subprocess.CalledProcessError` at once.
    """
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "-o", f"DPkg::Lock::Timeout={int(lock_timeout)}", "-qq", *args]
    deadline = time.monotonic() + lock_timeout
    while True:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode == 0:
            return
        locked = "Could not get lock" in proc.stderr or "Unable to lock" in proc.stderr
        if not locked or time.monotonic() > deadline:
            raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout, proc.stderr)
        time.sleep(poll)


def install() -> None:
    """apt-get install the packages if a binary is missing (no service is started)."""
    if all(_which(b) for b in BINARIES):
        return
    apt_get("update")
    # policy-rc.d 101: the packages' own services stay stopped
    policy = Path("/usr/sbin/policy-rc.d")
    created = not policy.exists()
    if created:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        apt_get("install", "-y", *PACKAGES)
    finally:
        if created:
            policy.unlink()


class SlurmCluster:
    """Start a one-node cluster in ``root``; use as a context manager.

    Attributes
    ----------
    env : dict
        Environment for client commands (``SLURM_CONF`` points at the cluster's config).
    pids : dict
        Daemon name -> process id of what this object started.
    """

    def __init__(self, root: Path, cpus: int = 2, memory_mb: int = 8000):
        self.root = Path(root)
        self.cpus, self.memory_mb = cpus, memory_mb
        self.host = socket.gethostname().split(".")[0]
        self.pids: dict[str, int] = {}
        self._procs: dict[str, subprocess.Popen] = {}
        self.conf = self.root / "etc/slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    # ---------------------------------------------------------------- config files
    def _write_configs(self) -> None:
        r = self.root
        for d in ("etc", "spool/ctld", "spool/d", "log", "run", "munge", "mysql", "tmp"):
            (r / d).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(f"""\
ClusterName=latentopt
SlurmctldHost={self.host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation={r}/spool/ctld
SlurmdSpoolDir={r}/spool/d
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmdPidFile={r}/run/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldParameters=enable_configless
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost={self.host}
AccountingStoragePort=16819
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={self.host} CPUs={self.cpus} RealMemory={self.memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
""")
        # a fake GPU: Slurm 22.05 counts a gpu GRES only with a device file, /dev/null serves
        (r / "etc/gres.conf").write_text(f"NodeName={self.host} Name=gpu File=/dev/null\n")
        (r / "etc/cgroup.conf").write_text("CgroupPlugin=autodetect\n")
        dbd = r / "etc/slurmdbd.conf"
        dbd.write_text(f"""\
AuthType=auth/munge
DbdHost={self.host}
DbdPort=16819
SlurmUser=root
LogFile={r}/log/slurmdbd.log
PidFile={r}/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=0
StorageLoc=slurm_acct_db
StorageUser=root
""")
        dbd.chmod(0o600)

    # ---------------------------------------------------------------- daemons
    def _spawn(self, name: str, cmd: list[str], log: str) -> None:
        with open(self.root / "log" / log, "ab") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=self.env,
                                    start_new_session=True)
        self.pids[name] = proc.pid
        self._procs[name] = proc

    def _wait(self, what: str, check, timeout: float = 60.0) -> None:
        t0 = time.time()
        while time.time() - t0 < timeout:
            if check():
                return
            time.sleep(0.5)
        logs = {p.name: p.read_text()[-2000:] for p in (self.root / "log").glob("*.log")}
        raise RuntimeError(f"Slurm test cluster: {what} did not come up in {timeout} s; logs: {logs}")

    def _ok(self, *cmd: str) -> bool:
        return subprocess.run(list(cmd), env=self.env, capture_output=True, stdin=subprocess.DEVNULL).returncode == 0

    def start(self) -> "SlurmCluster":
        r = self.root
        self._write_configs()
        # munge on its default socket (Slurm 22.05 clients ignore AuthInfo=socket=); a munged
        # that already answers there is reused, otherwise ours runs with a fresh key
        if not self._ok("munge", "-n"):
            MUNGE_SOCKET.parent.mkdir(parents=True, exist_ok=True)
            key = r / "munge/munge.key"
            key.write_bytes(os.urandom(1024))
            key.chmod(0o600)
            self._spawn("munged", [_which("munged"), "--foreground", "--force", f"--key-file={key}",
                                   f"--socket={MUNGE_SOCKET}", f"--pid-file={r}/run/munged.pid",
                                   f"--seed-file={r}/munge/munge.seed", f"--log-file={r}/log/munged.log"],
                        "munged.out")
            self._wait("munged", lambda: self._ok("munge", "-n"))
        # MariaDB on a private data directory and socket, no TCP
        sock = r / "run/mysqld.sock"
        subprocess.run([_which("mariadb-install-db") or "mysql_install_db", "--user=root", f"--datadir={r}/mysql",
                        "--auth-root-authentication-method=normal", "--skip-test-db"],
                       check=True, capture_output=True)
        self._spawn("mariadbd", [_which("mariadbd"), "--no-defaults", "--user=root", f"--datadir={r}/mysql",
                                 f"--socket={sock}", "--skip-networking", f"--pid-file={r}/run/mariadb.pid",
                                 f"--tmpdir={r}/tmp", "--innodb-buffer-pool-size=64M"], "mariadb.log")
        self._wait("mariadbd", lambda: sock.exists())
        # slurmdbd finds MariaDB through the client library's default socket
        self.env["MYSQL_UNIX_PORT"] = str(sock)
        self._spawn("slurmdbd", [_which("slurmdbd"), "-D"], "slurmdbd.out")
        self._wait("slurmdbd", lambda: self._ok("sacctmgr", "-n", "show", "cluster"))
        subprocess.run(["sacctmgr", "-i", "add", "cluster", "latentopt"], env=self.env, capture_output=True)
        subprocess.run(["sacctmgr", "-i", "add", "account", "latentopt", "Cluster=latentopt"], env=self.env,
                       capture_output=True)
        subprocess.run(["sacctmgr", "-i", "add", "user", "root", "Account=latentopt", "DefaultAccount=latentopt"],
                       env=self.env, capture_output=True)
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)], "slurmctld.out")
        self._wait("slurmctld", lambda: self._ok("scontrol", "ping"))
        # configless slurmd: it fetches the config from slurmctld and caches it in
        # /run/slurm/conf, where srun inside a job finds it (the executor plugin removes
        # SLURM_* variables, SLURM_CONF included, from the job environment)
        self._created_run_slurm = not RUN_SLURM.exists()
        env = {k: v for k, v in self.env.items() if k != "SLURM_CONF"}
        with open(self.root / "log/slurmd.out", "ab") as fh:
            proc = subprocess.Popen([_which("slurmd"), "-D", "--conf-server", f"{self.host}:16817"], stdout=fh,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.pids["slurmd"], self._procs["slurmd"] = proc.pid, proc

        def node_idle():
            out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True, text=True).stdout
            return out.strip().startswith("idle") or out.strip().startswith("mix")
        self._wait("slurmd (node idle)", node_idle)
        return self

    def stop(self) -> None:
        """Stop the daemons this object started (by process id), newest first."""
        for name in reversed(list(self.pids)):
            pid, proc = self.pids[name], self._procs[name]
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.pids.clear()
        self._procs.clear()
        if getattr(self, "_created_run_slurm", False):
            shutil.rmtree(RUN_SLURM, ignore_errors=True)

    def __enter__(self) -> "SlurmCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
