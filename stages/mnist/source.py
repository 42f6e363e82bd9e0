"""MNIST as four verified uint8 arrays, from a folder, a URL prefix or the public mirrors.

The source is `MNIST_SOURCE` (a folder holding the four IDX .gz files, or an http://,
https:// or file:// prefix under which they live); without it the public mirrors are
tried in turn. Checksums are of the decoded arrays, not of the .gz files, because the
gzip bytes of two copies of the same data can differ.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import re
import struct
import sys
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from stages.common import layout
from stages.common.atomic import atomic_path

FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}

MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)

# sha256 of each decoded array's raw uint8 buffer (C order, no IDX header), from
# /work/shared/data/mnist/README.md: the arrays of the original distribution files.
EXPECTED_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}

TIMEOUT = 60  # seconds without progress before a mirror counts as dead
URL_SCHEMES = ("http", "https", "file")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_UINT8 = 0x08


class MnistError(Exception):
    """MNIST could not be obtained, or what was obtained is not MNIST."""


def parse_idx(raw: bytes, name: str) -> np.ndarray:
    """Decode the bytes of a gzip-compressed IDX file of uint8 values.

    `name` (a path or URL) is quoted in errors; its `idx3`/`idx1` says whether images
    (3 dimensions) or labels (1) are expected.
    """
    try:
        data = gzip.decompress(raw)
    except EOFError:
        raise MnistError(f"{name}: truncated gzip stream (incomplete download or copy?)") from None
    except (OSError, zlib.error) as e:  # BadGzipFile is an OSError
        raise MnistError(f"{name}: not a valid gzip file ({e})") from None

    match = re.search(r"idx(\d)", name)
    want_ndim = int(match.group(1)) if match else None
    kind = {3: "images", 1: "labels"}.get(want_ndim, "values")
    want = f"0x{0x800 + want_ndim:08x}" if want_ndim else "0x000008NN"
    magic = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    ndim = magic & 0xFF if magic is not None else 0
    if magic is None or magic >> 8 != _UINT8 or ndim == 0 or (want_ndim and ndim != want_ndim):
        got = f"0x{magic:08x}" if magic is not None else f"{len(data)} bytes"
        raise MnistError(f"{name}: not an IDX file of uint8 {kind}: expected magic {want}, got {got}")

    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistError(f"{name}: truncated IDX header: expected {header} bytes, got {len(data)}")
    shape = struct.unpack(f">{ndim}I", data[4:header])  # dimensions are big-endian uint32
    expected, actual = math.prod(shape), len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "trailing bytes"
        raise MnistError(f"{name}: IDX payload of {actual} bytes, expected {expected} for shape {shape} ({what})")
    # copy: frombuffer over `bytes` is read-only, which would surprise callers
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape).copy()


def _decode(key: str, raw: bytes, name: str) -> np.ndarray:
    """parse_idx, then check the array against EXPECTED_SHA256[key]."""
    array = parse_idx(raw, name)
    actual = hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()
    expected = EXPECTED_SHA256[key]
    if actual != expected:
        raise MnistError(f"{name}: checksum mismatch for {key}: expected sha256 {expected}, got {actual}")
    return array


def _load_folder(folder: Path) -> dict[str, np.ndarray]:
    """Read the four files in place: a local copy needs no cache."""
    if not folder.is_dir():
        raise MnistError(f"MNIST folder {folder} not found (set MNIST_SOURCE to a folder or URL)")
    arrays = {}
    for key, fname in FILES.items():
        path = folder / fname
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise MnistError(f"{path}: missing (an MNIST folder holds {', '.join(FILES.values())})") from None
        except OSError as e:
            raise MnistError(f"{path}: cannot read ({e})") from None
        arrays[key] = _decode(key, raw, str(path))
    return arrays


def _fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.read()
    except urllib.error.HTTPError as e:
        raise MnistError(f"{url}: HTTP error {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise MnistError(f"{url}: unreachable ({e.reason})") from None
    except (OSError, http.client.HTTPException, ValueError) as e:  # timeouts, resets, bad URLs
        raise MnistError(f"{url}: download failed ({type(e).__name__}: {e})") from None


def _load_urls(prefixes: list[str], cache_dir: Path) -> dict[str, np.ndarray]:
    """Each file from the cache if it verifies, else from the first prefix that serves it
    verified. Downloads stay in memory until all four verify, then each is written to a
    temporary file in the cache and renamed: a failed run leaves the cache as it was."""
    arrays, downloaded = {}, {}
    for key, fname in FILES.items():
        cached = cache_dir / fname
        if cached.is_file():
            try:
                arrays[key] = _decode(key, cached.read_bytes(), str(cached))
                continue
            except (MnistError, OSError):
                pass  # a damaged cache entry is fetched again, replaced once verified
        failures = []
        for prefix in prefixes:
            url = prefix + fname
            try:
                raw = _fetch(url)
                arrays[key] = _decode(key, raw, url)
            except MnistError as e:
                failures.append(str(e))
                continue
            downloaded[fname] = raw
            break
        else:
            if len(failures) == 1:
                raise MnistError(failures[0])
            raise MnistError(f"{fname}: every mirror failed:\n  " + "\n  ".join(failures))
    for fname, raw in downloaded.items():
        try:
            with atomic_path(cache_dir / fname) as tmp:
                tmp.write_bytes(raw)
        except OSError as e:  # the data is verified: a cache we cannot write only costs time
            print(f"mnist: warning: not cached: {cache_dir / fname}: {e}", file=sys.stderr)
    return arrays


def _resolve(source: str | None) -> str | None:
    return source if source is not None else (os.environ.get("MNIST_SOURCE") or None)


def describe_source(source: str | None = None) -> str:
    """Where load_mnist(source) takes MNIST from, for logs."""
    source = _resolve(source)
    if not source:
        return "the public mirrors"
    return f"URL prefix {source}" if _SCHEME.match(source) else f"folder {source}"


def load_mnist(source: str | None = None, cache_dir: Path | None = None) -> dict[str, np.ndarray]:
    """x_train, y_train, x_test, y_test as uint8 arrays, verified against EXPECTED_SHA256.

    `source` defaults to $MNIST_SOURCE; empty means the public MIRRORS. URL downloads are
    cached in `cache_dir` (default data/raw) once verified. Raises MnistError.
    """
    source = _resolve(source)
    cache_dir = Path(cache_dir) if cache_dir is not None else layout.DATA_DIR / "raw"
    if not source:
        return _load_urls(list(MIRRORS), cache_dir)
    scheme = _SCHEME.match(source)
    if scheme:
        if scheme.group(1).lower() not in URL_SCHEMES:
            raise MnistError(f"MNIST source {source}: unsupported URL scheme (use http, https or file)")
        return _load_urls([source if source.endswith("/") else source + "/"], cache_dir)
    return _load_folder(Path(source).expanduser())
