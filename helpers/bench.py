"""Benchmark: the decode ceiling and three ways of loading a folder of images, side by side.

    python -m helpers.bench                                     # embedded-bench, 224 px, batches of 32
    python -m helpers.bench --dataset embedded-quick --batches 5

The decode ceiling, a plain tf.data pipeline, Keras' image_dataset_from_directory and the
legacy ImageDataGenerator are measured in one process, input only (no model), reported in images/s
and as a percentage of the decode ceiling. It prints figures and asserts nothing:
how fast is fast depends on the machine.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import tensorflow as tf
from tqdm import tqdm

from helpers.config import SCALES
from helpers.datasets import class_names, dataset_dir, image_files
from helpers.measure import (WARMUP_BATCHES, Throughput, decode_and_resize, decode_ceiling,
                             percent_of_ceiling, throughput)

DEFAULTS = SCALES["full"]  # the benchmark measures at the full scale's image and batch size
CEILING = "decode ceiling (in-memory JPEGs, all cores)"


def plain_pipeline(root: Path, image_size: int, batch_size: int) -> tf.data.Dataset:
    """tf.data at its plainest: list files, read + decode + resize in parallel, batch, prefetch."""
    index = {name: i for i, name in enumerate(class_names(root))}
    paths, labels = zip(*((str(path), index[name]) for path, name in image_files(root)))
    return (tf.data.Dataset.from_tensor_slices((list(paths), list(labels)))
            .repeat()  # as many batches as asked for, like ImageDataGenerator
            .map(lambda path, label: (decode_and_resize(tf.io.read_file(path), image_size), label),
                 num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE))


def keras_directory_dataset(root: Path, image_size: int, batch_size: int) -> tf.data.Dataset:
    """keras.utils.image_dataset_from_directory as it comes, repeated to give as many batches as asked for."""
    return tf.keras.utils.image_dataset_from_directory(
        root, image_size=(image_size, image_size), batch_size=batch_size, verbose=False).repeat()


def image_data_generator(root: Path, image_size: int,
                         batch_size: int) -> tf.keras.preprocessing.image.DirectoryIterator:
    """The legacy (deprecated) Keras way: ImageDataGenerator.flow_from_directory, resizing only."""
    return tf.keras.preprocessing.image.ImageDataGenerator().flow_from_directory(
        root, target_size=(image_size, image_size), color_mode="rgb", class_mode="sparse",
        batch_size=batch_size)


def main(argv: list[str] | None = None) -> None:
    """Measure and print the three throughputs and how tf.data compares with ImageDataGenerator."""
    args = _parser().parse_args(argv)
    root = dataset_dir(args.dataset)
    timing = {"batches": args.batches, "warmup": args.warmup}
    sizes = (root, args.image_size, args.batch_size)
    print(f"{args.dataset}: {len(image_files(root)):,} images at {args.image_size} px in batches of "
          f"{args.batch_size}; best of {args.rounds} rounds of {args.batches} batches, each after {args.warmup} warm-up; "
          f"{os.cpu_count()} cores; TensorFlow {tf.__version__}")
    pipelines = {  # how to measure each once
        CEILING: lambda: decode_ceiling(*sizes, **timing),
        "tf.data (parallel map, prefetch)": lambda: throughput(plain, **timing),
        "image_dataset_from_directory": lambda: throughput(keras_dataset, **timing),
        "ImageDataGenerator.flow_from_directory": lambda: throughput(legacy, **timing),
    }
    plain, keras_dataset, legacy = (make(*sizes) for make in (plain_pipeline, keras_directory_dataset,
                                                                image_data_generator))
    best: dict[str, Throughput] = {}
    # Round after round, every pipeline once a round, so a busy moment hits them all alike; keep the best.
    with tqdm(total=args.rounds * len(pipelines), desc="measuring", unit="run", leave=False) as bar:
        for _ in range(args.rounds):
            for name, measure_once in pipelines.items():
                result = measure_once()
                if name not in best or result.images_per_second > best[name].images_per_second:
                    best[name] = result
                bar.update()
    for name, result in best.items():
        _report(name, result, best[CEILING])
    ratio = best["tf.data (parallel map, prefetch)"].images_per_second / \
        best["ImageDataGenerator.flow_from_directory"].images_per_second
    print(f"tf.data / ImageDataGenerator: {ratio:.1f}x")


def _report(name: str, measured: Throughput, ceiling: Throughput) -> None:
    print(f"{name:<44} {measured.images_per_second:>8,.0f} images/s  "
          f"{percent_of_ceiling(measured, ceiling):>4.0f} % of ceiling", flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="embedded-bench",
                        help="embedded-quick, embedded-bench, a real dataset's name or a folder (default: %(default)s)")
    parser.add_argument("--image-size", type=int, default=DEFAULTS.image_size, help="pixels (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size, help="(default: %(default)s)")
    parser.add_argument("--batches", type=int, default=DEFAULTS.bench_batches,
                        help="batches timed per pipeline (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measurements of each pipeline, interleaved; the best counts (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=WARMUP_BATCHES,
                        help="batches run before timing starts (default: %(default)s)")
    return parser


if __name__ == "__main__":
    main()
