"""Markdown tables and gnuplot charts for bench/run.py and bench/compare.

Charts are drawn by gnuplot (Debian's gnuplot-nox, listed in
scripts/packages/bench.txt) from small data files; everything else is the
standard library.
"""

import os
import shutil
import subprocess
import tempfile

RUNTIMES = ("bootstrap", "awslambdaric", "floor", "pure_python", "bare_python")


def fmt(v, digits=2):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def arch_label(res):
    """An emulated run is never shown as a plain arch result."""
    if res.get("emulated"):
        return f"{res.get('arch')} (EMULATED — not a real {res.get('arch')} timing)"
    return f"{res.get('arch')} (native)"


# (label, key, digits); None key = section header row
ROWS = [
    ("cold start: exec → first GET /next, median ms ¹", "cold_start_ms", 2),
    ("  min / IQR ms", "_cold_spread", 2),
    ("  CPU time of the process until then, median ms ³", "cold_start_cpu_ms", 2),
    ("  with a .pyc present, median ms", "cold_start_pyc_ms", 2),
    ("exec → first response posted, median ms", "cold_to_first_response_ms", 2),
    ("warm p50 µs (driver-side round trip)", "warm_p50_us", 1),
    ("warm p99 µs", "warm_p99_us", 1),
    ("warm mean µs", "warm_mean_us", 1),
    ("runtime CPU time per warm invocation, µs ³", "warm_cpu_us", 1),
    ("invocations/s (serial, one connection)", "invokes_per_s", 0),
    ("RSS at first GET /next, KB ²", "rss_kb", 0),
    ("  of which anonymous / file-backed, KB ⁴", "_rss_split", 0),
    ("peak RSS (ru_maxrss), KB", "peak_rss_kb", 0),
    ("RSS growth after warm-up, KB", "rss_growth_kb", 0),
    ("echo 1 KB, median ms", "echo_1kb_ms", 3),
    ("echo 256 KB, median ms", "echo_256kb_ms", 2),
    ("echo 6 MB, median ms", "echo_6mb_ms", 1),
    ("  runtime CPU time per 6 MB echo, ms ³", "echo_6mb_cpu_ms", 1),
    ("invocations sent / completed / lost", "_counts", 0),
    ("errors / echo mismatches / unexpected requests", "_bad", 0),
    ("Runtime API connections per process (+ Extensions API)", "_conns", 0),
]


def cell(entry, key, digits):
    if entry is None:
        return "not run"
    if "error" in entry and key == "cold_start_ms":
        return "error"
    if key == "_cold_spread":
        iqr = entry.get("cold_start_iqr_ms")
        if entry.get("cold_start_min_ms") is None:
            return "–"
        spread = f" / {fmt(iqr[0])}–{fmt(iqr[1])}" if iqr else ""
        return fmt(entry.get("cold_start_min_ms"), digits) + spread
    checks = entry.get("checks")
    if key == "_counts":
        return f"{checks['sent']:,} / {checks['completed']:,} / {checks['lost']}" if checks else "–"
    if key == "_bad":
        return f"{checks['errors']} / {checks['mismatches']} / {checks['unexpected']}" if checks else "–"
    if key == "_rss_split":
        anon = entry.get("rss_anon_kb", entry.get("rss_ready_anon_kb"))
        file_ = entry.get("rss_file_kb", entry.get("rss_ready_file_kb"))
        return "–" if anon is None else f"{fmt(anon, 0)} / {fmt(file_, 0)}"
    if key == "_conns":
        vals = [entry.get(k) for k in ("connections_per_start", "warm_connections", "echo_connections")]
        vals = [v for v in vals if v is not None]
        ext = entry.get("extension_connections")
        return (str(max(vals)) if vals else "–") + (f" (+{ext})" if ext else "")
    return fmt(entry.get(key), digits)


def results_markdown(res):
    m, h = res.get("method", {}), res.get("host", {})
    out = [f"# Benchmark: {arch_label(res)}, Python {res.get('python')}", ""]
    if res.get("emulated"):
        out += [f"> **Emulated run** ({res.get('emulation_evidence')}). These timings describe the "
                "emulator, not the CPU; do not compare them with native results.", ""]
    out += [
        f"- profile **{res.get('profile')}**{' (quick: fewer samples)' if res.get('quick') else ''}, "
        f"{res.get('date')}, commit `{res.get('git_commit')}`, took {res.get('elapsed_s')} s",
        f"- host: {h.get('cpu')}, {h.get('cpus')} CPUs, kernel {h.get('kernel')}; "
        f"load average {h.get('loadavg_start')} at start, {h.get('loadavg_end')} at end",
        f"- driver on CPU {m.get('pin_driver_cpu')}, runtimes on CPU {m.get('pin_runtime_cpu')} "
        f"(-1 = not pinned), nice {m.get('nice')}; floor's libcurl: {m.get('floor_libcurl')}",
        f"- {m.get('cold_rounds', 0) * m.get('cold_per_round', 0)} cold starts per runtime (and as many with "
        f".pyc), {fmt(m.get('invokes'))} warm invocations after {fmt(m.get('warmup'))} warm-up",
        "",
        "| metric | " + " | ".join(RUNTIMES) + " |",
        "|---|" + "---:|" * len(RUNTIMES),
    ]
    for label, key, digits in ROWS:
        out.append(f"| {label} | " + " | ".join(cell(res.get(r), key, digits) for r in RUNTIMES) + " |")
    out += [
        "",
        "¹ bare_python: `python3.11 -I -S -c pass` from exec to exit (includes its finalization). "
        "Runtimes: the handler's `__pycache__` is removed before each start.",
        "² bare_python: ru_maxrss (peak) of the whole run; runtimes: VmRSS when the first GET /next arrives.",
        "³ On-CPU time of the runtime process (all threads, `/proc/<pid>/task/*/schedstat`; bare_python: "
        "wait4's utime + stime). It excludes time spent waiting for a CPU, so it moves less than wall time "
        "on a busy host, but a saturated VM still inflates it (cache and TLB thrash).",
        "⁴ bare_python: RssAnon / RssFile read by the interpreter itself at the end of `-c` "
        f"(its VmRSS then: {fmt((res.get('bare_python') or {}).get('rss_ready_kb'), 0)} KB).",
        "",
        "Python's json in process (`json.dumps(json.loads(event))`, median ms): "
        f"1 KB {fmt(res.get('json_1kb_ms'), 3)}, 256 KB {fmt(res.get('json_256kb_ms'))}, "
        f"6 MB {fmt(res.get('json_6mb_ms'), 1)} (on-CPU {fmt(res.get('json_6mb_cpu_ms'), 1)}).",
        "",
        "## Targets",
        "",
        "| target | bootstrap | limit | result | same rule on on-CPU time ³ |",
        "|---|---:|---:|---|---|",
    ]
    verdicts = {True: "pass", False: "**FAIL**", None: "not measured"}
    for t in res.get("targets", []):
        cpu = "–"
        if "cpu_pass" in t:
            cpu = f"{fmt(t['cpu_value'])} ≤ {fmt(t['cpu_limit'])}: {verdicts[t['cpu_pass']].strip('*')}"
        out.append(f"| {t['expr']} | {fmt(t['value'])} {t['unit']} | {fmt(t['limit'])} {t['unit']} | "
                   f"{verdicts[t['pass']]} | {cpu} |")
    out += anchors_markdown(res)
    errs = [(r, res[r]["error"]) for r in RUNTIMES if isinstance(res.get(r), dict) and "error" in res[r]]
    for section in ("boto3_init", "through_rie"):
        errs += [(f"{section}.{r}", v["error"]) for r, v in (res.get(section) or {}).items() if "error" in v]
    if errs:
        out += ["", "## Errors", ""] + [f"- {r}: {e}" for r, e in errs]
    return "\n".join(out) + "\n"


def anchors_markdown(res):
    """The bootstrap against AWS's own runtime interface client, all measured in this run."""
    ratios = res.get("vs_awslambdaric") or {}
    if not ratios:
        return []
    x = lambda k: "–" if ratios.get(k) is None else f"{ratios[k]:.2f} ×"  # noqa: E731
    out = ["", "## Against awslambdaric (measured side by side in this run)", "",
           "| awslambdaric ÷ bootstrap | ratio |", "|---|---:|",
           f"| cold start, exec → first GET /next | {x('cold_start_ms')} |",
           f"| cold start, exec → first response posted | {x('cold_to_first_response_ms')} |",
           f"| warm p50 / p99 round trip | {x('warm_p50_us')} / {x('warm_p99_us')} |",
           f"| invocations/s (bootstrap ÷ awslambdaric) | {x('invokes_per_s')} |",
           f"| RSS at first GET /next | {x('rss_kb')} |",
           f"| echo 1 KB / 256 KB / 6 MB | {x('echo_1kb_ms')} / {x('echo_256kb_ms')} / {x('echo_6mb_ms')} |",
           f"| boto3 init: exec → first response | {x('boto3_cold_to_first_response_ms')} |",
           f"| through the RIE: cold (RIE spawn → first answer) / warm p50 | "
           f"{x('rie_cold_start_ms')} / {x('rie_warm_p50_us')} |"]
    boto = res.get("boto3_init") or {}
    if boto:
        out += ["", "Realistic init (a handler importing boto3 from a dependency layer and creating an S3 client "
                "at init), exec → first response posted, median ms: " + ", ".join(
                    f"{r} {fmt((boto.get(r) or {}).get('cold_to_first_response_ms'))}"
                    f" ({(boto.get(r) or {}).get('cold_starts', 0)} starts)" for r in ("bootstrap", "awslambdaric"))]
    rie = res.get("through_rie") or {}
    if rie:
        out += ["", "Through AWS's RIE (its own cost included; it sets the warm floor at about a millisecond): " +
                "; ".join(f"{r}: cold {fmt((rie.get(r) or {}).get('cold_start_ms'))} ms, warm p50 / p99 "
                          f"{fmt((rie.get(r) or {}).get('warm_p50_us'))} / {fmt((rie.get(r) or {}).get('warm_p99_us'))} µs"
                          for r in ("bootstrap", "awslambdaric"))]
    return out


# ---------------------------------------------------------------- charts

def gnuplot_available():
    return shutil.which("gnuplot") is not None


def _quote(s):
    return '"' + str(s).replace('"', "'") + '"'


def _panel_script(panel, datfile):
    series = panel["series"]
    lines = [
        f"set title {_quote(panel['title'])}",
        f"set ylabel {_quote(panel['ylabel'])}",
        "set logscale y" if panel.get("log") else "unset logscale y",
        "set yrange [*:*]" if panel.get("log") else "set yrange [0:*]",
        "set key below horizontal" if len(series) > 1 else "unset key",
    ]
    plots = []
    for i, (name, _) in enumerate(series):
        col = i + 2
        using = f"{col}:xtic(1)" if i == 0 else f"{col}"
        plots.append(f"{_quote(datfile) if i == 0 else chr(39) * 2} using {using} title {_quote(name)}")
    lines.append("plot " + ", ".join(plots))
    return lines


def _write_dat(path, panel):
    with open(path, "w") as f:
        for j, cat in enumerate(panel["categories"]):
            vals = []
            for _, values in panel["series"]:
                v = values[j]
                vals.append("?" if v is None or (panel.get("log") and v <= 0) else repr(float(v)))
            f.write(_quote(cat) + " " + " ".join(vals) + "\n")


def chart(path, title, panels, cols=2, size=(1400, 900)):
    """Clustered bar charts, one panel per metric, into a PNG. Returns False
    (and says why) when gnuplot is missing or fails."""
    if not gnuplot_available():
        print("bench: gnuplot not found; install gnuplot-nox (make deps) for the chart")
        return False
    rows = (len(panels) + cols - 1) // cols
    with tempfile.TemporaryDirectory() as tmp:
        script = [
            f"set terminal pngcairo size {size[0]},{size[1]} font 'sans,10'",
            f"set output {_quote(os.path.abspath(path))}",
            'set datafile missing "?"',
            "set style data histogram",
            "set style histogram clustered gap 1",
            "set style fill solid 0.85 border -1",
            "set boxwidth 0.9",
            "set grid ytics",
            "set xtics nomirror noenhanced",
            "set key noenhanced",
            f"set multiplot layout {rows},{cols} title {_quote(title)} noenhanced",
        ]
        for i, panel in enumerate(panels):
            dat = os.path.join(tmp, f"p{i}.dat")
            _write_dat(dat, panel)
            script += _panel_script(panel, dat)
        script.append("unset multiplot")
        gp = os.path.join(tmp, "chart.gp")
        with open(gp, "w") as f:
            f.write("\n".join(script) + "\n")
        proc = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            print("bench: gnuplot failed: " + proc.stderr.strip()[-500:])
            return False
    return True


def results_chart(res, path):
    get = lambda r, k: (res.get(r) or {}).get(k)  # noqa: E731
    rts = list(RUNTIMES)
    live = [r for r in rts if r != "bare_python"]
    panels = [
        {"title": "cold start: exec -> first GET /next (bare: exec -> exit), median",
         "ylabel": "ms", "categories": rts,
         "series": [("no .pyc", [get(r, "cold_start_ms") for r in rts]),
                    (".pyc present", [get(r, "cold_start_pyc_ms") for r in rts])]},
        {"title": "warm round trip (driver-side), log scale", "ylabel": "µs", "log": True,
         "categories": live,
         "series": [("p50", [get(r, "warm_p50_us") for r in live]),
                    ("p99", [get(r, "warm_p99_us") for r in live])]},
        {"title": "memory", "ylabel": "MB", "categories": rts,
         "series": [("RSS at first /next (bare: peak)", [_mb(get(r, "rss_kb")) for r in rts]),
                    ("peak RSS", [_mb(get(r, "peak_rss_kb")) for r in rts])]},
        {"title": "6 MB echo, median (json = Python json in process)", "ylabel": "ms",
         "categories": live + ["json in-process"],
         "series": [("6 MB", [get(r, "echo_6mb_ms") for r in live] + [res.get("json_6mb_ms")])]},
    ]
    title = f"bootstrap benchmark: {arch_label(res)}, Python {res.get('python')}, " \
            f"{res.get('profile')} profile, {res.get('date')}"
    return chart(path, title, panels)


def _mb(kb):
    return None if kb is None else kb / 1024.0
