"""Choosing a dataset: the embedded default, a real one by name, or your own folder.

``dataset_dir()`` turns the selector (``COURSE_DATASET`` or an argument) into a
class-per-folder directory, generating or downloading it first when needed.
Downloads are verified against a SHA-256 checksum and extracted into a staging
folder that is renamed into place only when complete, so an interrupted run never
leaves a half-extracted dataset that looks finished.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from helpers.config import display_path, settings
from helpers.embedded import IMAGES_PER_CLASS, generate_embedded

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp")  # as image_dataset_from_directory
COMPLETE_MARKER = ".complete.json"


@dataclass(frozen=True)
class RealDataset:
    """A published dataset: where it lives and what a good copy holds."""

    name: str
    url: str
    sha256: str
    archive_root: str  # folder inside the archive that holds the class folders
    classes: int
    images: int  # files with an image extension, as shipped (bad ones included)
    about: str


REAL_DATASETS = {
    d.name: d
    for d in (
        RealDataset(
            "flowers",
            "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
            "4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c",
            "flower_photos",
            classes=5,
            images=3670,
            about="TF flowers: 5 kinds of flower photo, 218 MB",
        ),
        RealDataset(
            "stanford_dogs",
            "http://vision.stanford.edu/aditya86/ImageNetDogs/images.tar",
            "a443fc2f9a851aa1a7b8e4fa4af94b8459fce2c9f5a2f4dd4669cf9673a4ec58",
            "Images",
            classes=120,
            images=20580,
            about="Stanford Dogs: 120 breeds, 757 MB",
        ),
        RealDataset(
            "cats_vs_dogs",
            "https://download.microsoft.com/download/3/E/1/"
            "3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip",
            "b7974bd00a84a99921f36ee4403f089853777b5ae8d151c76a86e64900334af9",
            "PetImages",
            classes=2,
            images=25000,
            about="Microsoft Cats vs Dogs (PetImages): 787 MB, ships corrupt files",
        ),
        RealDataset(
            "lfw",
            "http://vis-www.cs.umass.edu/lfw/lfw.tgz",
            "055f7d9c632d7370e6fb4afc7468d40f970c34a80d4c6f50ffec63f5a8d536c0",
            "lfw",
            classes=5749,
            images=13233,
            about="Labeled Faces in the Wild: 5,749 people, 172 MB",
        ),
    )
}


class DatasetUnavailable(RuntimeError):
    """A dataset could not be fetched or verified; the message says what to do instead."""


def dataset_dir(selector: str | None = None) -> Path:
    """The class-per-folder directory for a dataset name or path, prepared if needed.

    ``selector`` defaults to ``COURSE_DATASET``: ``embedded`` (sized by the scale),
    ``embedded-quick``, ``embedded-bench``, ``embedded-photos`` (phone-sized), a name in
    ``REAL_DATASETS``, or a path.
    """
    selector = selector or settings().dataset
    if selector == "embedded":
        return generate_embedded(settings().scale.embedded_variant)
    if selector.startswith("embedded-") and selector.removeprefix("embedded-") in IMAGES_PER_CLASS:
        return generate_embedded(selector.removeprefix("embedded-"))
    if selector in REAL_DATASETS:
        return download_dataset(REAL_DATASETS[selector])
    folder = Path(selector).expanduser()
    if folder.is_dir():
        if not class_names(folder):
            raise ValueError(
                f"{display_path(folder)} holds no class folders: put each class's images in a subfolder"
            )
        return folder
    embedded = [f"embedded-{variant}" for variant in IMAGES_PER_CLASS]
    choices = ", ".join(["embedded", *embedded, *REAL_DATASETS])
    raise ValueError(
        f"Unknown dataset {selector!r}: choose one of {choices}, or the path of a folder of class folders"
    )


def class_names(root: Path) -> list[str]:
    """Class folder names in the order Keras assigns labels (sorted), hidden ones left out."""
    return sorted(p.name for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))


def image_files(root: Path) -> list[tuple[Path, str]]:
    """(file, class name) for every file with an image extension, sorted; nothing is opened."""
    return [
        (path, name)
        for name in class_names(root)
        for path in sorted((Path(root) / name).rglob("*"))
        if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS
    ]


def download_dataset(spec: RealDataset, data_dir: Path | None = None) -> Path:
    """Download, verify and extract a real dataset into ``data_dir/<name>/``; reuse it next time."""
    data_dir = Path(data_dir or settings().data_dir)
    target = data_dir / spec.name
    if (target / COMPLETE_MARKER).is_file():
        return target
    archive = _fetch(spec, data_dir / "downloads")
    staging = data_dir / f".{spec.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    extract(archive, staging)
    extracted = staging / spec.archive_root
    files = image_files(extracted) if extracted.is_dir() else []
    found = (len(class_names(extracted)) if files else 0, len(files))
    if found != (spec.classes, spec.images):
        shutil.rmtree(staging)
        raise DatasetUnavailable(
            f"{spec.name}: the archive holds {found[0]} classes and {found[1]} images "
            f"under {spec.archive_root}/, expected {spec.classes} and {spec.images}"
        )
    (extracted / COMPLETE_MARKER).write_text(
        json.dumps(
            {"url": spec.url, "sha256": spec.sha256, "classes": found[0], "images": found[1]}
        )
    )
    shutil.rmtree(target, ignore_errors=True)
    extracted.rename(target)
    shutil.rmtree(staging)
    return target


def extract(archive: Path, folder: Path) -> None:
    """Unpack a tar or zip archive into ``folder``, writing nothing outside it.

    Tars go through tarfile's ``data`` filter (Python 3.11.4+): absolute names become relative, and
    a member or link leading out of the folder stops the extraction (nothing is kept). Zip
    extraction skips absolute names and ``..`` itself and writes a link as a plain file, so a
    path through that link stops the extraction too.
    """
    try:
        shutil.unpack_archive(
            archive, folder, **({"filter": "data"} if tarfile.is_tarfile(archive) else {})
        )
    # a zip's link, then a path through it
    except (tarfile.FilterError, FileExistsError, NotADirectoryError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise DatasetUnavailable(
            f"{Path(archive).name}: not extracted, it holds an unsafe or broken member ({error})"
        ) from None


def _fetch(spec: RealDataset, folder: Path) -> Path:
    """The verified archive, downloaded unless a good copy is already there."""
    # imported here: TensorFlow loads only when a download is asked for
    from keras.utils import get_file

    folder.mkdir(parents=True, exist_ok=True)
    name = spec.url.rsplit("/", 1)[-1]
    try:
        return Path(
            get_file(name, spec.url, file_hash=spec.sha256, cache_dir=str(folder), cache_subdir=".")
        )
    except ValueError:  # keras checked the hash of what it downloaded
        (folder / name).unlink(missing_ok=True)
        raise DatasetUnavailable(
            f"{spec.name}: the download from {spec.url} did not match its SHA-256 "
            f"checksum, so it was deleted. Try again later."
        ) from None
    except Exception as error:  # keras re-raises network failures as a bare Exception
        raise DatasetUnavailable(
            f"Could not download {spec.name} from {spec.url} ({error}). Without a network, use "
            "COURSE_DATASET=embedded (generated locally) or COURSE_DATASET=/path/to/your/images."
        ) from None
