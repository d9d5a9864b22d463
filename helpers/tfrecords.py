"""Sharded TFRecords that are safe to kill mid-write and checked against their source.

Notebook 07 teaches the writer: a ``tf.train.Example`` per image, a ``tf.io.TFRecordWriter``
writing each shard under a hidden partial name, ``os.fsync``, then ``os.replace`` to the final
name. ``write_tfrecords`` runs that loop for the notebooks after it and adds what teaches
nothing new: records encoded on all cores ahead of the writer, shards named
``<split>-00003-of-00010.tfrecord``, a manifest of counts written last (a folder with a
manifest is complete), a fingerprint so that a rerun with the same files reuses the shards,
and a clean start after a killed write. ``verify_tfrecords`` reads every shard back and checks
counts and labels against the source files, naming any shard that will not read.

Two flavours: the original encoded bytes (``image_size=None``), or images decoded,
resized to the training size and re-encoded as JPEG, so that reading them later costs
a small decode and no resize.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import subprocess
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import tensorflow as tf
from tqdm import tqdm

from helpers import children
from helpers.config import ROOT, display_path
from helpers.scan import tf_error_message

# The tf.train.Example layout, for tf.io.parse_single_example / parse_example.
FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),  # encoded image: JPEG, or whatever the file held
    "label": tf.io.FixedLenFeature([], tf.int64),
    # the file it came from, relative to the dataset root
    "source": tf.io.FixedLenFeature([], tf.string),
}
# The shard rule, after TensorFlow's TFRecord guide: at least 10 times as many files as there will
# be hosts reading them (MIN_SHARDS: one host), each at least 10 MB and ideally 100 MB or more, so
# that I/O prefetching pays. Large datasets get shards of about 100 MiB; a dataset under 100 MB gets
# MIN_SHARDS shards smaller than 10 MB (the guide would write fewer): interleave keeps files to read.
TARGET_SHARD_BYTES = 100 * 2**20
MIN_SHARDS = 10
MANIFEST = "manifest.json"
JPEG_QUALITY = 95
READ_AHEAD = 64  # records encoded ahead of the one being written
_PARTIAL = ".partial"  # suffix of a shard being written; hidden by a leading dot as well


@dataclass(frozen=True)
class Manifest:
    """What a complete write holds: shards with their record counts, per-class counts, how it was made."""

    split: str
    flavour: str  # "original bytes" or "resized to N px, JPEG"
    image_size: int | None
    shards: dict[str, int]  # shard file name -> records
    per_class: dict[str, int]
    shard_bytes: int  # total size of the shards on disk
    # of the source list and the settings, to tell a stale folder from a current one
    fingerprint: str

    @property
    def records(self) -> int:
        return sum(self.shards.values())

    def files(self, folder: Path | str) -> list[str]:
        """The shard paths, in order, for ``tf.data.TFRecordDataset``: in a folder or a bucket (``gs://``)."""
        return [tf.io.gfile.join(str(folder), name) for name in self.shards]

    def __str__(self) -> str:
        return (
            f"{self.split}: {self.records:,} records in {len(self.shards)} shards, "
            f"{self.shard_bytes / 2**20:,.1f} MiB ({self.flavour})"
        )


def shard_count(
    total_bytes: int,
    records: int,
    target_bytes: int = TARGET_SHARD_BYTES,
    min_shards: int = MIN_SHARDS,
) -> int:
    """How many shards for ``total_bytes`` of records: about ``target_bytes`` each, at least ``min_shards``,
    never more than there are records."""
    return max(1, min(records, max(min_shards, math.ceil(total_bytes / target_bytes))))


def write_tfrecords(
    folder: Path | str,
    paths: Sequence[str | Path],
    labels: Sequence[int],
    classes: Sequence[str],
    root: Path | str,
    image_size: int | None = None,
    split: str = "train",
    target_shard_bytes: int = TARGET_SHARD_BYTES,
    min_shards: int = MIN_SHARDS,
    progress: bool = True,
) -> Manifest:
    """Write one record per image into shards under ``folder``, unless a complete write of the same is there.

    The writer loop taught in notebook 07 (partial file, fsync, atomic rename), plus a manifest.
    ``paths`` should be images known to decode (``ScanReport.good_files()``); ``labels`` index
    ``classes``; ``root`` is the dataset folder the ``source`` feature is relative to. With
    ``image_size`` each image is resized to a square of that side and stored as JPEG.
    A folder left by a killed write (partial files, shards without a manifest) is cleared first.
    """
    folder = Path(folder)
    if not len(paths):
        raise ValueError("no images to write")
    fingerprint = _fingerprint(
        [str(p) for p in paths],
        [int(label) for label in labels],
        list(classes),
        image_size,
        target_shard_bytes,
        min_shards,
    )
    existing = read_manifest(folder, split)
    if (
        existing
        and existing.fingerprint == fingerprint
        and all((folder / s).is_file() for s in existing.shards)
    ):
        return existing
    _clear(folder, split)
    encoded = _encoded_examples(paths, labels, root, image_size)
    # sizes the shards before writing any
    sample = [next(encoded) for _ in range(min(32, len(paths)))]
    estimate = sum(map(len, sample)) / max(1, len(sample)) * len(paths)
    count = shard_count(int(estimate), len(paths), target_shard_bytes, min_shards)
    shards = {}
    records = itertools.chain(sample, encoded)
    with tqdm(total=len(paths), desc=f"write {split}", unit="record", disable=not progress) as bar:
        for index in range(count):
            name = f"{split}-{index:05d}-of-{count:05d}.tfrecord"
            # as even as can be
            size = len(paths) * (index + 1) // count - len(paths) * index // count
            _write_shard(folder / name, (next(records) for _ in range(size)))
            shards[name] = size
            bar.update(size)
    flavour = "original bytes" if image_size is None else f"resized to {image_size} px, JPEG"
    manifest = Manifest(
        split,
        flavour,
        image_size,
        shards,
        dict(sorted(Counter(classes[i] for i in labels).items())),
        sum((folder / name).stat().st_size for name in shards),
        fingerprint,
    )
    _write_atomically(
        folder / _manifest_name(split), json.dumps(manifest.__dict__, indent=1).encode()
    )
    return manifest


def read_manifest(folder: Path | str, split: str = "train") -> Manifest | None:
    """The manifest of a complete write of ``split`` in ``folder`` (a local folder or a ``gs://`` one), or None.

    Read through ``tf.io.gfile``, so the counts (and the steps per epoch a TPU notebook derives from
    them) come from the shards' own manifest wherever they were copied.
    """
    path = tf.io.gfile.join(str(folder), _manifest_name(split))
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as file:
        return Manifest(**json.loads(file.read()))


def _manifest_name(split: str) -> str:
    return f"{split}.{MANIFEST}"


def _fingerprint(*settings: object) -> str:
    return hashlib.sha256(json.dumps(settings).encode()).hexdigest()[:16]


def _clear(folder: Path, split: str) -> None:
    """Remove what an earlier write of ``split`` left: its manifest, shards and partial files."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in [
        *folder.glob(f"{split}-*.tfrecord"),
        *folder.glob(f".{split}-*{_PARTIAL}"),
        folder / _manifest_name(split),
    ]:
        path.unlink(missing_ok=True)


def _encoded_examples(
    paths: Sequence[str | Path], labels: Sequence[int], root: Path | str, image_size: int | None
) -> Iterator[bytes]:
    """Serialized examples in the order of ``paths``, encoded in threads (TensorFlow releases the GIL)."""
    root = Path(root)

    def example(item: tuple[str | Path, int]) -> bytes:
        path, label = Path(item[0]), int(item[1])
        data = path.read_bytes()
        if image_size is not None:
            data = _resized_jpeg(data, image_size, path)
        return tf.train.Example(
            features=tf.train.Features(
                feature={
                    "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                    "source": tf.train.Feature(
                        bytes_list=tf.train.BytesList(
                            value=[path.relative_to(root).as_posix().encode()]
                        )
                    ),
                }
            )
        ).SerializeToString()

    # Encode on all cores, but only a little ahead of the writer: memory stays bounded on any dataset.
    with ThreadPoolExecutor() as pool:
        pending: deque = deque()
        for item in zip(paths, labels):
            pending.append(pool.submit(example, item))
            if len(pending) > READ_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _resized_jpeg(data: bytes, image_size: int, path: Path) -> bytes:
    try:
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
    except tf.errors.InvalidArgumentError:
        raise ValueError(
            f"{display_path(path)} does not decode: scan the folder and write only its good files"
        ) from None
    resized = tf.image.resize(image, (image_size, image_size))
    return tf.io.encode_jpeg(
        tf.cast(tf.round(tf.clip_by_value(resized, 0, 255)), tf.uint8), quality=JPEG_QUALITY
    ).numpy()


def _write_shard(path: Path, records: Iterator[bytes]) -> None:
    """Write serialized examples to a hidden partial file, sync it to disk, then give it its final name."""
    partial = path.with_name(f".{path.name}{_PARTIAL}")
    with tf.io.TFRecordWriter(str(partial)) as writer:
        for record in records:
            writer.write(record)
        writer.flush()  # TensorFlow's buffer to the operating system
    _sync_and_rename(partial, path)


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}{_PARTIAL}")
    partial.write_bytes(data)
    _sync_and_rename(partial, path)


def _sync_and_rename(partial: Path, path: Path) -> None:
    with open(partial, "rb+") as file:
        # the operating system's buffer to the disk, before the name says "complete"
        os.fsync(file.fileno())
    os.replace(partial, path)  # atomic on one file system: the old name or the new, never half


def start_write_process(
    folder: Path | str,
    paths: Sequence[str | Path],
    labels: Sequence[int],
    classes: Sequence[str],
    root: Path | str,
    image_size: int | None = None,
    split: str = "train",
) -> subprocess.Popen:
    """Run ``write_tfrecords`` in a separate Python process and return it at once (to kill it midway)."""
    job = {
        "folder": str(folder),
        "paths": [str(path) for path in paths],
        "labels": [int(n) for n in labels],
        "classes": list(classes),
        "root": str(root),
        "image_size": image_size,
        "split": split,
    }
    child = subprocess.Popen(
        children.command("write_tfrecords"),
        stdin=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=children.environment(),
    )
    # the list goes in on stdin: a command line is too short for a big one
    child.stdin.write(json.dumps(job))
    child.stdin.close()
    return child


@dataclass
class Verification:
    """What reading every shard back found: counts, and every problem by shard name."""

    folder: Path | str  # a local folder, or a bucket's URL as it is
    records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = f"{display_path(self.folder)}: {self.records:,} records read back"
        return head + (
            ", all match the source"
            if self.ok
            else "\n" + "\n".join(f"  {p}" for p in self.problems)
        )


def verify_tfrecords(
    folder: Path | str,
    paths: Sequence[str | Path],
    labels: Sequence[int],
    root: Path | str,
    split: str = "train",
) -> Verification:
    """Read every shard of ``split`` back and check it against the source: one record per file, right label.

    Reports a missing manifest or shard, a shard that will not read (truncated or corrupted:
    ``DataLossError``) or whose count differs from the manifest, and sources missing,
    duplicated, unexpected or mislabelled, each naming the shard. ``folder`` may be a bucket
    (``gs://...``): shards and manifest are read through ``tf.io.gfile``.
    """
    root = Path(root)
    report = Verification(folder if "://" in str(folder) else Path(folder))
    manifest = read_manifest(folder, split)
    if manifest is None:
        report.problems.append(f"no {_manifest_name(split)}: the write did not finish; write again")
        return report
    expected = {
        Path(path).relative_to(root).as_posix(): int(label) for path, label in zip(paths, labels)
    }
    seen: Counter = Counter()
    for name, count in manifest.shards.items():
        found = _read_shard(tf.io.gfile.join(str(folder), name), expected, seen, report)
        if found is not None and found != count:
            report.problems.append(f"{name}: {found} records, the manifest says {count}")
    missing = [source for source in expected if not seen[source]]
    if missing:
        report.problems.append(f"{len(missing)} source images have no record, e.g. {missing[0]}")
    return report


def _read_shard(
    path: str, expected: dict[str, int], seen: Counter, report: Verification
) -> int | None:
    """Count and check one shard's records; None if it cannot be read to the end."""
    name = path.rsplit("/", 1)[-1]
    if not tf.io.gfile.exists(path):
        report.problems.append(f"{name}: missing")
        return None
    count = 0
    try:
        for record in tf.data.TFRecordDataset(path):
            example = tf.io.parse_single_example(record, FEATURES)
            source, label = example["source"].numpy().decode(), int(example["label"])
            count += 1
            seen[source] += 1
            if source not in expected:
                report.problems.append(
                    f"{name}: record {count} comes from {source}, not in the source list"
                )
            elif expected[source] != label:
                report.problems.append(
                    f"{name}: {source} has label {label}, the source says {expected[source]}"
                )
            elif seen[source] > 1:
                report.problems.append(f"{name}: {source} is stored more than once")
            report.records += 1
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as error:
        report.problems.append(
            f"{name}: unreadable after {count} records "
            f"({type(error).__name__}: {tf_error_message(error)})"
        )
        return None
    return count
