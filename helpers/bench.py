"""Benchmark: the full-decode ceiling and the course's ways of loading a folder of images.

    python -m helpers.bench                                     # embedded-bench, 224 px, batches of 32
    python -m helpers.bench --dataset embedded-quick --batches 5

The full-decode ceiling, the same bytes with JPEGs decoded at a ratio, a plain tf.data
pipeline, the same with a uint8 file cache, pre-resized TFRecords, Keras'
image_dataset_from_directory and the legacy ImageDataGenerator are measured in one process,
input only (no model), reported in images/s and as a percentage of the full-decode ceiling, or,
for those that decode less or nothing, a multiple of it; then the cache's first pass against
the cached ones, and its size against the prediction.
Then decoding less on photos much larger than the model (``--photos``, generated phone-sized
JPEGs by default): the full decode, the decode at a ratio, and Pillow without and with
``draft``, side by side. Caches and records go to a temporary folder. It prints figures and
asserts nothing: how fast is fast depends on the machine.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from helpers import decoding, pipelines, tfrecords
from helpers.caches import pass_seconds
from helpers.config import SCALES
from helpers.datasets import class_names, dataset_dir, image_files
from helpers.measure import (
    MIN_SECONDS,
    WARMUP_BATCHES,
    Throughput,
    best_of_rounds,
    decode_ceiling,
    decode_rate,
    in_memory,
    percent_of_ceiling,
    throughput,
)

DEFAULTS = SCALES["full"]  # the benchmark measures at the full scale's image and batch size
CEILING = "full-decode ceiling (in-memory JPEGs, all cores)"
AT_RATIO = "decoded at a ratio (in-memory JPEGs, all cores)"
PILLOW = "Pillow, full decode (a thread per core)"
DRAFT = "Pillow with draft (a thread per core)"
PLAIN = "tf.data (parallel map, prefetch)"
CACHED = "tf.data + uint8 file cache (cached passes)"
RECORDS = "TFRecords, pre-resized (interleave)"
LEGACY = "ImageDataGenerator.flow_from_directory"
# not bound by the full-decode ceiling: they decode fewer pixels, or none, so shown as multiples of it
DECODES_LESS = {AT_RATIO, DRAFT, CACHED, RECORDS}


def labelled_files(root: Path) -> tuple[list[str], list[int]]:
    """Every image file's path and label (the index of its class folder)."""
    index = {name: i for i, name in enumerate(class_names(root))}
    paths, labels = zip(*((str(path), index[name]) for path, name in image_files(root)))
    return list(paths), list(labels)


def cache_passes(
    dataset: tf.data.Dataset, cache_file: Path, passes: int = 3
) -> tuple[list[float], int]:
    """Seconds of each full pass over a file-cached dataset (the first one writes the cache) and the cache's bytes."""
    seconds = pass_seconds(dataset, passes)
    return seconds, sum(f.stat().st_size for f in cache_file.parent.glob(cache_file.name + ".*"))


def records_pipeline(root: Path, image_size: int, batch_size: int, folder: Path) -> tf.data.Dataset:
    """Pre-resized TFRecords (written first, into ``folder``), read with parallel interleave."""
    manifest = tfrecords.write_tfrecords(
        folder, *labelled_files(root), class_names(root), root, image_size=image_size
    )
    return pipelines.from_records(manifest.files(folder), image_size, batch_size).repeat()


def keras_directory_dataset(root: Path, image_size: int, batch_size: int) -> tf.data.Dataset:
    """keras.utils.image_dataset_from_directory as it comes, repeated to give as many batches as asked for."""
    return tf.keras.utils.image_dataset_from_directory(
        root, image_size=(image_size, image_size), batch_size=batch_size, verbose=False
    ).repeat()


def image_data_generator(
    root: Path, image_size: int, batch_size: int
) -> tf.keras.preprocessing.image.DirectoryIterator:
    """The legacy (deprecated) Keras way: ImageDataGenerator.flow_from_directory, resizing only."""
    return tf.keras.preprocessing.image.ImageDataGenerator().flow_from_directory(
        root,
        target_size=(image_size, image_size),
        color_mode="rgb",
        class_mode="sparse",
        batch_size=batch_size,
    )


def main(argv: list[str] | None = None) -> None:
    """Measure the pipelines side by side and print their throughputs, ratios and the cache's figures."""
    args = _parser().parse_args(argv)
    root = dataset_dir(args.dataset)
    timing = {"batches": args.batches, "warmup": args.warmup, "seconds": args.seconds}
    sizes = (root, args.image_size, args.batch_size)
    print(
        f"{args.dataset}: {len(image_files(root)):,} images at {args.image_size} px in batches of "
        f"{args.batch_size}; best of {args.rounds} rounds of {args.batches} batches, each after {args.warmup} warm-up; "
        f"{os.cpu_count()} cores; TensorFlow {tf.__version__}"
    )
    with tempfile.TemporaryDirectory(prefix="course-bench-") as work:
        cache_file = Path(work) / "cache_uint8"
        paths, labels = labelled_files(root)
        cached = pipelines.uint8_cached(paths, labels, args.image_size, args.batch_size, cache_file)
        passes, cache_bytes = cache_passes(cached, cache_file)
        plain, records, keras_dataset, legacy = (
            pipelines.from_files(paths, labels, args.image_size, args.batch_size).repeat(),
            records_pipeline(*sizes, Path(work) / "records"),
            keras_directory_dataset(*sizes),
            image_data_generator(*sizes),
        )
        best = best_of_rounds(
            {  # how to measure each once
                CEILING: lambda: decode_ceiling(
                    paths, args.image_size, args.batch_size, seconds=args.seconds
                ),
                AT_RATIO: lambda: decode_ceiling(
                    paths,
                    args.image_size,
                    args.batch_size,
                    seconds=args.seconds,
                    decode=decoding.resize_at_ratio,
                ),
                PLAIN: lambda: throughput(plain, **timing),
                CACHED: lambda: throughput(cached.repeat(), **timing),
                RECORDS: lambda: throughput(records, **timing),
                "image_dataset_from_directory": lambda: throughput(keras_dataset, **timing),
                LEGACY: lambda: throughput(legacy, **timing),
            },
            args.rounds,
        )
    for name, result in best.items():
        _report(name, result, best[CEILING])
    rate = {name: result.images_per_second for name, result in best.items()}
    # count × height × width × channels × 1 byte
    predicted = len(image_files(root)) * args.image_size**2 * 3
    print(f"decoded at a ratio / full decode: {rate[AT_RATIO] / rate[CEILING]:.2f}x")
    print(f"tf.data / ImageDataGenerator: {rate[PLAIN] / rate[LEGACY]:.1f}x")
    print(f"pre-resized TFRecords / tf.data: {rate[RECORDS] / rate[PLAIN]:.1f}x")
    print(
        f"uint8 file cache, input-only passes: first {passes[0]:.2f} s, then {min(passes[1:]):.2f} s "
        f"({passes[0] / min(passes[1:]):.1f}x faster)"
    )
    print(
        f"uint8 cache file: {cache_bytes / 2**20:,.1f} MiB, predicted {predicted / 2**20:,.1f} MiB "
        f"(ratio {cache_bytes / predicted:.3f})"
    )
    decoding_less(dataset_dir(args.photos), *sizes[1:], args.rounds, timing)


def decoding_less(root: Path, image_size: int, batch_size: int, rounds: int, timing: dict) -> None:
    """Print the full decode, the decode at a ratio and Pillow's two ways on the same in-memory files."""
    paths, _ = labelled_files(root)
    contents = in_memory(paths)
    megapixels = np.median([np.prod(Image.open(io.BytesIO(data)).size) for data in contents]) / 1e6
    print(
        f"\n{root.name}: {len(contents)} images, median {megapixels:.1f} megapixels, to {image_size} px"
    )
    # the same bytes, read once, for every decoder
    ceiling = partial(decode_rate, contents, image_size, batch_size, seconds=timing["seconds"])
    pillow = partial(decoding.pillow_batches, contents, image_size, batch_size)
    best = best_of_rounds(
        {
            CEILING: ceiling,
            AT_RATIO: partial(ceiling, decode=decoding.resize_at_ratio),
            PILLOW: lambda: throughput(pillow(draft=False), **timing),
            DRAFT: lambda: throughput(pillow(draft=True), **timing),
        },
        rounds,
    )
    for name, result in best.items():
        _report(name, result, best[CEILING])
    rate = {name: result.images_per_second for name, result in best.items()}
    print(
        f"decoded at a ratio / full decode: {rate[AT_RATIO] / rate[CEILING]:.2f}x; "
        f"decoded at a ratio / Pillow with draft: {rate[AT_RATIO] / rate[DRAFT]:.2f}x"
    )


def _report(name: str, measured: Throughput, ceiling: Throughput) -> None:
    share = percent_of_ceiling(measured, ceiling)
    print(
        f"{name:<44} {measured.images_per_second:>8,.0f} images/s  "
        + (f"{share / 100:>6.2f}× the" if name in DECODES_LESS else f"{share:>5.0f} % of the")
        + " full-decode ceiling",
        flush=True,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--dataset",
        default="embedded-bench",
        help="embedded-quick, embedded-bench, embedded-photos, a real dataset's name or a folder "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--photos",
        default="embedded-photos",
        help="large photos to decode at a ratio: a dataset as --dataset (default: %(default)s)",
    )
    parser.add_argument(
        "--image-size", type=int, default=DEFAULTS.image_size, help="pixels (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULTS.batch_size, help="(default: %(default)s)"
    )
    parser.add_argument(
        "--batches",
        type=int,
        default=DEFAULTS.bench_batches,
        help="batches timed per pipeline (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measurements of each pipeline, interleaved; the best counts (default: %(default)s)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=MIN_SECONDS,
        help="time each pipeline at least this long (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=WARMUP_BATCHES,
        help="batches run before timing starts (default: %(default)s)",
    )
    return parser


if __name__ == "__main__":
    main()
