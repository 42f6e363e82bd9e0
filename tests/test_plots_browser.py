"""`dvc plots show` as a reader sees it: drawn by Vega in headless Chromium, and by vl-convert.

No training: a temporary git + DVC repo holds the project's dvc.yaml (rendered from params.yaml),
its custom templates (.dvc/plots/) and hand-made data: the study tables in tests/browser/data/
(the 12 reference architectures' seed-0 histories and confusion counts of a real 15-epoch study;
any other id, a user's or a synthetic one, gets a reference architecture's numbers scaled), each
architecture's history.csv cut from them, and tiny PNGs for the image plots.

Needs, outside the venv, what `bash tests/browser/install.sh` installs (Debian's chromium, the
Vega scripts locked in tests/browser/package-lock.json) and, in it, playwright and vl-convert-python.
`PLOTS_SHOW_SCREENSHOT=docs/plots-show.png` makes the browser test save the top of the page there.
"""

from __future__ import annotations

import csv
import functools
import http.server
import importlib
import json
import os
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BROWSER = ROOT / "tests" / "browser"
DATA = BROWSER / "data"
VENDOR = BROWSER / "node_modules"
SCRIPTS = {
    "vega.min.js": VENDOR / "vega/build/vega.min.js",
    "vega-lite.min.js": VENDOR / "vega-lite/build/vega-lite.min.js",
    "vega-embed.min.js": VENDOR / "vega-embed/build/vega-embed.min.js",
}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VL_VERSION = "5.21"  # vl-convert's Vega-Lite, the one locked for the page (tests/browser/package.json)
OVERLAYS = ("val_error", "val_loss")
HISTORY_FIELDS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")

sys.path.insert(0, str(ROOT))
from stages.tools import dvc_plots, dvc_sync  # noqa: E402

pytestmark = pytest.mark.slow


def needed(module: str):
    """The module, or skip the test; under CI a missing tool fails, since a skipped check would pass."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{module} is not installed in the venv: pip install it (versions: tests/browser/README.md)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


def tiny_png(path: Path) -> None:
    """A 2x2 grey PNG: enough for DVC's image plots and the page's <img>."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = (2).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    pixels = zlib.compress(b"\x00\x80\x80" * 2)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def table_for(path: Path, archs: list[str]) -> list[dict]:
    """The rows of a study table in tests/browser/data for `archs`: an id the data has keeps its
    rows; any other (a user's, or 20 synthetic ones) gets those of the data's k-th architecture,
    its numbers scaled a little so that every curve differs."""
    rows = list(csv.DictReader(path.open()))
    by_arch = {}
    for row in rows:
        by_arch.setdefault(row["arch"], []).append(row)
    known = list(by_arch)
    out = []
    for k, arch in enumerate(archs):
        if arch in by_arch:
            out += by_arch[arch]
            continue
        factor = 1 + 0.02 * (k + 1)
        for row in by_arch[known[k % len(known)]]:
            scaled = {c: f"{float(row[c]) * factor:.6g}" for c in ("val_loss", "val_error") if c in row}
            out.append({**row, **scaled, "arch": arch, "run": arch})
    return out


def study_rows(archs: list[str], seeds=(0,)) -> list[dict]:
    """The study history; extra seeds are seed 0's curves scaled a little, so each run differs."""
    rows = table_for(DATA / "history.csv", archs)
    out = []
    for seed in seeds:
        for row in rows:
            run = row["arch"] if seed == 0 else f"{row['arch']}-seed{seed}"
            factor = 1 + 0.05 * seed
            out.append(
                {
                    **row,
                    "seed": seed,
                    "run": run,
                    **{k: f"{float(row[k]) * factor:.6g}" for k in ("val_loss", "val_error")},
                }
            )
    return out


def write_csv(path: Path, rows: list[dict], fields) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def synthetic_ids(n: int) -> list[str]:
    """n architecture ids of a user's study (none of ours)."""
    return [f"user_arch_{k:02d}" for k in range(1, n + 1)]


class StudyRepo:
    """A git + DVC repo with the project's plots and hand-made data, committed: params.yaml's
    architectures, or the ids given (each with a copy of params.yaml's first architecture)."""

    def __init__(self, path: Path, seeds=(0,), archs: list[str] | None = None):
        self.path = path
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "DVC_NO_ANALYTICS": "1",
            "GIT_AUTHOR_NAME": "test",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "test",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        }
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        if archs is not None:
            first = next(iter(params["architectures"].values()))
            params["architectures"] = {a: params["architectures"].get(a, first) for a in archs}
        self.archs = list(params["architectures"])
        path.mkdir(parents=True)
        self.run("git init -q -b main && dvc init -q && dvc config core.analytics false")
        shutil.copytree(ROOT / ".dvc" / "plots", path / ".dvc" / "plots")
        (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        (path / "dvc.yaml").write_text(dvc_sync.render(params))
        self.write_history(study_rows(self.archs, seeds))
        errors = table_for(DATA / "errors.csv", self.archs)
        write_csv(path / dvc_plots.STUDY_ERRORS, errors, errors[0].keys())
        for image in ["plots/comparison.png", "plots/pareto.png", *(f"plots/{a}/loss.png" for a in self.archs)]:
            tiny_png(path / image)
        self.run("git add -A && git commit -qm study")

    def write_history(self, rows: list[dict]) -> None:
        write_csv(self.path / dvc_plots.STUDY_HISTORY, rows, rows[0].keys())
        for arch in self.archs:
            write_csv(
                self.path / f"plots/{arch}/history.csv",
                [r for r in rows if r["arch"] == arch and r["run"] == arch],
                HISTORY_FIELDS,
            )

    def run(self, command: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            command, shell=True, cwd=self.path, env=self.env, text=True, capture_output=True, timeout=300
        )
        assert result.returncode == 0, f"`{command}` exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result

    def specs(self, command: str = "dvc plots show") -> dict:
        """{plot id: filled Vega-Lite spec} of the vega plots that `command --json` gives."""
        shown = json.loads(self.run(f"{command} --json").stdout)
        assert not shown.get("errors"), shown["errors"]
        return {pid: entries[0]["content"] for pid, entries in shown["data"].items() if entries[0]["type"] == "vega"}


# ---------------------------------------------------------------- vl-convert: the lines' styles


SVG = "{http://www.w3.org/2000/svg}"


def marks(spec: dict, kind: str) -> list[ET.Element]:
    """The <path>s Vega draws for the spec's marks of one kind ("line", "symbol"), legends left out."""
    vl_convert = needed("vl_convert")
    svg = ET.fromstring(vl_convert.vegalite_to_svg(spec, vl_version=VL_VERSION))
    paths = []
    for group in svg.iter(f"{SVG}g"):
        classes = group.get("class", "").split()
        if f"mark-{kind}" in classes and "role-mark" in classes:
            paths += list(group.iter(f"{SVG}path"))
    return paths


def line_styles(spec: dict) -> list[tuple[str, str]]:
    """(stroke colour, dash pattern) of every line Vega draws for the spec (legend symbols left out)."""
    return [(path.get("stroke"), path.get("stroke-dasharray", "solid")) for path in marks(spec, "line")]


def point_shapes(spec: dict) -> dict[str, set[str]]:
    """{colour: the shapes (their SVG path, placed by a transform) of the points drawn in it}."""
    shapes: dict[str, set[str]] = {}
    for path in marks(spec, "symbol"):
        shapes.setdefault(path.get("stroke") or path.get("fill"), set()).add(path.get("d"))
    return shapes


def y_scale_type(spec: dict) -> str:
    vega = needed("vl_convert").vegalite_to_vega(spec, vl_version=VL_VERSION)
    return next(scale["type"] for scale in vega["scales"] if scale["name"] == "y")


def test_each_architecture_has_its_own_line_style_on_log_axes(tmp_path):
    repo = StudyRepo(tmp_path / "repo")
    specs = repo.specs()
    assert set(specs) >= {*OVERLAYS, "errors"}
    n = len(repo.archs)
    for plot_id in OVERLAYS:
        styles = line_styles(specs[plot_id])
        assert len(styles) == n, f"{plot_id}: {len(styles)} lines"
        assert len(set(styles)) == n, f"{plot_id}: {n} lines in {len(set(styles))} styles: {sorted(styles)}"
        assert y_scale_type(specs[plot_id]) == "log", plot_id


STYLED = 20  # the overlays give this many architectures a style each (colour, and a point shape)


def test_twenty_architectures_get_twenty_distinct_styles(tmp_path):
    """A user's study of STYLED architectures: a colour each (the dash is the revision's), and the
    points of each line in one shape, the shapes cycling through a shorter list as a second channel."""
    repo = StudyRepo(tmp_path / "repo", archs=synthetic_ids(STYLED))
    specs = repo.specs()
    for plot_id in OVERLAYS:
        styles = line_styles(specs[plot_id])
        assert len(styles) == STYLED and len(set(styles)) == STYLED, f"{plot_id}: {sorted(styles)}"
        shapes = point_shapes(specs[plot_id])
        assert set(shapes) == {colour for colour, _ in styles}, f"{plot_id}: points in other colours than lines"
        assert all(len(drawn) == 1 for drawn in shapes.values()), f"{plot_id}: a line's points in several shapes"
        assert len(set().union(*shapes.values())) >= 5, f"{plot_id}: the shapes do not vary"


def test_plots_diff_dashes_each_revision_and_seeds_share_their_architectures_style(tmp_path):
    repo = StudyRepo(tmp_path / "repo")
    n = len(repo.archs)
    rows = study_rows(repo.archs, seeds=(0, 1, 2))  # the workspace gains two seeds per architecture
    repo.write_history(rows)
    shown_specs, diffed_specs = repo.specs(), repo.specs("dvc plots diff HEAD")
    for plot_id in OVERLAYS:
        shown = line_styles(shown_specs[plot_id])
        assert len(shown) == 3 * n and len(set(shown)) == n, f"{plot_id}: one line per run, a colour per architecture"
        diffed = line_styles(diffed_specs[plot_id])
        assert len(diffed) == n + 3 * n, plot_id
        assert len(set(diffed)) == 2 * n, f"{plot_id}: {n} colours x 2 revisions: {sorted(set(diffed))}"
        assert len({dash for _, dash in diffed}) == 2, f"{plot_id}: one dash per revision"


# ---------------------------------------------------------------- the page in Chromium


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served_page(tmp_path, request):
    """`dvc plots show` with the local-scripts page template, served on 127.0.0.1: (url, plot ids,
    architectures). The study is params.yaml's, or `request.param` synthetic architectures."""
    missing = [str(p) for p in [CHROMIUM, *SCRIPTS.values()] if not p.exists()]
    if missing:
        message = f"missing {missing}: run `bash tests/browser/install.sh`"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    count = getattr(request, "param", None)
    repo = StudyRepo(tmp_path / "repo", archs=synthetic_ids(count) if count else None)
    out = tmp_path / "page"
    repo.run(f"dvc plots show --html-template {BROWSER / 'page.html'} -o {out}")
    vendor = out / "vendor"
    vendor.mkdir()
    for name, source in SCRIPTS.items():
        shutil.copy2(source, vendor / name)
    (out / "favicon.ico").write_bytes(b"")  # Chromium asks for one; a 404 would count as a console error
    html = (out / "index.html").read_text()
    assert "cdn.jsdelivr" not in html and 'src="vendor/vega-embed.min.js"' in html
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=out))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html", set(repo.specs()), repo.archs
    finally:
        server.shutdown()
        thread.join(timeout=10)


# Per vega plot (the ids DVC gave its divs, as the page's vegaEmbed calls saw them): did Vega
# draw (its <svg class="marks"> or <canvas>), and each legend's title and labels.
INSPECT = """ids => ids.map(id => document.getElementById(id)).map(div => ({
    id: div.id,
    drawn: div.querySelector('svg.marks, canvas.marks') !== null,
    legends: Array.from(div.querySelectorAll('g.role-legend')).map(legend => ({
        title: (legend.querySelector('.role-legend-title text') || {}).textContent,
        labels: Array.from(legend.querySelectorAll('.role-legend-label text')).map(t => t.textContent)}))}))"""


@pytest.mark.parametrize("served_page", [None, STYLED], ids=["params.yaml", f"{STYLED} architectures"], indirect=True)
def test_plots_show_draws_every_plot_in_chromium(served_page, tmp_path):
    playwright = needed("playwright.sync_api")
    url, vega_ids, archs = served_page
    problems = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
            page.goto(url, wait_until="load")
            page.wait_for_function(
                "n => Object.keys(window.plotResults).length >= n", arg=len(vega_ids), timeout=60_000
            )
            results = page.evaluate("() => window.plotResults")
            divs = page.evaluate(INSPECT, list(results))
            images = page.evaluate(
                "() => Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0])"
            )
            screenshot = tmp_path / "plots-show.png"
            top = [page.locator(f"#{plot_id}").bounding_box() for plot_id in (*OVERLAYS, "errors")]
            page.screenshot(
                path=str(screenshot),
                full_page=True,
                clip={"x": 0, "y": 0, "width": 1280, "height": max(b["y"] + b["height"] for b in top) + 4},
            )
        finally:
            browser.close()

    assert not problems, "\n".join(problems)
    assert len(results) == len(vega_ids) and set(results.values()) == {"ok"}, results
    by_id = {div["id"]: div for div in divs}
    assert all(div["drawn"] for div in divs), [div["id"] for div in divs if not div["drawn"]]
    assert images and all(ok for _, ok in images), [src for src, ok in images if not ok]
    for plot_id in OVERLAYS:
        legends = {legend["title"]: legend["labels"] for legend in by_id[plot_id]["legends"]}
        assert legends.get("architecture") == archs, f"{plot_id}: {legends}"  # each once, in params order
        assert legends.get("revision") == ["workspace"], f"{plot_id}: {legends}"
    if os.environ.get("PLOTS_SHOW_SCREENSHOT"):
        target = Path(os.environ["PLOTS_SHOW_SCREENSHOT"])
        if archs == synthetic_ids(len(archs)):  # the synthetic study's page goes beside it
            target = target.with_name(f"{target.stem}-{len(archs)}{target.suffix}")
        shutil.copy2(screenshot, ROOT / target)
