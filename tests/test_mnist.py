"""stages.mnist on small synthetic IDX files, a local HTTP server, and the real offline copy."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from stages.mnist import source as mnist
from stages.mnist.source import FILES, MnistError, load_mnist, parse_idx

from conftest import require_mnist


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """The uncompressed IDX encoding of a uint8 array (magic overridable to forge bad files)."""
    magic = 0x800 + array.ndim if magic is None else magic
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, magic: int | None = None) -> Path:
    path.write_bytes(gzip.compress(idx_bytes(array, magic)))
    return path


def sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@pytest.fixture
def synthetic(tmp_path, monkeypatch):
    """A folder of four small MNIST-like files; EXPECTED_SHA256 patched to match them."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 12, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 5, dtype=np.uint8),
    }
    folder = tmp_path / "src"
    folder.mkdir()
    for key, name in FILES.items():
        write_idx(folder / name, arrays[key])
    monkeypatch.setattr(mnist, "EXPECTED_SHA256", {k: sha(a) for k, a in arrays.items()})
    monkeypatch.delenv("MNIST_SOURCE", raising=False)
    return folder, arrays


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def serve():
    """serve(folder) -> (URL prefix on 127.0.0.1, list of requested paths)."""
    servers = []

    def start(folder: Path):
        requests = []

        class Handler(_Handler):
            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        # a short poll interval: shutdown() waits for it
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/", requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def dead_url() -> str:
    """A 127.0.0.1 URL on which nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def assert_same(got: dict, want: dict):
    assert set(got) == set(want)
    for key in want:
        assert got[key].dtype == np.uint8
        np.testing.assert_array_equal(got[key], want[key])


# parse_idx


def test_parse_idx_images_and_labels():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    got = parse_idx(gzip.compress(idx_bytes(images)), "x-images-idx3-ubyte.gz")
    assert got.shape == (2, 3, 4) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, images)
    labels = np.array([7, 2, 1], dtype=np.uint8)
    np.testing.assert_array_equal(parse_idx(gzip.compress(idx_bytes(labels)), "l-idx1-ubyte.gz"), labels)


def test_parse_idx_wrong_magic():
    labels = np.zeros(3, np.uint8)
    with pytest.raises(MnistError, match=r"f-idx3-ubyte\.gz.*expected magic 0x00000803.*got 0x00000801"):
        parse_idx(gzip.compress(idx_bytes(labels)), "f-idx3-ubyte.gz")  # labels where images are due
    with pytest.raises(MnistError, match=r"f\.gz.*got 0x00000d01"):  # not uint8 (0x0D = float)
        parse_idx(gzip.compress(idx_bytes(labels, magic=0x0D01)), "f.gz")


def test_parse_idx_truncated_and_trailing_payload():
    raw = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(MnistError, match=r"t-idx3\.gz: IDX payload of 1567 bytes, expected 1568.*truncated"):
        parse_idx(gzip.compress(raw[:-1]), "t-idx3.gz")
    with pytest.raises(MnistError, match=r"trailing bytes"):
        parse_idx(gzip.compress(raw + b"\0"), "t-idx3.gz")
    with pytest.raises(MnistError, match=r"truncated IDX header"):
        parse_idx(gzip.compress(raw[:10]), "t-idx3.gz")


def test_parse_idx_not_gzip_or_truncated_gzip():
    raw = idx_bytes(np.zeros(4, np.uint8))
    with pytest.raises(MnistError, match=r"plain-idx1\.gz: not a valid gzip file"):
        parse_idx(raw, "plain-idx1.gz")
    with pytest.raises(MnistError, match=r"cut-idx1\.gz: truncated gzip stream"):
        parse_idx(gzip.compress(raw)[:-6], "cut-idx1.gz")
    with pytest.raises(MnistError, match=r"html-idx1\.gz: not a valid gzip file"):
        parse_idx(b"<html>404</html>", "html-idx1.gz")


# folder sources


def test_folder_source(synthetic):
    folder, arrays = synthetic
    assert_same(load_mnist(str(folder)), arrays)


def test_folder_source_from_environment(synthetic, monkeypatch):
    folder, arrays = synthetic
    monkeypatch.setenv("MNIST_SOURCE", str(folder))
    assert_same(load_mnist(), arrays)


def test_checksum_mismatch_names_file_and_sums(synthetic, monkeypatch):
    folder, arrays = synthetic
    expected = dict(mnist.EXPECTED_SHA256, y_test="ab" * 32)
    monkeypatch.setattr(mnist, "EXPECTED_SHA256", expected)
    with pytest.raises(MnistError) as err:
        load_mnist(str(folder))
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "ab" * 32 in message and sha(arrays["y_test"]) in message


def test_missing_folder(tmp_path):
    with pytest.raises(MnistError, match=r"MNIST folder .*nowhere not found"):
        load_mnist(str(tmp_path / "nowhere"))


def test_missing_file(synthetic):
    folder, _ = synthetic
    (folder / FILES["x_test"]).unlink()
    with pytest.raises(MnistError, match=r"t10k-images-idx3-ubyte\.gz: missing"):
        load_mnist(str(folder))


def test_unsupported_scheme():
    with pytest.raises(MnistError, match=r"ftp://x/.*unsupported URL scheme"):
        load_mnist("ftp://x/")


# URL sources and mirrors


def test_url_source_downloads_then_uses_cache(synthetic, serve, tmp_path):
    folder, arrays = synthetic
    url, requests = serve(folder)
    cache = tmp_path / "cache"
    assert_same(load_mnist(url.rstrip("/"), cache_dir=cache), arrays)  # prefix without the slash
    assert sorted(requests) == sorted("/" + name for name in FILES.values())
    assert sorted(p.name for p in cache.iterdir()) == sorted(FILES.values())  # no temporary left
    assert (cache / FILES["y_train"]).read_bytes() == (folder / FILES["y_train"]).read_bytes()

    assert_same(load_mnist(url, cache_dir=cache), arrays)
    assert len(requests) == 4  # second run: nothing downloaded


def test_damaged_cache_entry_is_fetched_again(synthetic, serve, tmp_path):
    folder, arrays = synthetic
    url, requests = serve(folder)
    cache = tmp_path / "cache"
    load_mnist(url, cache_dir=cache)
    (cache / FILES["x_test"]).write_bytes(b"garbage")
    assert_same(load_mnist(url, cache_dir=cache), arrays)
    assert requests[4:] == ["/" + FILES["x_test"]]
    assert (cache / FILES["x_test"]).read_bytes() == (folder / FILES["x_test"]).read_bytes()


def test_url_404_names_url_and_caches_nothing(synthetic, serve, tmp_path):
    folder, _ = synthetic
    (folder / FILES["y_test"]).unlink()  # the last file: three good downloads precede it
    url, _ = serve(folder)
    cache = tmp_path / "cache"
    with pytest.raises(MnistError, match=rf"{url}t10k-labels-idx1-ubyte\.gz: HTTP error 404"):
        load_mnist(url, cache_dir=cache)
    assert not cache.exists()


def test_url_checksum_mismatch_caches_nothing(synthetic, serve, tmp_path, monkeypatch):
    folder, _ = synthetic
    monkeypatch.setitem(mnist.EXPECTED_SHA256, "x_test", "0" * 64)
    url, _ = serve(folder)
    cache = tmp_path / "cache"
    cache.mkdir()
    with pytest.raises(MnistError, match=rf"{url}t10k-images-idx3-ubyte\.gz: checksum mismatch.*{'0' * 64}"):
        load_mnist(url, cache_dir=cache)
    assert list(cache.iterdir()) == []


def test_file_url_source(synthetic, tmp_path):
    folder, arrays = synthetic
    assert_same(load_mnist(folder.as_uri() + "/", cache_dir=tmp_path / "cache"), arrays)
    with pytest.raises(MnistError, match=r"file://.*missing/train-images-idx3-ubyte\.gz: unreachable"):
        load_mnist((tmp_path / "missing").as_uri(), cache_dir=tmp_path / "cache2")


def test_mirrors_fall_back_to_the_next(synthetic, serve, tmp_path, monkeypatch):
    folder, arrays = synthetic
    url, requests = serve(folder)
    monkeypatch.setattr(mnist, "MIRRORS", (dead_url(), url))
    assert_same(load_mnist(cache_dir=tmp_path / "cache"), arrays)
    assert len(requests) == 4


def test_all_mirrors_failing_lists_each(synthetic, serve, tmp_path, monkeypatch):
    folder, _ = synthetic
    (folder / FILES["x_train"]).unlink()
    dead = dead_url()
    url, _ = serve(folder)
    monkeypatch.setattr(mnist, "MIRRORS", (dead, url))
    cache = tmp_path / "cache"
    with pytest.raises(MnistError) as err:
        load_mnist(cache_dir=cache)
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz: every mirror failed" in message
    assert f"{dead}train-images-idx3-ubyte.gz: unreachable" in message
    assert f"{url}train-images-idx3-ubyte.gz: HTTP error 404" in message
    assert not cache.exists()


# the real data


def test_real_mnist(tmp_path):
    source = require_mnist()
    arrays = load_mnist(source, cache_dir=tmp_path / "cache")
    assert {k: a.shape for k, a in arrays.items()} == {
        "x_train": (60000, 28, 28),
        "y_train": (60000,),
        "x_test": (10000, 28, 28),
        "y_test": (10000,),
    }
    assert all(a.dtype == np.uint8 for a in arrays.values())
    assert arrays["y_train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert arrays["y_test"][:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
