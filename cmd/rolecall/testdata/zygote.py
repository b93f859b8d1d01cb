"""A fork server for the Python clients of the identity matrix.

    python3 zygote.py SOCKET MODULE... [-- SCRIPT ARG...]

Imports MODULE... once (the AWS CLI's driver and boto3 take most of a
client's start), then, given a SCRIPT, runs it once in a throwaway child
(no credentials files, a closed port for an endpoint) and imports every
module that run imported (a client imports most of its modules lazily, on
its first call): the parent never runs a client itself. It then listens
on the Unix socket SOCKET, prints "ready", then forks a child for each
connection. The child reads one JSON line {"argv": [...], "env": {...},
"cwd": "..."} (sent by the test binary's zrun program), takes that
environment, directory and argv as its own, and runs argv[0] as a script
(runpy), as `python3 argv[0] argv[1:]` would, with its stdout and stderr on
the connection. Nothing of one request reaches
another: each child is a fresh fork of the parent, which never runs a
client. Of the environment, botocore and the CLI touch at import time only
AWS_DATA_PATH (awscli adds its data directory): a child gets what its
imports set there, and a request that sets a variable the imports read or
wrote is refused, so a child sees what a process started with that
environment would.
"""
import importlib
import json
import os
import runpy
import shutil
import signal
import socket
import sys
import tempfile

# A child that runs longer than this is hung: SIGALRM ends it, the client
# sees the connection close.
HUNG_AFTER_SECONDS = 300


def serve_one(conn, imported_env):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            os._exit(2)
        data += chunk
    req = json.loads(data)
    fd = conn.fileno()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    clash = sorted(set(req["env"]) & (set(imported_env) | {"AWS_DATA_PATH"}))
    if clash:
        raise RuntimeError(f"the request sets {clash}, which the imports read or set: run the client as a process")
    os.environ.clear()
    os.environ.update(req["env"])
    os.environ.update(imported_env)
    os.chdir(req["cwd"])
    sys.argv = req["argv"]
    signal.alarm(HUNG_AFTER_SECONDS)
    code = 0
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def modules_a_run_imports(argv):
    """The modules SCRIPT imports as it runs, run in a child: an empty
    HOME, keys that sign but name nobody, and a closed port to call."""
    r, w = os.pipe()
    before = set(sys.modules)
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            home = tempfile.mkdtemp()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            env = {
                "PATH": os.environ.get("PATH", ""),
                "HOME": home,
                "AWS_CONFIG_FILE": os.path.join(home, "config"),
                "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
                "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "AWS_REGION": "us-east-1",
                "AWS_MAX_ATTEMPTS": "1",
                "AWS_EC2_METADATA_DISABLED": "true",
                "STS_URL": "http://127.0.0.1:9",
            }
            os.environ.clear()
            os.environ.update(env)
            os.chdir(home)
            sys.argv = list(argv)
            signal.alarm(HUNG_AFTER_SECONDS)
            try:
                runpy.run_path(argv[0], run_name="__main__")
            except BaseException:  # noqa: BLE001 - a failed call is expected
                pass
            report = "\n".join(sorted(set(sys.modules) - before)).encode()
            while report:
                report = report[os.write(w, report) :]
            shutil.rmtree(home, ignore_errors=True)
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return [name for name in data.decode().split("\n") if name]


def reap(_signum, _frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def main():
    path = sys.argv[1]
    modules, warm = sys.argv[2:], []
    if "--" in modules:
        modules, warm = modules[: modules.index("--")], modules[modules.index("--") + 1 :]
    before = dict(os.environ)
    for name in modules:
        importlib.import_module(name)
    if warm:
        for name in modules_a_run_imports(warm):
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - then the fork imports it
                pass  # a module made at run time (a Cython module's own)
    imported_env = {k: v for k, v in os.environ.items() if before.get(k) != v}

    # Reap each child as it ends (its CPU time then counts in the
    # zygote's, and so in the test's).
    signal.signal(signal.SIGCHLD, reap)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        if os.fork() == 0:
            srv.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                serve_one(conn, imported_env)
            except BaseException as e:  # noqa: BLE001 - the client must hear why
                os.write(2, f"zygote: {type(e).__name__}: {e}\n".encode())
                os._exit(2)
        conn.close()


if __name__ == "__main__":
    main()
