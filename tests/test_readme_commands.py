"""The README is a contract: every command of README.md and docs/*.md runs, as written, on a fresh
`git clone` of the project.

Each fenced block tagged bash, sh, shell or console, or untagged, holds commands (in a console
block, the `$ ` lines; the rest is output); a block of output or config is tagged (`text`,
`yaml`...). Every command line is run, in order, one bash per block, so `cd`, `export` and
`. .venv/bin/activate` carry to the next line as in a user's shell, unless it carries a visible
marker, `# not run by the tests: <reason>`. A block with another tag fails the fast test below,
since its lines would be neither run nor marked.

Where each block runs, on a fresh clone of a committed copy of the project (git-tracked files as
they are in the working tree, so an edited README is what is tested):
- a block with a line that trains (`make run`, `make run-notebook`, `make quick`, `dvc repro`,
  `dvc exp run`, `dvc queue start`, `make run JOBS=N`; not `dvc repro --allow-missing`, which
  trusts the committed runs) or needs a DVC remote (`dvc push`/`fetch`/`pull`, the study
  scripts) runs on a clone of a copy first set to the quick configuration through DVC's own
  override code (`dvc.utils.hydra.apply_overrides`, what `dvc exp run -S` runs) and committed:
  two architectures (QUICK_ARCHS), a small subset, one epoch, one seed. None of these lines
  means "all twelve": each runs on whatever params.yaml holds. Those clones share one DVC cache
  (so the run-cache restores a configuration another block trained, as on a user's machine)
  and have a local folder as their default DVC remote (the user's own remote, which the
  README's `dvc remote add` lines set up);
- every other block runs on a clone of the project as committed: our study, with its records
  in git and no DVC cache, which is what a new user has.

The venv is the one running this test, linked as the clone's `.venv` (with requirements.txt
dated back, so `make` sees it installed and does not reinstall). MNIST comes from
MNIST_SOURCE. README_COMMANDS_DOCS (paths separated by `:`) tests other Markdown files instead,
e.g. a copy of the README with a broken line, to see this test fail; README_COMMANDS_FAILFAST=1
stops a document at its first failing block.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import DOCS, ROOT, VENV_BIN, project_env, require_mnist

MARKER = "# not run by the tests:"
MAX_MARKERS = 8  # markers stay few: each is a line a user runs that nothing checks
COMMAND_TAGS = {"", "bash", "sh", "shell", "console"}
OTHER_TAGS = {"text", "yaml", "json", "csv", "markdown", "diff"}  # output and config, not commands
# Lines that train, or need a DVC remote: they run on the quick copy (see the module's docstring).
QUICK = re.compile(
    r"\bmake +(run|run-notebook|quick)\b|\bdvc +(repro|exp +run|queue +start|push|fetch|pull)\b"
    r"|stages\.tools\.workers|study-(worker|aggregate)\.sh"
)
QUICK_ARCHS = ("conv2_k3", "conv2_k5")  # the docs' examples name these two
BLOCK_TIMEOUT = 1200  # seconds; the longest block trains a few one-epoch runs


def documents() -> list[Path]:
    chosen = os.environ.get("README_COMMANDS_DOCS")
    if chosen:
        return [Path(p).resolve() for p in chosen.split(os.pathsep) if p]
    return DOCS


def doc_name(doc: Path) -> str:
    return str(doc.relative_to(ROOT)) if doc.is_relative_to(ROOT) else str(doc)


@dataclass
class Command:
    line: int  # 1-based line in the Markdown file of the command's first line
    text: str  # as written; several lines for a `\` continuation or a compound command
    reason: str | None = None  # why it is not run, from its marker

    @property
    def trains(self) -> bool:
        return bool(QUICK.search(self.text)) and "--allow-missing" not in self.text


@dataclass
class Block:
    doc: Path
    line: int  # of the opening fence
    tag: str
    commands: list[Command] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{doc_name(self.doc)}:{self.line}"

    @property
    def quick(self) -> bool:
        return any(c.trains for c in self.commands if c.reason is None)


def fenced_blocks(text: str) -> list[tuple[int, str, list[tuple[int, str]]]]:
    """(line of the opening fence, tag, [(line number, line)]) of each fenced block."""
    blocks, current = [], None
    for number, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^\s*(```+|~~~+)\s*([\w+-]*)", line)
        if current is None and fence:
            current = (number, fence.group(2).lower(), [], fence.group(1))
        elif current is not None and line.strip().startswith(current[3]) and not line.strip().strip(current[3][0]):
            blocks.append(current[:3])
            current = None
        elif current is not None:
            current[2].append((number, line))
    return blocks


def complete(shell_text: str) -> bool:
    """Whether bash parses `shell_text` as whole commands (a `for ... done` or `\\` continuation
    spans lines)."""
    if shell_text.rstrip().endswith("\\"):
        return False
    return subprocess.run(["bash", "-n"], input=shell_text, text=True, capture_output=True).returncode == 0


def parse_commands(lines: list[tuple[int, str]], console: bool) -> list[Command]:
    commands: list[Command] = []
    pending: list[tuple[int, str]] = []
    for number, line in lines:
        if console and not pending:
            if not line.startswith("$ "):
                continue  # output
            line = line[2:]
        if not pending and (not line.strip() or line.strip().startswith("#")):
            continue  # a comment line or a blank one
        if not pending and MARKER in line:
            commands.append(Command(number, line, marker_reason(line)))  # not run, so not parsed: `<repo>`
            continue
        pending.append((number, line))
        text = "\n".join(part for _, part in pending)
        if complete(text):
            commands.append(Command(pending[0][0], text, marker_reason(text)))
            pending = []
    if pending:
        commands.append(Command(pending[0][0], "\n".join(p for _, p in pending)))  # fails to run: says so
    return commands


def marker_reason(text: str) -> str | None:
    if MARKER not in text:
        return None
    return text.split(MARKER, 1)[1].strip() or "(no reason given)"


def blocks_of(doc: Path) -> list[Block]:
    blocks = []
    for line, tag, lines in fenced_blocks(doc.read_text()):
        block = Block(doc, line, tag)
        if tag in COMMAND_TAGS:
            block.commands = parse_commands(lines, console=tag == "console")
        blocks.append(block)
    return blocks


# ------------------------------------------------------------------ fast checks of the documents


def test_the_parser_finds_commands_joins_continuations_and_skips_output(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "text\n\n```bash\n# a comment\nmake run   # trains\nfor i in 1 2; do\n  echo $i\ndone\n"
        "dvc repro \\\n  report\ngit clone <repo>  # not run by the tests: a placeholder\n```\n\n"
        "```console\n$ dvc metrics show\nPath  Metric\n```\n\n```text\nmake run\n```\n"
    )
    bash, console, output = blocks_of(doc)
    assert [(c.line, c.text, c.reason) for c in bash.commands] == [
        (5, "make run   # trains", None),
        (6, "for i in 1 2; do\n  echo $i\ndone", None),
        (9, "dvc repro \\\n  report", None),
        (11, "git clone <repo>  # not run by the tests: a placeholder", "a placeholder"),
    ]
    assert bash.quick and [c.text for c in console.commands] == ["dvc metrics show"] and not console.quick
    assert output.commands == []


def test_every_block_is_commands_or_tagged_output_and_markers_are_few_and_say_why():
    """A block with an unknown tag would hold lines neither run nor marked."""
    blocks = [block for doc in documents() for block in blocks_of(doc)]
    assert [b.where for b in blocks if b.tag not in COMMAND_TAGS | OTHER_TAGS] == []
    marked = [(b.where, c.line, c.reason) for b in blocks for c in b.commands if c.reason is not None]
    assert all(reason and reason != "(no reason given)" for _, _, reason in marked), marked
    assert len(marked) <= MAX_MARKERS, marked
    assert any(c.text.startswith("make run") for b in blocks for c in b.commands)  # the parser finds them


# ------------------------------------------------------------------ running them


def quick_overrides(params: dict) -> list[str]:
    """The quick configuration as `dvc exp run -S` overrides (hydra's grammar; `~key` deletes)."""
    archs = list(QUICK_ARCHS)
    pair = [archs[1], archs[0]]
    comparison = f"[{{title: Quick pair, architectures: [{', '.join(archs)}], pairs: [[{', '.join(pair)}]]}}]"
    return [
        *(f"~architectures.{arch}" for arch in params["architectures"] if arch not in archs),
        f"report.comparisons={comparison}",
        "data.subset=1000",
        "data.val_size=500",
        "data.test_subset=500",
        "train.epochs=1",
        "train.eval_batch_size=500",
        "train.extra_seeds=[]",
    ]


class Clones:
    """Fresh `git clone`s of two committed copies of the project: as it is, and in the quick
    configuration."""

    def __init__(self, base: Path):
        self.base = base
        self.cache = base / "shared-cache"  # the quick clones' DVC cache
        self.remote = base / "remote"  # their default DVC remote, a local folder
        self.count = 0
        self.env = project_env(VIRTUAL_ENV=str(VENV_BIN.parent))  # the venv, activated
        self.full = self._committed_copy(base / "origin-full")
        self.quick = self._quick_copy(base / "origin-quick")

    def sh(self, command: str, cwd: Path, timeout: float = 600) -> str:
        result = subprocess.run(
            command, shell=True, cwd=cwd, env=self.env, text=True, capture_output=True, timeout=timeout
        )
        assert result.returncode == 0, f"`{command}` in {cwd}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def _committed_copy(self, origin: Path) -> Path:
        """The project's git-tracked (and new, not ignored) files as in the working tree, committed."""
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        for name in filter(None, listed.split("\0")):
            source = ROOT / name
            if not source.is_file() or source.is_symlink():
                continue  # a deleted file, or the .venv link
            target = origin / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        self.sh("git init -q -b main && git add -A && git commit -qm project", origin)
        return origin

    def _quick_copy(self, origin: Path) -> Path:
        from dvc.utils.hydra import apply_overrides

        self.sh(f"git clone -q {self.full} {origin}", self.base)
        params_file = origin / "params.yaml"
        apply_overrides(params_file, quick_overrides(yaml.safe_load(params_file.read_text())))
        try:
            params = yaml.safe_load(params_file.read_text())
        except yaml.YAMLError as e:  # what `dvc exp run -S` would do to a user's params.yaml
            pytest.fail(f"DVC's override code leaves params.yaml unparsable (quick configuration): {e}")
        assert list(params["architectures"]) == list(QUICK_ARCHS) and params["train"]["extra_seeds"] == []
        self._link_venv(origin)
        self.sh("python -m stages.tools.dvc_sync && python -m stages.validate", origin)
        self.sh("git add -A && git commit -qm 'quick configuration'", origin)
        return origin

    def _link_venv(self, clone: Path) -> None:
        venv = clone / ".venv"
        if not venv.exists():
            venv.symlink_to(VENV_BIN.parent)
        os.utime(clone / "requirements.txt", (0, 0))  # older than .venv/.installed: make installs nothing

    def clone(self, quick: bool) -> Path:
        self.count += 1
        clone = self.base / f"reader-{self.count}"
        self.sh(f"git clone -q {self.quick if quick else self.full} {clone}", self.base)
        self._link_venv(clone)
        if quick:
            self.sh(f"dvc cache dir --local {self.cache} && dvc remote add --local -d mine {self.remote}", clone)
        return clone


@pytest.fixture(scope="module")
def clones(tmp_path_factory) -> Clones:
    source = require_mnist()
    if "://" not in source and not Path(source).is_absolute():
        pytest.fail(f"MNIST_SOURCE must be an absolute path (experiments run in copies): {source}")
    return Clones(tmp_path_factory.mktemp("readme-commands"))


START, DONE = "@@command ", "@@exit "


def script(block: Block) -> str:
    """The block as one bash script: each command runs in the same shell, and the first that
    fails ends it."""
    parts = []
    for index, command in enumerate(block.commands):
        if command.reason is not None:
            continue
        parts += [
            f"echo '{START}{index}'",
            command.text,
            f"__rc=$?; echo '{DONE}'$__rc; [ $__rc -eq 0 ] || exit $__rc",
        ]
    return "\n".join(parts) + "\n"


def wait_for_queue(clones: Clones, clone: Path, timeout: float = 900) -> str | None:
    """A block that started DVC's queue is done when its experiments are: the error, if one failed."""
    if not (clone / ".dvc" / "tmp" / "exps" / "celery").exists():
        return None
    deadline = time.monotonic() + timeout
    while True:
        status = clones.sh("dvc queue status", clone)
        if not re.search(r"\b(Queued|Running)\b", status):
            break
        if time.monotonic() > deadline:
            return f"the queue did not finish in {timeout:.0f} s:\n{status}"
        time.sleep(10)
    subprocess.run("dvc queue stop", shell=True, cwd=clone, env=clones.env, capture_output=True, timeout=120)
    failed = re.findall(r"^\S+\s+(\S+)\s+.*\bFailed\b", status, re.M)
    if not failed:
        return None
    logs = [
        subprocess.run(
            ["dvc", "queue", "logs", name], cwd=clone, env=clones.env, text=True, capture_output=True, timeout=120
        ).stdout[-2000:]
        for name in failed
    ]
    return f"a queued experiment failed:\n{status}\n--- dvc queue logs\n" + "\n".join(logs)


def run_block(clones: Clones, block: Block) -> list[str]:
    """Runs the block; its failures, one message each, naming the Markdown line."""
    if not any(c.reason is None for c in block.commands):
        return []
    clone = clones.clone(block.quick)
    started = time.monotonic()
    try:
        result = subprocess.run(
            ["bash", "-c", script(block)],
            cwd=clone,
            env=clones.env,
            text=True,
            capture_output=True,
            timeout=BLOCK_TIMEOUT,
        )
        out, err = result.stdout, result.stderr
    except subprocess.TimeoutExpired as e:
        out, err = (e.stdout or b"").decode(errors="replace"), f"timed out after {BLOCK_TIMEOUT} s"
    ran = [int(m) for m in re.findall(rf"^{START}(\d+)$", out, re.M)]
    exits = re.findall(rf"^{DONE}(\d+)$", out, re.M)
    kind = "quick copy" if block.quick else "clone"
    print(f"{block.where}: {len(ran)} command(s) on a {kind}, {time.monotonic() - started:.0f} s")
    failures = []
    if ran and (len(exits) < len(ran) or exits[-1] != "0"):
        command = block.commands[ran[-1]]
        output = out.rsplit(f"{START}{ran[-1]}", 1)[-1]
        status = exits[-1] if len(exits) == len(ran) else "?"
        failures.append(
            f"{doc_name(block.doc)}:{command.line} ({kind}): `{command.text}` failed (exit {status})"
            f"\n--- stdout\n{output[-2500:]}\n--- stderr\n{err[-2500:]}"
        )
    elif block.quick:
        queue_error = wait_for_queue(clones, clone)
        if queue_error:
            failures.append(f"{block.where}: {queue_error}")
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("doc", documents(), ids=doc_name)
def test_every_command_runs_as_written(clones, doc):
    failures = []
    for block in blocks_of(doc):
        failed = run_block(clones, block)
        if failed:  # once more on a fresh clone: a failure that repeats is the README's, and is reported
            print(f"{doc.name}: a block failed, running it again on a fresh clone:\n" + "\n".join(failed))
            failed = run_block(clones, block)
        failures += failed
        if failures and os.environ.get("README_COMMANDS_FAILFAST"):
            break  # set it to stop at the first failing block, not run the document's rest
    assert failures == [], "\n\n".join(failures)
