"""The function the runtime image test deploys: its zip is mounted at /var/task, the layer
(tests/image/layer) at /opt. It reports what it finds of the image it runs in."""

import datetime
import os
import platform
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import zoneinfo

import greeting  # from the layer: /opt/python


def os_release():
    """/etc/os-release as a dict (platform.freedesktop_os_release is 3.10+)."""
    with open("/etc/os-release") as f:
        pairs = (line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        return {k: v.strip('"') for k, v in pairs}


def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    if "sleep" in event:  # Managed Instances: which worker (of which init) served it
        time.sleep(event["sleep"])
        return {"pid": os.getpid(), "ppid": os.getppid()}
    with open("/tmp/image-test", "w") as f:
        f.write(context.aws_request_id)
    with open("/tmp/image-test") as f:
        tmp_ok = f.read() == context.aws_request_id
    try:
        open("/var/runtime/written-by-the-function", "w").close()
        runtime_writable = True
    except OSError:
        runtime_writable = False
    summer = datetime.datetime(2026, 7, 1, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    return {
        "greeting": greeting.hello(event.get("name", "image")),
        "python": "%d.%d" % sys.version_info[:2],
        "prefix": sys.prefix,
        "sys_path_0": sys.path[0],
        "machine": platform.machine(),
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH", ""),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "cwd": os.getcwd(),
        "ca_certificates": ssl.create_default_context().cert_store_stats()["x509_ca"],
        "shell": subprocess.run(["/bin/sh", "-c", "echo $((6 * 7))"], capture_output=True, text=True).stdout.strip(),
        "paris_summer_offset_hours": summer.utcoffset().total_seconds() / 3600,
        "https_port": socket.getservbyname("https"),
        "os": os_release().get("VERSION_CODENAME"),
        "sqlite": sqlite3.sqlite_version,
        "tmp_ok": tmp_ok,
        "runtime_writable": runtime_writable,
    }
