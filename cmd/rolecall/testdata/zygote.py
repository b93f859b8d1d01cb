"""A fork server for the Python clients of the identity matrix.

    python3 zygote.py SOCKET MODULE...

Imports MODULE... once (the AWS CLI's driver and boto3 take most of a
client's start), listens on the Unix socket SOCKET, prints "ready", then
forks a child for each connection. The child reads one JSON line
{"argv": [...], "env": {...}, "cwd": "..."} (sent by the test binary's
zrun program), takes that environment, directory and argv as its own, and
runs argv[0] as a script (runpy), as `python3 argv[0] argv[1:]` would, with
its stdout and stderr on the connection. Nothing of one request reaches
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
import signal
import socket
import sys

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


def reap(_signum, _frame):
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def main():
    path = sys.argv[1]
    before = dict(os.environ)
    for name in sys.argv[2:]:
        importlib.import_module(name)
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
