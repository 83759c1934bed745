#!/usr/bin/python3.11
"""Runs the whole benchmark and writes OUT.json, OUT.md and OUT.png.

The C driver (build/bench/driver) does every timing; this script only
decides what to run, in which order, and turns the driver's raw samples
into medians, ratios and pass/fail targets. Standard library only.
See bench/README.md for what each number means.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import report  # noqa: E402  (bench/report.py: markdown + chart, shared with compare)
import through_rie  # noqa: E402

RUNTIMES = ("bootstrap", "awslambdaric", "floor", "pure_python", "bare_python")
# awslambdaric started as the managed Python runtime starts it (tests/differential/oracle/bootstrap.py).
AWSLAMBDARIC_LAUNCHER = os.path.join(os.path.dirname(HERE), "tests", "differential", "oracle", "bootstrap.py")
EVENT_SIZES = {"1kb": 1024, "256kb": 262144, "6mb": 6291456}

# Samples per profile. "full" is what `make bench` publishes; "quick" keeps
# the same JSON shape in under a minute; "test" only proves the plumbing.
PROFILES = {
    "full": dict(cold_rounds=8, cold_per_round=5, warmup=2000, invokes=100000, samples=20, block=1000,
                 echo_warmup=2, echo_runs={"1kb": 200, "256kb": 50, "6mb": 20}, json_runs=20),
    "quick": dict(cold_rounds=2, cold_per_round=5, warmup=300, invokes=10000, samples=10, block=500,
                  echo_warmup=1, echo_runs={"1kb": 50, "256kb": 10, "6mb": 3}, json_runs=3),
    "test": dict(cold_rounds=1, cold_per_round=3, warmup=50, invokes=300, samples=5, block=100,
                 echo_warmup=1, echo_runs={"1kb": 20, "256kb": 5, "6mb": 2}, json_runs=1),
}


def lambda_env(task_root):
    """The environment a provided.al2023 function sees (lambda-runtime-notes §1.9),
    minus credentials and X-Ray. LANG is C.UTF-8 because en_US.UTF-8 may not be
    generated here, and a missing locale would send Python into locale coercion."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LD_LIBRARY_PATH": "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
        "_HANDLER": "noop.handler",
    }


# ---------------------------------------------------------------- host facts

ELF_MACHINES = {62: "x86_64", 183: "arm64"}


def norm_arch(name):
    return {"aarch64": "arm64", "amd64": "x86_64"}.get(name, name)


def elf_arch(path):
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return None
    if head[:4] != b"\x7fELF":
        return None
    return ELF_MACHINES.get(int.from_bytes(head[18:20], "little"), "other")


def kernel_arch():
    """The kernel's own machine. qemu-user fakes uname() for the guest but
    passes /proc/sys through, so this still names the real CPU."""
    try:
        with open("/proc/sys/kernel/arch") as f:
            return norm_arch(f.read().strip())
    except OSError:
        pass
    try:
        with open("/proc/version") as f:
            text = f.read()
    except OSError:
        return None
    for triple, arch in (("x86_64-linux", "x86_64"), ("aarch64-linux", "arm64")):
        if triple in text:
            return arch
    return None


def detect_emulation(binaries):
    """True when timings would come from an emulator rather than the CPU
    they claim to describe. BENCH_EMULATED=0/1 overrides the detection."""
    forced = os.environ.get("BENCH_EMULATED")
    if forced in ("0", "1"):
        return forced == "1", "forced by BENCH_EMULATED"
    user = norm_arch(platform.machine())
    kern = kernel_arch()
    if kern and kern != user:
        return True, f"userland reports {user} but the kernel is {kern} (qemu-user)"
    for path in binaries:
        arch = elf_arch(path)
        if arch and kern and arch != kern:
            return True, f"{path} is {arch} on a {kern} kernel (binfmt/qemu)"
    try:
        with open("/proc/cpuinfo") as f:
            cpuinfo = f.read()
    except OSError:
        cpuinfo = ""
    if user == "arm64" and "CPU implementer\t: 0x00" in cpuinfo:
        return True, "arm64 CPU with implementer 0x00 (QEMU TCG 'max' CPU)"
    return False, f"native: userland, kernel and binaries are all {user}"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "Model", "CPU part")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]


def git_commit():
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "include"], cwd=HERE,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def python_facts(python):
    code = ("import platform, sysconfig, os, json; v = sysconfig.get_config_var; "
            "print(json.dumps({'version': platform.python_version(), "
            "'libpython': os.path.join(v('LIBDIR') or '', v('INSTSONAME') or '')}))")
    out = subprocess.run([python, "-I", "-S", "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return json.loads(out)


def linked_curl(binary):
    """How floor got its libcurl: Debian's shared library costs ~6 ms of cold
    start (coldstart-measurements.md, variant A), so the report says which."""
    try:
        out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return "shared (Debian libcurl4)" if "libcurl" in out else "static"


# ---------------------------------------------------------------- measuring

def die_with_parent():
    """Runs in the forked driver before exec: if this script dies, the driver
    gets SIGKILL (and its guard then kills the runtime), so nothing lingers."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)


class Bench:
    def __init__(self, args, prof):
        self.args = args
        self.prof = prof
        self.work = os.path.abspath(args.work)
        self.task = os.path.join(self.work, "task")
        self.logs = os.path.join(self.work, "logs")
        self.errors = []

    def prepare(self):
        """A task root with only the handler's source: no .pyc is shipped."""
        shutil.rmtree(self.task, ignore_errors=True)
        os.makedirs(self.task)
        shutil.copy(os.path.join(HERE, "handlers", "noop.py"), self.task)
        os.makedirs(self.logs, exist_ok=True)
        for name in RUNTIMES:
            open(os.path.join(self.logs, name + ".log"), "w").close()

    def runtime_specs(self, libpython):
        a = self.args
        # As on Lambda: the Python comes from the layer root when there is one (same version as
        # --python), else the bootstrap is pointed at that interpreter's own libpython.
        if a.layer_root:
            bootstrap_env = {"BOOTSTRAP_LAYER_ROOT": os.path.abspath(a.layer_root)}
        else:
            bootstrap_env = {"BOOTSTRAP_LIBPYTHON": libpython} if libpython else {}
        ric = [a.awslambdaric, AWSLAMBDARIC_LAUNCHER] if a.awslambdaric and os.path.exists(a.awslambdaric) else None
        specs = {
            "bootstrap": (["%s" % os.path.abspath(a.bootstrap)] if a.bootstrap else None, bootstrap_env),
            # AWS_EXECUTION_ENV as the managed runtime's launcher sets it (awslambdaric reads it)
            "awslambdaric": (ric, {"AWS_EXECUTION_ENV": "AWS_Lambda_python" + self.py_version}),
            "floor": ([os.path.abspath(a.floor)], {}),
            "pure_python": ([a.python, os.path.join(HERE, "pure_python_runtime.py")], {}),
            "bare_python": ([a.python, "-I", "-S", "-c", "pass"], {}),
        }
        return {k: v for k, v in specs.items() if k in self.selected}

    def driver(self, mode, name, argv, env, extra, multi=None):
        """One driver run. `multi`: {name: argv} of runtimes served side by side
        (warm/echo), instead of the single `name`/`argv`."""
        a = self.args
        cmd = [os.path.abspath(a.driver), mode]
        if multi:
            cmd += ["--names", ",".join(multi), "--log-dir", self.logs]
        else:
            cmd += ["--log", os.path.join(self.logs, name + ".log")]
        if a.cpu_driver >= 0:
            cmd += ["--cpu-driver", str(a.cpu_driver), "--cpu-child", str(a.cpu_child)]
        for k, v in env.items():
            cmd += ["--env", f"{k}={v}"]
        cmd += [str(x) for x in extra] + ["--"]
        if multi:
            for i, rt_argv in enumerate(multi.values()):
                cmd += (["::"] if i else []) + rt_argv
        else:
            cmd += argv
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800,
                                  preexec_fn=die_with_parent)
        except subprocess.TimeoutExpired:
            return {"error": f"driver {mode} timed out"}
        try:
            out = json.loads(proc.stdout) if proc.stdout.strip() else {}
        except json.JSONDecodeError:
            out = {"error": "unparsable driver output: " + proc.stdout[:200]}
        if proc.returncode != 0 and "error" not in out:
            out["error"] = f"driver {mode} exited {proc.returncode}: {proc.stderr.strip()[:300]}"
        return out

    def compile_handler(self):
        subprocess.run([self.args.python, "-I", "-S", "-c",
                        "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)",
                        os.path.join(self.task, "noop.py")], check=True, timeout=60)

    def cold_rounds(self, specs, env):
        """Rounds rotate the order of the runtimes, so slow drift in machine
        load (other builds) spreads over all of them instead of one."""
        p = self.prof
        raw = {name: {"nopyc": [], "pyc": [], "exit": []} for name in specs}
        names = list(specs)
        for r in range(p["cold_rounds"]):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                argv, extra_env = specs[name]
                if argv is None:
                    continue
                e = dict(env, **extra_env)
                runs = ["--runs", p["cold_per_round"]]
                if name == "bare_python":
                    raw[name]["exit"].append(self.driver("exit", name, argv, e, runs))
                    continue
                raw[name]["nopyc"].append(
                    self.driver("cold", name, argv, e, runs + ["--clean-pycache", self.task]))
                self.compile_handler()
                raw[name]["pyc"].append(self.driver("cold", name, argv, e, runs))
        return raw

    def side_by_side(self, mode, runtimes, env, extra):
        """warm/echo for all runtimes in one driver: they take turns (blocks of
        invocations, rotating order), so drift in machine load hits them alike.
        Returns {name: that runtime's result}."""
        out = self.driver(mode, None, None, env, extra, multi=runtimes)
        per = out.get("runtimes")
        if not isinstance(per, dict):
            return {n: {"error": out.get("error", f"driver {mode} failed")} for n in runtimes}
        return {n: per.get(n, {"error": "no result"}) for n in runtimes}

    def warm(self, runtimes, env):
        p = self.prof
        return self.side_by_side("warm", runtimes, env, ["--warmup", p["warmup"], "--invokes", p["invokes"],
                                                         "--samples", p["samples"], "--block", p["block"]])

    def echo(self, runtimes, env):
        p = self.prof
        sizes = ",".join(f"{EVENT_SIZES[k]}:{p['echo_runs'][k]}" for k in EVENT_SIZES)
        return self.side_by_side("echo", runtimes, env, ["--sizes", sizes, "--warmup", p["echo_warmup"]])

    def bare_ready_rss(self, argv_python, env):
        """bare_python's own VmRSS/RssAnon/RssFile at the end of its -c, read by
        itself: the closest thing to "RSS at first /next" an interpreter that
        serves nothing has. Memory only; these runs are not timed."""
        code = ("import sys; sys.stdout.write(''.join(l for l in open('/proc/self/status') "
                "if l.startswith(('VmRSS', 'RssAnon', 'RssFile'))))")
        keys = {"VmRSS": "rss_ready_kb", "RssAnon": "rss_ready_anon_kb", "RssFile": "rss_ready_file_kb"}
        samples = {v: [] for v in keys.values()}
        for _ in range(5):
            out = subprocess.run([argv_python, "-I", "-S", "-c", code], env=env, capture_output=True,
                                 text=True, timeout=60).stdout
            for line in out.splitlines():
                k, _, v = line.partition(":")
                if k in keys:
                    samples[keys[k]].append(int(v.split()[0]))
        return {k: med(v) for k, v in samples.items()}

    def boto3_init(self, specs, env):
        """A realistic init: a handler that imports boto3 from a dependency layer and creates a
        client, cold start to the first response, bootstrap and awslambdaric in alternation."""
        a, p = self.args, self.prof
        task = os.path.join(self.work, "task-boto3")
        shutil.rmtree(task, ignore_errors=True)
        os.makedirs(task)
        shutil.copy(os.path.join(HERE, "handlers", "boto3_init.py"), task)
        layer = os.path.abspath(a.boto3_layer)
        # What Lambda unpacks into /opt for bootstrap: the runtime layer and the deps layer.
        opt = os.path.join(self.work, "opt-boto3")
        shutil.rmtree(opt, ignore_errors=True)
        os.makedirs(opt)
        arch = norm_arch(a.arch)
        if a.layer_root:
            os.symlink(os.path.join(os.path.abspath(a.layer_root), arch), os.path.join(opt, arch))
        os.symlink(os.path.join(layer, "python"), os.path.join(opt, "python"))
        e = dict(env, LAMBDA_TASK_ROOT=task, _HANDLER="boto3_init.handler")
        runs = {"bootstrap": dict(specs["bootstrap"][1], BOOTSTRAP_LAYER_ROOT=opt),
                "awslambdaric": dict(specs["awslambdaric"][1], ORACLE_OPT=layer)}
        raw = {n: [] for n in runs}
        for r in range(p["cold_rounds"]):
            for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                argv = specs[name][0]
                if argv is None:
                    continue
                raw[name].append(self.driver("cold", name, argv, dict(e, **runs[name]),
                                             ["--runs", p["cold_per_round"]]))
        out = {}
        for name, batches in raw.items():
            ms = concat(batches, "first_response_ms")
            out[name] = {"cold_to_first_response_ms": med(ms), "cold_start_ms": med(concat(batches, "next_ms")),
                         "cold_starts": len(ms), "rss_kb": med(concat(batches, "rss_kb"))}
            errs = batch_errors(batches)
            if errs or not ms:
                out[name]["error"] = errs[0] if errs else "no cold start measured"
        return out

    def through_rie(self, specs, env):
        a, p = self.args, self.prof
        out = {}
        for name in ("bootstrap", "awslambdaric"):
            argv, extra = specs.get(name, (None, {}))
            if argv is None:
                out[name] = {"error": name + " not available"}
                continue
            with open(os.path.join(self.logs, "rie-" + name + ".log"), "w") as log:
                out[name] = through_rie.measure(a.rie, argv, dict(env, **extra), self.task, a.cpu_child,
                                                colds=p["cold_rounds"] * p["cold_per_round"],
                                                warmup=min(p["warmup"], 500), invokes=min(p["invokes"], 5000),
                                                log=log)
        return out

    def json_inproc(self):
        files = []
        for size in EVENT_SIZES.values():
            path = os.path.join(self.work, f"event-{size}.json")
            with open(path, "wb") as f:
                subprocess.run([os.path.abspath(self.args.driver), "event", str(size)], stdout=f,
                               check=True, timeout=60)
            files.append(path)
        cmd = [self.args.python, "-I", "-S", os.path.join(HERE, "json_inproc.py"),
               "--runs", str(self.prof["json_runs"]), "--cpu", str(self.args.cpu_child)] + files
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            return {"error": out.stderr.strip()[-300:]}
        return json.loads(out.stdout)


# ---------------------------------------------------------------- summarising

def med(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def quartiles(values):
    if len(values) < 4:
        return None
    q = statistics.quantiles(values, n=4)
    return [round(q[0], 3), round(q[2], 3)]


def concat(batches, key):
    out = []
    for b in batches:
        out += b.get(key, [])
    return out


def batch_errors(batches):
    return [b["error"] for b in batches if "error" in b]


def tally(parts):
    t = {"sent": 0, "completed": 0, "errors": 0, "mismatches": 0, "unexpected": 0,
         "extension_registrations": 0, "extension_parked": 0}
    for part in parts:
        for k in t:
            t[k] += part.get(k, 0)
    t["lost"] = t["sent"] - t["completed"] - t["errors"]
    return t


def summarise_exit(raw):
    batches = raw["exit"]
    ms, rss = concat(batches, "exit_ms"), concat(batches, "maxrss_kb")
    out = {"cold_start_ms": med(ms), "cold_start_min_ms": min(ms) if ms else None,
           "cold_start_iqr_ms": quartiles(ms), "cold_starts": len(ms),
           "cold_start_cpu_ms": med(concat(batches, "cpu_ms")),
           "rss_kb": med(rss), "peak_rss_kb": med(rss), "rss_method": "ru_maxrss (wait4) of the whole run",
           "nonzero_exits": sum(b.get("nonzero_exits", 0) for b in batches)}
    errs = batch_errors(batches)
    if errs:
        out["error"] = errs[0]
    return out


def summarise_cold(raw):
    nopyc, pyc = raw["nopyc"], raw["pyc"]
    nxt = concat(nopyc, "next_ms")
    out = {
        "cold_start_ms": med(nxt),
        "cold_start_min_ms": min(nxt) if nxt else None,
        "cold_start_iqr_ms": quartiles(nxt),
        "cold_starts": len(nxt),
        "cold_start_cpu_ms": med(concat(nopyc, "cpu_ms")),
        "cold_to_first_response_ms": med(concat(nopyc, "first_response_ms")),
        "cold_start_pyc_ms": med(concat(pyc, "next_ms")),
        "cold_to_first_response_pyc_ms": med(concat(pyc, "first_response_ms")),
        "rss_kb": med(concat(nopyc, "rss_kb")),
        "rss_hwm_kb": med(concat(nopyc, "hwm_kb")),
        "rss_anon_kb": med(concat(nopyc, "anon_kb")),
        "rss_file_kb": med(concat(nopyc, "file_kb")),
        "peak_rss_kb": med(concat(nopyc, "maxrss_kb")),
        "rss_method": "VmRSS from /proc/<pid>/status when the first GET /next arrives",
        "connections_per_start": max(concat(nopyc + pyc, "connections_per_start") or [0]),
    }
    errs = batch_errors(nopyc + pyc)
    if errs:
        out["error"] = errs[0]
    return out, tally(nopyc + pyc)


def summarise_warm(w):
    if "error" in w:
        return {"error": w["error"]}, tally([w])
    lat = w["lat_us"]
    return {
        "warm_p50_us": lat["p50"], "warm_p90_us": lat["p90"], "warm_p99_us": lat["p99"],
        "warm_mean_us": lat["mean"], "warm_min_us": lat["min"], "warm_max_us": lat["max"],
        "invokes_per_s": w["invokes_per_s"], "warm_cpu_us": w.get("cpu_us_per_invoke"),
        "warm_invokes": w["invokes"], "warm_warmup": w["warmup"],
        "rss_growth_kb": w["rss_end_kb"] - w["rss_after_warmup_kb"],
        "rss_growth_from_init_kb": w["rss_end_kb"] - w["rss_init_kb"],
        "rss_growth_invokes": w["invokes"],
        "rss_warm_end_kb": w["rss_end_kb"],
        "rss_samples": w["rss_samples"],
        "warm_connections": w["connections"],
        "extension_connections": w.get("extension_connections"),
    }, tally([w])


def summarise_echo(e):
    if "sizes" not in e or "error" in e:
        return {"error": e.get("error", "echo failed")}, tally([e])
    out = {}
    by_size = {s["bytes"]: s for s in e["sizes"]}
    for key, size in EVENT_SIZES.items():
        s = by_size.get(size)
        if s:
            out[f"echo_{key}_ms"] = med(s["ms"])
            out[f"echo_{key}_min_ms"] = min(s["ms"]) if s["ms"] else None
            out[f"echo_{key}_runs"] = s["runs"]
            out[f"echo_{key}_cpu_ms"] = s.get("cpu_ms_per_run")
            out[f"echo_{key}_response_bytes"] = s["response_bytes"]
    out["echo_connections"] = e.get("connections")
    return out, tally([e])


def add_tallies(*ts):
    out = {}
    for t in ts:
        for k, v in t.items():
            out[k] = out.get(k, 0) + v
    return out


def ratios_vs_awslambdaric(res):
    """awslambdaric's figure over the bootstrap's, for each metric both have: how many times
    faster (or smaller) the bootstrap is, measured in this run."""
    def ratio(a, b):
        return round(a / b, 2) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None

    b, r = res.get("bootstrap") or {}, res.get("awslambdaric") or {}
    out = {k: ratio(r.get(k), b.get(k)) for k in (
        "cold_start_ms", "cold_to_first_response_ms", "cold_start_pyc_ms", "warm_p50_us", "warm_p99_us",
        "rss_kb", "echo_1kb_ms", "echo_256kb_ms", "echo_6mb_ms")}
    out["invokes_per_s"] = ratio(b.get("invokes_per_s"), r.get("invokes_per_s"))
    boto = res.get("boto3_init") or {}
    out["boto3_cold_to_first_response_ms"] = ratio((boto.get("awslambdaric") or {}).get("cold_to_first_response_ms"),
                                                   (boto.get("bootstrap") or {}).get("cold_to_first_response_ms"))
    rie = res.get("through_rie") or {}
    for k in ("cold_start_ms", "warm_p50_us"):
        out["rie_" + k] = ratio((rie.get("awslambdaric") or {}).get(k), (rie.get("bootstrap") or {}).get(k))
    return out


# ---------------------------------------------------------------- targets

def ratio_target(name, expr, value, limit, unit, cpu=None):
    """A pass/fail target on wall-clock numbers. `cpu` = (value, limit): the
    same rule on on-CPU time, reported beside it (informational: steadier on a
    busy host, but not what the target is written against)."""
    def r(x):
        return None if x is None else round(x, 3)
    ok = None if value is None or limit is None else value <= limit
    t = {"name": name, "expr": expr, "value": r(value), "limit": r(limit), "unit": unit, "pass": ok}
    if cpu is not None:
        cv, cl = cpu
        t.update(cpu_value=r(cv), cpu_limit=r(cl), cpu_pass=None if cv is None or cl is None else cv <= cl)
    return t


def get(res, runtime, key):
    return (res.get(runtime) or {}).get(key)


def evaluate_targets(res):
    b = lambda k: get(res, "bootstrap", k)  # noqa: E731
    f = lambda k: get(res, "floor", k)  # noqa: E731
    pp = lambda k: get(res, "pure_python", k)  # noqa: E731
    bare = lambda k: get(res, "bare_python", k)  # noqa: E731

    def mul(x, k):
        return None if x is None else x * k

    def sub(x, y):
        return None if x is None or y is None else x - y

    def add(x, y):
        return None if x is None or y is None else x + y

    return [
        ratio_target("cold_start", "bootstrap.cold_start_ms <= 1.25 x bare_python.cold_start_ms",
                     b("cold_start_ms"), mul(bare("cold_start_ms"), 1.25), "ms",
                     cpu=(b("cold_start_cpu_ms"), mul(bare("cold_start_cpu_ms"), 1.25))),
        ratio_target("warm_p50", "bootstrap.warm_p50_us <= 1.25 x floor.warm_p50_us",
                     b("warm_p50_us"), mul(f("warm_p50_us"), 1.25), "us",
                     cpu=(b("warm_cpu_us"), mul(f("warm_cpu_us"), 1.25))),
        ratio_target("warm_overhead",
                     "(bootstrap - floor) p50 <= 0.5 x (pure_python - floor) p50",
                     sub(b("warm_p50_us"), f("warm_p50_us")),
                     mul(sub(pp("warm_p50_us"), f("warm_p50_us")), 0.5), "us",
                     cpu=(sub(b("warm_cpu_us"), f("warm_cpu_us")),
                          mul(sub(pp("warm_cpu_us"), f("warm_cpu_us")), 0.5))),
        ratio_target("rss_init", "bootstrap.rss_kb <= bare_python.rss_kb + 3072",
                     b("rss_kb"), add(bare("rss_kb"), 3072), "KB"),
        ratio_target("rss_growth", "bootstrap.rss_growth_kb <= 512 (over rss_growth_invokes)",
                     b("rss_growth_kb"), 512 if b("rss_growth_kb") is not None else None, "KB"),
        ratio_target("echo_6mb", "bootstrap.echo_6mb_ms <= 1.2 x (floor.echo_6mb_ms + json_6mb_ms)",
                     b("echo_6mb_ms"), mul(add(f("echo_6mb_ms"), res.get("json_6mb_ms")), 1.2), "ms",
                     cpu=(b("echo_6mb_cpu_ms"), mul(add(f("echo_6mb_cpu_ms"), res.get("json_6mb_cpu_ms")), 1.2))),
    ]


# ---------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", default="build/bench/driver")
    ap.add_argument("--floor", default="build/bench/floor")
    ap.add_argument("--bootstrap", default="./bootstrap",
                    help="the bootstrap binary; empty string = it failed to build (reported as an error)")
    ap.add_argument("--python", default="/usr/bin/python3.11")
    ap.add_argument("--layer-root", default="",
                    help="BOOTSTRAP_LAYER_ROOT for the bootstrap (a runtime layer of --python's version)")
    ap.add_argument("--awslambdaric", default="",
                    help="the python of a venv with awslambdaric (scripts/anchors.sh): measured as a runtime")
    ap.add_argument("--rie", default="", help="AWS's RIE: both runtimes are also measured through it")
    ap.add_argument("--boto3-layer", default="",
                    help="a dependency layer with boto3 (python/): the realistic-init row")
    ap.add_argument("--arch", default=norm_arch(platform.machine()))
    ap.add_argument("--out", default="bench/results/latest", help="writes OUT.json, OUT.md, OUT.png")
    ap.add_argument("--work", default="build/bench/run")
    ap.add_argument("--quick", action="store_true", help="same as --profile quick")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="full")
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--pin", choices=("off", "same", "split"), default="same",
                    help="same (default): driver, runtimes and the in-process json run on the last CPU; "
                         "off: the scheduler decides; "
                         "split: driver on CPU 0, runtime on CPU 1 (slow on VMs: every hand-off is a "
                         "cross-CPU wake-up)")
    ap.add_argument("--nice", type=int, default=-10,
                    help="niceness for the whole run (children inherit it); needs root for < 0")
    ap.add_argument("--no-chart", action="store_true")
    ap.add_argument("--quiet", action="store_true", help="do not print the markdown table")
    args = ap.parse_args()
    if args.quick:
        args.profile = "quick"
    for name in ("awslambdaric", "rie", "boto3_layer"):  # the RIE runs the runtimes from the task root
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))
    args.cpu_driver = args.cpu_child = -1
    last = (os.cpu_count() or 1) - 1
    if args.pin == "same":
        args.cpu_driver = args.cpu_child = last
    elif args.pin == "split" and last >= 1:
        args.cpu_driver, args.cpu_child = 0, 1
    if args.layer_root and not os.path.isdir(os.path.join(args.layer_root, norm_arch(args.arch or os.uname().machine))):
        ap.error(f"--layer-root {args.layer_root}: no {norm_arch(args.arch or os.uname().machine)}/ layer there "
                 "(make layers builds it)")
    return args


def renice(n):
    try:
        os.nice(n - os.nice(0))
        return os.nice(0)
    except OSError:
        return os.nice(0)


def measure(bench, specs, env):
    """Every measurement, in order: cold rounds, then warm, then echo."""
    results = {}
    cold = bench.cold_rounds(specs, env)
    live = {n: argv for n, (argv, _) in specs.items() if argv is not None and n != "bare_python"}
    # One environment for the side-by-side runs: the union of the extras
    # (only the bootstrap reads BOOTSTRAP_LIBPYTHON; the others ignore it).
    shared_env = dict(env)
    for n in live:
        shared_env.update(specs[n][1])
    warm = bench.warm(live, shared_env) if live else {}
    echo = bench.echo(live, shared_env) if live else {}
    for name, (argv, extra_env) in specs.items():
        if argv is None:
            results[name] = {"error": "bootstrap binary missing or failed to build" if name == "bootstrap"
                             else "awslambdaric not installed (make awslambdaric-py3.11; --awslambdaric)"}
            continue
        if name == "bare_python":
            results[name] = summarise_exit(cold[name])
            results[name].update(bench.bare_ready_rss(argv[0], dict(env, **extra_env)))
            continue
        c, tc = summarise_cold(cold[name])
        w, tw = summarise_warm(warm[name])
        x, tx = summarise_echo(echo[name])
        entry = {**c, **w, **x, "checks": add_tallies(tc, tw, tx)}
        errs = [d["error"] for d in (c, w, x) if "error" in d]
        entry.pop("error", None)
        if errs:
            entry["error"] = "; ".join(errs)
        results[name] = entry
    return results


def main():
    args = parse_args()
    prof = PROFILES[args.profile]
    t_start = time.monotonic()
    bench = Bench(args, prof)
    bench.selected = [r for r in args.runtimes.split(",") if r]
    bench.prepare()
    if args.bootstrap and not os.path.exists(args.bootstrap):
        args.bootstrap = ""
    nice = renice(args.nice)
    py = python_facts(args.python)
    libpython = py["libpython"] if os.path.exists(py["libpython"]) else None
    binaries = [p for p in (args.bootstrap, args.floor, args.driver) if p]
    emulated, evidence = detect_emulation(binaries)
    # The result describes the CPU the bootstrap binary is for, whatever ran it.
    args.arch = (elf_arch(args.bootstrap) if args.bootstrap else None) or args.arch
    env = lambda_env(bench.task)
    bench.py_version = ".".join(py["version"].split(".")[:2])
    specs = bench.runtime_specs(libpython)
    load_start = loadavg()
    res = {
        "schema": 1,
        "arch": args.arch,
        "emulated": emulated,
        "emulation_evidence": evidence,
        "python": py["version"],
        "python_path": args.python,
        "quick": args.profile != "full",
        "profile": args.profile,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_commit": git_commit(),
        "host": {"cpu": cpu_model(), "cpus": os.cpu_count(), "kernel": platform.release(),
                 "loadavg_start": load_start},
        "method": {"pin_driver_cpu": args.cpu_driver, "pin_runtime_cpu": args.cpu_child, "nice": nice,
                   "libpython": libpython, "bootstrap_layer_root": args.layer_root or None,
                   "floor_libcurl": linked_curl(args.floor),
                   "task_root": "handler source only; cold_start_* removes __pycache__ before each start, "
                                "cold_start_pyc_* runs with a py_compile'd .pyc",
                   **prof},
    }
    res.update(measure(bench, specs, env))
    if "bootstrap" in bench.selected or "floor" in bench.selected:
        j = bench.json_inproc()
        for key, size in EVENT_SIZES.items():
            if str(size) in j:
                res[f"json_{key}_ms"] = round(j[str(size)]["median_ms"], 3)
                res[f"json_{key}_cpu_ms"] = round(j[str(size)]["cpu_median_ms"], 3)
    if args.boto3_layer and "bootstrap" in specs and "awslambdaric" in specs:
        res["boto3_init"] = bench.boto3_init(specs, env)
    if args.rie and "bootstrap" in specs and "awslambdaric" in specs:
        res["through_rie"] = bench.through_rie(specs, env)
    res["vs_awslambdaric"] = ratios_vs_awslambdaric(res)
    res["targets"] = evaluate_targets(res)
    res["host"]["loadavg_end"] = loadavg()
    res["elapsed_s"] = round(time.monotonic() - t_start, 1)
    failed = [n for n in bench.selected if "error" in (res.get(n) or {})]
    for section in ("boto3_init", "through_rie"):
        failed += ["%s.%s" % (section, n) for n, v in (res.get(section) or {}).items() if "error" in v]
    for n in bench.selected:
        checks = (res.get(n) or {}).get("checks", {})
        if checks.get("lost") or checks.get("errors") or checks.get("unexpected"):
            failed.append(n)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    with open(args.out + ".md", "w") as f:
        f.write(report.results_markdown(res))
    chart_ok = True
    if not args.no_chart:
        chart_ok = report.results_chart(res, args.out + ".png")
    if not args.quiet:
        print(report.results_markdown(res))
    print(f"bench: wrote {args.out}.json, .md{'' if args.no_chart else ', .png'} in {res['elapsed_s']} s")
    if failed:
        print("bench: FAILED runtimes: " + ", ".join(sorted(set(failed))), file=sys.stderr)
        for n in sorted(set(failed)):
            print(f"  {n}: {(res.get(n) or {}).get('error', (res.get(n) or {}).get('checks'))}", file=sys.stderr)
    return 1 if failed or not chart_ok else 0


if __name__ == "__main__":
    sys.exit(main())
