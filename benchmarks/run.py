"""Speed and memory, as ratios against a baseline measured in the same run.

Usage: ``make bench`` (or ``python benchmarks/run.py [--quick] [--only agg,validate,...]``).
Prints a table and writes it, with a description of the machine, to ``benchmarks/RESULTS.md``.

Each case runs in a fresh process (``benchmarks/cases.py``; imports included). The cases of a
comparison are run in rounds — one of each, then again — so that a change in the machine's load
hits both sides of a ratio alike; the table shows the median time and the largest peak resident
memory (``os.wait4``) over the rounds. Cases that take longer than ``--long`` seconds run one
round only. A comparison also checks that its cases computed the same thing (a checksum each
case prints). Absolute numbers depend on the machine and its load; the ratios are what to
compare. Inputs are built once and cached in ``benchmarks/out/data`` (see ``data.py``).

Groups: ``synth`` (generation scaling), ``agg`` (order lines → client × quarter panel: ours vs
hand-written DuckDB SQL vs pandas, Parquet and CSV), ``validate``, ``classify``, ``stats``
(exploratory grid, one-portfolio bootstrap), ``report`` (``run --sample`` vs its floor, jobs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
CASES = HERE / "cases.py"
sys.path.insert(0, str(HERE))

import data  # noqa: E402  (benchmarks/data.py)

GROUPS = ("synth", "agg", "validate", "classify", "stats", "report")
TEST_N_WORLDS = 2  # 05_method_check's n_worlds at test size
Row = tuple  # (case, size, seconds or ratio, MB or ratio, note)


class Bench:
    def __init__(self, repeat: int, long: float) -> None:
        self.repeat, self.long = repeat, long
        self.rows: list[Row] = []
        self.failures: list[str] = []
        self.cpu: dict[str, float] = {}  # CPU seconds (user + system) of the last run of each case

    # -- measuring ---------------------------------------------------------------------------
    def run_case(self, argv: list[str], env: dict | None = None) -> tuple[float, float, str]:
        """Wall time (s), peak RSS (MB) and the last stdout line of one fresh process (via _launch.py)."""
        with tempfile.TemporaryDirectory() as tmp:
            stats, out, err = (Path(tmp) / n for n in ("stats.json", "out.txt", "err.txt"))
            with open(out, "w") as fo, open(err, "w") as fe:
                subprocess.run([PY, str(HERE / "_launch.py"), str(stats), *map(str, argv)], stdout=fo, stderr=fe,
                               env={**os.environ, **(env or {})}, cwd=str(ROOT), check=False)
            res = json.loads(stats.read_text()) if stats.is_file() else {"rc": -1}
            stdout, stderr = out.read_text(), err.read_text()
        if res["rc"] != 0:
            raise RuntimeError(f"{' '.join(map(str, argv))} failed:\n{stderr[-3000:]}")
        lines = [l for l in stdout.splitlines() if l.strip()]
        self.last_cpu = res.get("cpu_seconds", float("nan"))
        return res["seconds"], res["maxrss_mb"], lines[-1] if lines else ""

    def compare(self, cases: dict[str, list[str]], *, envs: dict | None = None, same: bool = True,
                repeat: int | None = None) -> dict[str, tuple[float, float]]:
        """Run the cases in rounds; median time and max peak per case. ``same``: checksums must agree."""
        envs = envs or {}
        times: dict[str, list] = {k: [] for k in cases}
        peaks: dict[str, list] = {k: [] for k in cases}
        sums: dict[str, str] = {}
        rounds = repeat or self.repeat
        r = 0
        while r < rounds:
            for name, argv in cases.items():
                print(f"  {name} (round {r + 1})", file=sys.stderr, flush=True)
                s, mb, last = self.run_case(argv, envs.get(name))
                self.cpu[name] = self.last_cpu
                times[name].append(s)
                peaks[name].append(mb)
                sums[name] = last
            r += 1
            if r == 1 and max(t[0] for t in times.values()) > self.long:
                break  # long cases: one round
        if same:
            ref_name, ref = next(iter(sums.items()))
            for name, got in sums.items():
                if not _same(json.loads(ref or "{}"), json.loads(got or "{}")):
                    self.failures.append(f"{name} computed something else than {ref_name}: {got} vs {ref}")
        return {k: (statistics.median(times[k]), max(peaks[k])) for k in cases}

    def row(self, case: str, size: str, value, mb=None, note: str = "") -> None:
        self.rows.append((case, size, value, mb, note))

    def skip(self, case: str, why: str) -> None:
        self.rows.append((case, "", None, None, f"skipped: {why}"))


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, float) and isinstance(y, float):
            if abs(x - y) > max(1.0, 1e-12 * abs(x)):
                return False
        elif x != y:
            return False
    return True


def case(name: str, *args) -> list[str]:
    return [PY, str(CASES), name, *map(str, args)]


def _module_available(name: str, attr: str | None = None) -> bool:
    code = f"import {name}" + (f"; getattr({name}, {attr!r})" if attr else "")
    return subprocess.run([PY, "-c", code], capture_output=True, cwd=str(ROOT)).returncode == 0


# -- groups --------------------------------------------------------------------------------------

def bench_synth(b: Bench, quick: bool) -> None:
    sizes = {"sample size": (30, 12, 40), "large": (60, 16, 150) if quick else (120, 16, 250)}
    per_line = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (p, t, k) in sizes.items():
            folder = Path(tmp) / label.split()[0]
            argv = [PY, "-m", "analysis.cli", "synth", "--out", str(folder), "--portfolios", str(p),
                    "--periods", str(t), "--clients", str(k), "--seed", "1"]
            res = b.compare({label: argv}, same=False)[label]
            lines = sum(1 for _ in open(folder / "transactions.csv")) - 1
            per_line[label] = res[0] / lines
            b.row(f"synth {label}", f"{lines:,} lines", res[0], res[1])
    small, large = per_line.values()
    b.row("synth: time per line, large ÷ small", "", large / small, None, "linear scaling → about 1 or less")


def bench_agg(b: Bench, quick: bool) -> None:
    sizes = ({"0.1M": data.world("0.1M", "0.1M"), "1M": data.world("1M-q", "0.1M", copies=10)} if quick else
             {"1M": data.world("1M", "1M"), "10M": data.world("10M", "1M", copies=10)})
    small, large = sizes
    for label, folders in sizes.items():
        for fmt in ("parquet", "csv"):
            f = folders[fmt]
            lines = _lines(f)
            cases = {"ours": case("agg_ours", f), "duckdb_sql": case("agg_duckdb", f),
                     "duckdb_sql_arrow": case("agg_duckdb_arrow", f), "pandas": case("agg_pandas", f)}
            if label == small and fmt == "csv":
                cases["ours_pandas_ingest"] = case("agg_ours_pandas_ingest", f)
            res = b.compare(cases)
            size = f"{lines / 1e6:.1f}M lines, {fmt}"
            names = {"ours": "aggregate: ours (Ibis → DuckDB, files read in place)",
                     "duckdb_sql": "aggregate: DuckDB SQL by hand (.df())",
                     "duckdb_sql_arrow": "aggregate: DuckDB SQL by hand (Arrow → pandas)",
                     "pandas": "aggregate: pandas read (pyarrow) + groupby",
                     "ours_pandas_ingest": "aggregate: ours via ingest.load (pandas readers)"}
            for k, (s, mb) in res.items():
                b.row(names[k], size, s, mb)
            o, d, da, p = res["ours"], res["duckdb_sql"], res["duckdb_sql_arrow"], res["pandas"]
            best = min(d, da, key=lambda x: x[0])
            goal = " (goal ≤ 1.3 time, ≤ 1.2 memory)" if label == large else ""
            b.row(f"ratio ours ÷ DuckDB SQL{goal}", size, o[0] / d[0], o[1] / d[1])
            b.row("ratio ours ÷ the faster DuckDB SQL variant", size, o[0] / best[0], o[1] / best[1])
            b.row("ratio pandas ÷ DuckDB SQL", size, p[0] / d[0], p[1] / d[1])
            b.row("ratio pandas ÷ ours", size, p[0] / o[0], p[1] / o[1])
            if label == small:
                b.row("fixed overhead: ours − DuckDB SQL (s)", size, o[0] - d[0], None, "imports of Ibis and pandas")
            if "ours_pandas_ingest" in res:
                pi = res["ours_pandas_ingest"]
                b.row("ratio ingest.load path ÷ in-place path", size, pi[0] / o[0], pi[1] / o[1],
                      "the tolerant readers hold every cell in pandas")
    f = sizes[large]["parquet"]
    res = b.compare({"ours 2GB": case("agg_ours", f)}, envs={"ours 2GB": {"KEYCLIENTS_DUCKDB_MEMORY_LIMIT": "2GB"}},
                    same=False, repeat=1)
    b.row("aggregate: ours with DuckDB memory_limit=2GB", f"{_lines(f) / 1e6:.1f}M lines, parquet",
          *res["ours 2GB"], "bounded: the engine spills; the rest is the panel itself in pandas")


def bench_validate(b: Bench, quick: bool) -> None:
    small = data.world("0.1M", "0.1M") if quick else data.world("1M", "1M")
    large = data.world("1M-q", "0.1M", copies=10) if quick else data.world("10M", "1M", copies=10)
    for folders, big in ((large, True), (small, False)):
        for fmt in ("parquet", "csv"):
            f = folders[fmt]
            size = f"{_lines(f) / 1e6:.1f}M lines, {fmt}"
            cases = {"check": case("check_ours", f), "scan": case("scan_duckdb", f)}
            if not big and fmt == "csv":
                cases["pandas"] = case("validate_pandas_ingest", f)
            if not big and fmt == "parquet":
                continue
            res = b.compare(cases, same=False)
            b.row("validate: ours in the engine (analysis.ingest.engine.check)", size, *res["check"])
            b.row("validate: floor — DuckDB reads every cell once", size, *res["scan"])
            b.row("ratio engine check ÷ floor", size, res["check"][0] / res["scan"][0], res["check"][1] / res["scan"][1])
            if "pandas" in res:
                b.row("validate: ingest.validate (pandas readers, pandera)", size, *res["pandas"])
                b.row("ratio ingest.validate ÷ engine check", size, res["pandas"][0] / res["check"][0],
                      res["pandas"][1] / res["check"][1])


def bench_classify(b: Bench, quick: bool) -> None:
    if not _module_available("analysis.categories.rules", "classify"):
        return b.skip("categorise", "module not available (analysis.categories.rules.classify)")
    sizes = (20_000,) if quick else (20_000, 100_000)
    per_row = {}
    for n in sizes:
        folder = data.category_panel(n, 12)
        res = b.compare({"classify": case("classify_ours", folder), "floor": case("classify_floor", folder)},
                        same=False)
        size = f"{n:,} clients × 12 periods"
        b.row("categorise: client_features + classify", size, *res["classify"], f"CPU {b.cpu['classify']:.1f} s"
              + (" (goal ≤ 10 s)" if n == 100_000 else ""))
        b.row("categorise floor: imports, read panel, one window sum", size, *res["floor"])
        b.row("ratio categorise ÷ floor", size, res["classify"][0] / res["floor"][0],
              res["classify"][1] / res["floor"][1])
        per_row[n] = res["classify"]
    big = max(per_row)
    t, mb = per_row[big]
    scale = 1_000_000 / big
    if quick:
        return
    if mb * scale < 0.6 * _available_mb():  # 1M clients only when memory grows linearly into what is free
        folder = data.category_panel(1_000_000, 12)
        load = os.getloadavg()[0]
        res = b.compare({"classify 1M": case("classify_ours", folder)}, same=False, repeat=1)
        t1, mb1 = res["classify 1M"]
        cpu = b.cpu["classify 1M"]
        b.row("categorise 1M × 12 (goal ≤ 60 s, ≤ 8 GB peak on 2 cores)", "1,000,000 clients × 12 periods", t1, mb1,
              f"CPU {cpu:.1f} s (user + system); load average {load:.1f} at start"
              + ("; met on " + ("wall time" if t1 <= 60 else "CPU time (the machine was shared)")
                 if min(t1, cpu) <= 60 and mb1 <= 8192 else
                 "; missed: " + ("over 8 GB" if mb1 > 8192 else "wall and CPU time both over 60 s")))
    else:
        b.row("categorise 1,000,000 clients × 12 periods", "not run", None, None,
              f"extrapolated from {big:,}: ≈ {t * scale / 60:.0f} min, ≈ {mb * scale / 1024:.0f} GB, more than "
              f"60 % of the {_available_mb() / 1024:.0f} GB free")


def _available_mb() -> float:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def bench_stats(b: Bench, quick: bool) -> None:
    if not _module_available("analysis.growth.exploratory", "explore"):
        b.skip("exploratory grid", "module not available (analysis.growth.exploratory.explore)")
        return b.skip("one-portfolio bootstrap", "module not available (analysis.growth.confirmatory)")
    path = data.grid_input("0.1M" if quick else "1M")
    res = b.compare({"grid": case("grid_ours", path), "single": case("single_ours", path),
                     "floor": case("stats_floor", path)}, same=False)
    size = "6 categories × 8 outcomes × 4 lags" if not quick else "quick world"
    b.row("exploratory grid (panel model, BH)", size, *res["grid"])
    b.row("one-portfolio tests (ADL: HAC, block bootstrap 999, F)", "1 portfolio", *res["single"])
    b.row("stats floor: imports, read analysis panel", "", *res["floor"])
    b.row("ratio grid ÷ floor", "", res["grid"][0] / res["floor"][0], res["grid"][1] / res["floor"][1])
    b.row("ratio one-portfolio ÷ floor", "", res["single"][0] / res["floor"][0], res["single"][1] / res["floor"][1])


def floor_notebooks(folder: Path) -> list[Path]:
    """The report's notebooks reduced to their parameters and import cells: the runner's floor."""
    import nbformat

    from analysis.report.runner import list_notebooks

    out = []
    for nb_path in list_notebooks():
        nb = nbformat.read(nb_path, as_version=4)
        keep = [c for c in nb.cells if c.cell_type == "code" and (
            "parameters" in c.metadata.get("tags", []) or c.source.lstrip().startswith(("import", "from")))]
        for cell in keep:
            if "parameters" not in cell.metadata.get("tags", []):
                cell.source = "\n".join(l for l in cell.source.splitlines() if l.startswith(("import", "from")))
        nb.cells = keep
        target = folder / nb_path.name
        nbformat.write(nb, target)
        out.append(target)
    return out


def _size(folder: Path, inputs: bool = False) -> int:
    """Bytes in a folder; ``inputs``: only the files a run reads (tables, not truth.json or README)."""
    files = [f for f in Path(folder).rglob("*") if f.is_file()]
    if inputs:
        files = [f for f in files if f.suffix in (".csv", ".xlsx", ".parquet", ".tsv", ".txt") and f.parent == Path(folder)]
    return sum(f.stat().st_size for f in files)


def bench_report(b: Bench, quick: bool) -> None:
    from analysis.config import SAMPLE_DIR
    from analysis.report.runner import list_notebooks

    names = [p.stem for p in list_notebooks()]
    extra = {}  # the method check with its default world count (a third of the report's time at most)
    if "05_method_check" not in names:
        b.skip("05_method_check", "notebook not available")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "floor_nb").mkdir()
        books = floor_notebooks(tmp / "floor_nb")

        def code(out: str, jobs: int, floor: bool, data_dir: Path = SAMPLE_DIR, params: dict = extra) -> list[str]:
            nb = f"notebooks=[Path(p) for p in {[str(x) for x in books]!r}]," if floor else ""
            return [PY, "-c", textwrap.dedent(f"""
                from pathlib import Path
                from analysis.report.runner import run_report
                r = run_report(data_dir=Path({str(data_dir)!r}), out_dir={str(tmp / out)!r}, jobs={jobs}, log=None,
                               {nb} extra_parameters={params!r})
                assert not r.failed, r.failed
                print('{{}}')
            """)]

        res = b.compare({"report": code("rep", 2, False), "floor": code("floor", 2, True)}, same=False)
        n = f"{len(books)} notebooks, default n_worlds"
        b.row("run --sample (report, --jobs 2)", n, *res["report"], f"CPU {b.cpu['report']:.1f} s")
        b.row("run --sample floor (imports only, --jobs 2)", n, *res["floor"], f"CPU {b.cpu['floor']:.1f} s")
        b.row("ratio report ÷ floor (goal ≤ 1.5)", "", res["report"][0] / res["floor"][0], res["report"][1] / res["floor"][1],
              f"CPU {b.cpu['report'] / b.cpu['floor']:.2f}")
        _worlds_share(b, tmp / "rep", "sample")
        _page_costs(b, tmp / "rep", tmp / "floor", "sample")
        size, inputs = _size(tmp / "rep"), _size(SAMPLE_DIR, inputs=True)
        b.row("ratio report folder ÷ input size (goal ≤ 10)", f"{size / 1e6:.1f} MB ÷ {inputs / 1e6:.1f} MB",
              size / inputs, None, "sample")
        if not quick:
            res1 = b.compare({"jobs1": code("rep1", 1, False)}, same=False, repeat=1)
            b.row("run --sample --jobs 1", n, *res1["jobs1"])
            b.row("ratio --jobs 2 ÷ --jobs 1 time", "", res["report"][0] / res1["jobs1"][0], None,
                  f"{os.cpu_count()} cores")

        world = data.export_world()
        clients, lines = (sum(1 for _ in open(world / f"{t}.csv")) - 1 for t in ("clients", "transactions"))
        label = f"{clients:,} clients, {lines:,} lines, 6 quarters"
        res = b.compare({"report": code("wrep", 2, False, world), "floor": code("wfloor", 2, True, world)},
                        same=False)
        b.row("run --data export-shaped world (report, --jobs 2)", label, *res["report"], f"CPU {b.cpu['report']:.1f} s")
        b.row("run --data export-shaped world floor", label, *res["floor"], f"CPU {b.cpu['floor']:.1f} s")
        b.row("ratio report ÷ floor, export-shaped world (goal ≤ 2.0)", "", res["report"][0] / res["floor"][0],
              res["report"][1] / res["floor"][1], f"CPU {b.cpu['report'] / b.cpu['floor']:.2f}")
        _worlds_share(b, tmp / "wrep", "export-shaped world")
        _page_costs(b, tmp / "wrep", tmp / "wfloor", "export-shaped world")
        size, inputs = _size(tmp / "wrep"), _size(world, inputs=True)
        b.row("ratio report folder ÷ input size (goal ≤ 10)", f"{size / 1e6:.1f} MB ÷ {inputs / 1e6:.1f} MB",
              size / inputs, None, "export-shaped world")
        b.row("SIGTERM mid-run leaves nothing behind", "sample", None, None, _sigterm_check(tmp / "stop"))


def _worlds_share(b: Bench, report: Path, label: str) -> None:
    """The method check's worlds against the whole report (goal ≤ 1/3): their CPU seconds (the
    manifest's ``<page> worlds CPU``, the pool jobs' own) ÷ the report's (its process tree)."""
    timings = json.loads((report / "manifest.json").read_text(encoding="utf-8")).get("timings", {})
    cpu = sum(v for k, v in timings.items() if k.endswith("worlds CPU"))
    wall = sum(v for k, v in timings.items() if k.endswith(" worlds"))
    b.row("ratio method-check worlds ÷ report, CPU (goal ≤ 1/3)", label, cpu / b.cpu["report"], None,
          f"worlds {cpu:.1f} s CPU over {wall:.0f} s wall, in the pool beside the other pages")


def _page_costs(b: Bench, report: Path, floor: Path, label: str) -> None:
    """Where the report's CPU beyond its floor goes: each page's CPU (its kernel's, the
    manifest's ``<page> CPU``) minus its floor page's, the study's preparation and the worlds
    likewise, and the rest (the runner's own process: checks, HTML pages, workbook)."""
    def cpu(folder: Path) -> dict:
        t = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("timings", {})
        return {k[: -len(" CPU")]: float(v) for k, v in t.items() if k.endswith(" CPU")}

    rep, flo = cpu(report), cpu(floor)
    if not rep or set(rep) != set(flo):
        return b.skip(f"CPU beyond the floor by page ({label})", "the manifests carry no CPU per page")
    for name in sorted(rep):
        b.row(f"CPU beyond the floor: {name}", label, rep[name] - flo[name], None,
              f"{rep[name]:.1f} − {flo[name]:.1f} s")
    rest = (b.cpu["report"] - sum(rep.values())) - (b.cpu["floor"] - sum(flo.values()))
    b.row("CPU beyond the floor: the runner's own process", label, rest, None, "checks, HTML pages, workbook")


def _sigterm_check(out: Path) -> str:
    """Start ``keyclients run --sample``, send SIGTERM once two kernels run, and say what is left."""
    import signal

    import psutil

    script = Path(PY).with_name("keyclients")
    proc = subprocess.Popen([str(script), "run", "--sample", "--out", str(out), "-p", f"n_worlds={TEST_N_WORLDS}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    kids: list = []
    def kernel(k) -> bool:
        try:
            return "ipykernel" in " ".join(k.cmdline())
        except psutil.Error:  # ended (or a zombie) between listing and reading
            return False

    while time.monotonic() < deadline and proc.poll() is None:
        kids = psutil.Process(proc.pid).children(recursive=True)
        if any(kernel(k) for k in kids) and len(kids) >= 3:  # two workers, a kernel at least
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return "no: the run did not stop within 60 s"
    time.sleep(2)
    alive = []
    for k in kids:
        try:
            if k.is_running() and k.status() != psutil.STATUS_ZOMBIE:
                alive.append(k)
        except psutil.Error:
            pass
    left = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    ok = rc == 143 and not alive and not left
    return (f"{'yes' if ok else 'no'}: exit {rc}, {len(kids)} child processes before, {len(alive)} alive after, "
            f"{len(left)} partial folder(s) left")


def _lines(folder: Path) -> int:
    import duckdb

    f = folder / "transactions.parquet"
    src = f"read_parquet('{f}')" if f.is_file() else f"read_csv('{folder / 'transactions.csv'}')"
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    n = con.sql(f"SELECT count(*) FROM {src}").fetchall()[0][0]
    con.close()
    return n


def _fmt(v, mb: bool = False) -> str:
    if v is None:
        return ""
    if mb and v > 20:
        return f"{v:,.0f}"
    return f"{v:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes, one round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per comparison (default 3)")
    parser.add_argument("--long", type=float, default=20.0, help="cases longer than this run one round (s)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of {', '.join(GROUPS)}")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    only = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = set(only) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; use {', '.join(GROUPS)}")
    repeat = 1 if args.quick else args.repeat
    b = Bench(repeat, args.long)
    load0 = os.getloadavg()[0]
    started = time.perf_counter()
    for group in GROUPS:
        if group in only:
            print(f"[{group}]", file=sys.stderr, flush=True)
            globals()[f"bench_{group}"](b, args.quick)
    header = "| case | size | time (s) or ratio | peak MB or ratio | note |\n| --- | --- | ---: | ---: | --- |"
    lines = [f"| {c} | {s} | {_fmt(v)} | {_fmt(m, mb=not c.startswith('ratio'))} | {n} |" for c, s, v, m, n in b.rows]
    table = header + "\n" + "\n".join(lines)
    print(table)
    machine = (f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
               f"load average {load0:.2f} at start and {os.getloadavg()[0]:.2f} at the end")
    text = (f"# Benchmark results\n\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — {machine}; "
            f"{'quick mode, ' if args.quick else ''}groups {', '.join(only)}; median of up to {repeat} round(s), "
            f"each case a fresh process (imports included); {time.perf_counter() - started:.0f} s in all.\n\n"
            f"{table}\n")
    notes = HERE / "notes.md"  # what was profiled and changed, with before/after ratios (kept by hand)
    if notes.is_file():
        text += "\n" + notes.read_text(encoding="utf-8")
    if b.failures:
        text += "\n**Checksum mismatches:**\n\n" + "\n".join(f"- {f}" for f in b.failures) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"\nwritten to {args.out}")
    if b.failures:
        print("\n".join(b.failures), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
