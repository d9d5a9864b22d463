"""Choosing a dataset, and downloads served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import socket
import threading
from pathlib import Path

import pytest

from helpers.datasets import (
    COMPLETE_MARKER,
    DatasetUnavailable,
    RealDataset,
    dataset_dir,
    download_dataset,
    extract,
)


# flowers, dogs and LFW ship .tgz/.tar; Cats vs Dogs a .zip
@pytest.fixture(params=["gztar", "zip"])
def archive(request, tmp_path, quick_dataset) -> Path:
    """An archive laid out like the real ones: a top folder of class folders and a stray file."""
    layout = tmp_path / "layout" / "photos"
    for name in ("disc", "star"):
        (layout / name).mkdir(parents=True)
        for image in sorted((quick_dataset / name).glob("*.jpg"))[:5]:
            shutil.copy(image, layout / name)
    (layout / "LICENSE.txt").write_text("a stray file beside the class folders")
    return Path(
        shutil.make_archive(str(tmp_path / "photos"), request.param, layout.parent, "photos")
    )


class _Server(http.server.ThreadingHTTPServer):
    """Serves one archive; ``drop_after`` bytes cuts the connection mid-transfer."""

    def __init__(self, payload: bytes, drop_after: int | None = None):
        self.payload, self.drop_after, self.requests = payload, drop_after, 0
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.requests += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(server.payload)))
        self.end_headers()
        self.wfile.write(server.payload[: server.drop_after])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(payload: bytes, drop_after: int | None = None) -> _Server:
        server = _Server(payload, drop_after)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _spec(url: str, data: bytes, **overrides) -> RealDataset:
    fields = dict(
        name="photos",
        url=url,
        sha256=hashlib.sha256(data).hexdigest(),
        archive_root="photos",
        classes=2,
        images=10,
        about="test archive",
    )
    return RealDataset(**{**fields, **overrides})


def _url(server: _Server, archive: Path) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{archive.name}"


def test_good_archive_is_verified_extracted_and_reused(archive, serve, tmp_path):
    data = archive.read_bytes()
    server = serve(data)
    spec = _spec(_url(server, archive), data)

    folder = download_dataset(spec, tmp_path / "data")

    assert folder == tmp_path / "data" / "photos"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["disc", "star"]
    assert len(list(folder.rglob("*.jpg"))) == 10 and (folder / COMPLETE_MARKER).is_file()
    assert download_dataset(spec, tmp_path / "data") == folder and server.requests == 1


def test_connection_dropped_midway_leaves_nothing_and_a_retry_succeeds(archive, serve, tmp_path):
    data = archive.read_bytes()
    broken = serve(data, drop_after=len(data) // 2)

    with pytest.raises(DatasetUnavailable, match="Could not download photos"):
        download_dataset(_spec(_url(broken, archive), data), tmp_path / "data")
    assert not (tmp_path / "data" / "photos").exists()
    assert not list((tmp_path / "data" / "downloads").iterdir())

    assert download_dataset(_spec(_url(serve(data), archive), data), tmp_path / "data").is_dir()


def test_wrong_checksum_removes_the_download_and_says_so(archive, serve, tmp_path):
    data = archive.read_bytes()
    spec = _spec(_url(serve(data), archive), data, sha256="0" * 64)

    with pytest.raises(DatasetUnavailable, match="checksum"):
        download_dataset(spec, tmp_path / "data")
    assert not list((tmp_path / "data" / "downloads").iterdir())
    assert not (tmp_path / "data" / "photos").exists()


def test_server_down_names_the_offline_alternatives(archive, tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = archive.read_bytes()

    with pytest.raises(DatasetUnavailable, match="COURSE_DATASET=embedded") as error:
        download_dataset(_spec(f"http://127.0.0.1:{port}/{archive.name}", data), tmp_path / "data")
    assert "your/images" in str(error.value)


def test_unexpected_counts_leave_no_dataset_behind(archive, serve, tmp_path):
    data = archive.read_bytes()
    with pytest.raises(DatasetUnavailable, match="holds 2 classes and 10 images"):
        download_dataset(_spec(_url(serve(data), archive), data, images=11), tmp_path / "data")
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["downloads"]


def test_selector_takes_the_embedded_name_or_a_folder_of_class_folders(
    quick_dataset, tmp_path, monkeypatch
):
    assert dataset_dir() == quick_dataset
    assert dataset_dir("embedded-quick") == quick_dataset
    monkeypatch.setenv("COURSE_DATASET", str(quick_dataset))
    assert dataset_dir() == quick_dataset
    with pytest.raises(ValueError, match="holds no class folders"):
        dataset_dir(str(tmp_path))
    with pytest.raises(ValueError, match="flowers"):
        dataset_dir("no-such-dataset")


def _hostile_archive(kind: str, attack: str, folder: Path) -> Path:
    """An archive with one good file and one member that leads out of the folder it is extracted to."""
    import io
    import tarfile
    import zipfile

    escape = {"dotdot": "../../escaped.txt", "absolute": str(folder / "escaped_absolute.txt")}
    members: list[tuple[str, bytes | None, str | None]] = [("photos/good.txt", b"good", None)]
    if attack.endswith("symlink"):  # a link leading out, then a file written through it
        # from staging/photos/ up to folder
        link = str(folder) if attack == "symlink" else "../../.."
        members += [
            ("photos/out", None, link),
            ("photos/out/escaped_through_link.txt", b"bad", None),
        ]
    else:
        members.append((escape[attack], b"bad", None))
    path = folder / f"hostile.{'tar' if kind == 'tar' else 'zip'}"
    if kind == "tar":
        with tarfile.open(path, "w") as archive:
            for name, data, link in members:
                info = tarfile.TarInfo(name)
                if link:
                    info.type, info.linkname = tarfile.SYMTYPE, link
                    archive.addfile(info)
                else:
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
    else:
        with zipfile.ZipFile(path, "w") as archive:
            for name, data, link in members:
                info = zipfile.ZipInfo(name)
                if link:
                    info.external_attr = 0o120777 << 16  # a symlink, as zip -y stores it
                    archive.writestr(info, link)
                else:
                    archive.writestr(info, data)
    return path


@pytest.mark.parametrize("attack", ["dotdot", "absolute", "symlink", "relative-symlink"])
@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_extraction_writes_nothing_outside_its_folder(kind, attack, tmp_path):
    outside = tmp_path / "outside"
    target = outside / "inside" / "staging"
    outside.mkdir()
    archive = _hostile_archive(kind, attack, outside)
    before = sorted(outside.rglob("*"))
    try:
        extract(archive, target)
    except DatasetUnavailable as error:
        assert archive.name in str(error) and not target.exists()  # refused: nothing kept at all
    else:
        assert (target / "photos" / "good.txt").read_bytes() == b"good"
        assert not any(path.is_symlink() for path in target.rglob("*"))
    after = sorted(
        path for path in outside.rglob("*") if target not in path.parents and path != target
    )
    assert [path for path in after if path not in before and path not in target.parents] == []
