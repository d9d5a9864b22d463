"""What a measurement ran under, read from the objects that were measured, so a lesson can check its sides.

A lesson compares two measurements that differ in one thing. ``conditions`` describes one of them:
which loader, what augmentation (in one vocabulary for ``ImageDataGenerator``'s arguments and
Keras' preprocessing layers, so the two can be compared; a function by its name and parameters),
the image and batch size of the batches, and the process; ``shuffle_and_cache`` adds how a
``tf.data`` pipeline shuffles and caches, read from its chain of datasets. ``results.record`` keeps
the description beside the number: a lesson whose sides differ in more than the setting it names is
refused there, and so is a pipeline row whose figures were measured under different conditions
(``check_rows``).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

NO_AUGMENTATION: dict = {}
ImageDataGenerator = (
    tf.keras.preprocessing.image.ImageDataGenerator
)  # Keras 3 keeps it in tf.keras only


def conditions(data: Iterable, augmentation: object = None, **read: object) -> dict:
    """The conditions ``data`` was measured under: loader, augmentation, image and batch size, process.

    ``data`` is the loader that was timed: an ``ImageDataGenerator`` iterator (its augmentation is
    read from its generator; ``augmentation`` is ignored) or a ``tf.data.Dataset`` (give
    ``augmentation``: the Keras layers mapped over it, which the dataset's graph does not name).
    ``read`` adds settings read from other measured objects, such as a model's ``dtype_policy.name``.
    """
    if isinstance(getattr(data, "image_data_generator", None), ImageDataGenerator):
        loader = "ImageDataGenerator"  # a flow_from_directory iterator: its generator augments
        augmentation = data.image_data_generator
        image_size, batch_size = data.target_size[0], data.batch_size
    elif isinstance(data, tf.data.Dataset):
        loader = "tf.data"
        images = tf.nest.flatten(next(iter(data)))[0]  # the shape only the first batch knows
        batch_size, image_size = int(images.shape[0]), int(images.shape[1])
    else:
        raise TypeError(f"conditions: no way to read a {type(data).__name__}")
    return {
        "loader": loader,
        "augmentation": describe_augmentation(augmentation),
        "image_size": image_size,
        "batch_size": batch_size,
        "process": os.getpid(),
        **read,
    }


def of_pipelines(
    figures: Mapping[str | tuple[str, ...], tf.data.Dataset],
    augmentation: object = None,
    **read: object,
) -> dict[str, dict]:
    """``conditions`` by figure name, each read from the ``tf.data`` pipeline it was measured on,
    with how that pipeline shuffles and caches; a tuple key names several figures of one pipeline.

    ``augmentation`` and ``read`` as in ``conditions``, for every pipeline given.
    """
    described = {}
    for names, data in figures.items():
        measured = conditions(data, augmentation, **shuffle_and_cache(data), **read)
        described |= dict.fromkeys([names] if isinstance(names, str) else names, measured)
    return described


def shuffle_and_cache(dataset: tf.data.Dataset) -> dict:
    """How a ``tf.data`` pipeline shuffles and caches, read from its chain of datasets.

    ``shuffle``: ``"none"``, or each buffer's size and the order of the list it draws from (the
    labels, the last component of the ``from_tensor_slices`` the pipeline starts from: sorted by
    label or not). ``cache``: ``"none"``, ``"memory"`` or ``"file"``. Give both to ``conditions``
    as keywords: ``conditions(dataset, **shuffle_and_cache(dataset))``.
    """
    chain = _chain(dataset)
    buffers = [str(int(d._buffer_size)) for d in chain if type(d).__name__ == "_ShuffleDataset"]
    files = [bool(d._filename.numpy()) for d in chain if type(d).__name__ == "CacheDataset"]
    shuffle = f"buffer of {' and '.join(buffers)} over {_order(chain[-1])}" if buffers else "none"
    return {"shuffle": shuffle, "cache": ("file" if files[0] else "memory") if files else "none"}


def _chain(dataset: tf.data.Dataset) -> list[tf.data.Dataset]:
    """A pipeline's datasets from the last to the one it starts from (each one's first input)."""
    chain = [dataset]
    while inputs := chain[-1]._inputs():  # tf.data offers no public way up the chain
        chain.append(inputs[0])
    return chain


def _order(source: tf.data.Dataset) -> str:
    """The order of the list a pipeline starts from, by its labels (each element's last part)."""
    if not hasattr(source, "_tensors"):  # not from_tensor_slices: no list to read
        return f"a {type(source).__name__}"
    labels = np.asarray(tf.nest.flatten(source._tensors)[-1])
    return (
        "a list sorted by label" if np.all(np.diff(labels) >= 0) else "a list not sorted by label"
    )


def describe_augmentation(augmentation: object) -> dict:
    """Random transformations as ranges: rotation in degrees, shift and zoom as fractions, flips, fill.

    ``augmentation`` is ``None``, an ``ImageDataGenerator``, Keras preprocessing layers (one, or
    a ``Sequential``/``Pipeline`` of them) or a function of ``tf.image`` ops (plain or a
    ``functools.partial``), which is described by its name and keyword parameters: what it does
    with them is its code's. Anything else the generator or a layer would do appears under its own
    name, so two descriptions are equal only when the work is.
    """
    if augmentation is None:
        return NO_AUGMENTATION
    if isinstance(augmentation, ImageDataGenerator):
        return _generator(augmentation)
    if callable(augmentation) and not isinstance(augmentation, keras.layers.Layer):
        return _function(augmentation)
    layers = getattr(augmentation, "layers", [augmentation])
    described = {}
    for layer in layers:
        described |= _layer(layer)
    return described


def _generator(generator: ImageDataGenerator) -> dict:
    g = generator
    low, high = g.zoom_range
    flips = [
        name
        for name, on in (("horizontal", g.horizontal_flip), ("vertical", g.vertical_flip))
        if on
    ]
    described = {
        "rotation_degrees": _range(g.rotation_range),
        "shift": (_range(g.height_shift_range), _range(g.width_shift_range)),
        "zoom": ((round(low - 1, 6), round(high - 1, 6)),) * 2,
        "flip": "_and_".join(flips),
        "shear": _range(g.shear_range),
        "channel_shift": _range(g.channel_shift_range),
        "brightness": g.brightness_range,
        "rescale": g.rescale,
        "preprocessing_function": getattr(g.preprocessing_function, "__name__", None),
    }
    described = {key: value for key, value in described.items() if _transforms(value)}
    return described | ({"fill": g.fill_mode} if _moves(described) else {})


def _layer(layer: keras.layers.Layer) -> dict:
    config = layer.get_config()
    if isinstance(layer, keras.layers.RandomRotation):
        described = {"rotation_degrees": _range(config["factor"], 360)}
    elif isinstance(layer, keras.layers.RandomTranslation):
        described = {"shift": (_range(config["height_factor"]), _range(config["width_factor"]))}
    elif isinstance(layer, keras.layers.RandomZoom):
        width = config["width_factor"]
        height = _range(config["height_factor"])
        described = {"zoom": (height, height if width is None else _range(width))}
    elif isinstance(layer, keras.layers.RandomFlip):
        return {"flip": config["mode"]}
    else:  # a transformation this vocabulary does not know: by its class and settings
        kept = {
            key: value
            for key, value in config.items()
            if key not in ("name", "trainable", "dtype", "seed")
        }
        return {type(layer).__name__: kept}
    return described | {"fill": config["fill_mode"]}


def _function(function: Callable) -> dict:
    """A function by its name and parameters: its defaults and what a partial binds."""
    parameters = inspect.signature(function).parameters.values()  # a partial's keywords as defaults
    described = {p.name: p.default for p in parameters if p.default is not p.empty}
    bound = getattr(function, "args", ())  # a partial's positional arguments
    name = getattr(function, "func", function).__name__
    return {name: described | ({"args": bound} if bound else {})}


def _range(value: float | tuple[float, float], scale: float = 1) -> tuple[float, float]:
    low, high = value if isinstance(value, (tuple, list)) else (-value, value)
    return (round(low * scale, 6), round(high * scale, 6))


def _transforms(value: object) -> bool:
    return bool(value) and value not in ((0, 0), ((0, 0), (0, 0)))


def _moves(described: dict) -> bool:
    return any(key in described for key in ("rotation_degrees", "shift", "zoom", "shear"))


ROW_FIGURES = (
    "images_per_second",
    "percent_of_ceiling",
    "epoch_seconds",
    "wait_share",
    "wait_share_accelerator",
    "val_accuracy",
)


class MixedRow(ValueError):
    """A pipeline row's figures were measured under different conditions."""


def check_rows(rows: Sequence[Mapping[str, object]], measured_under: Mapping[str, dict]) -> None:
    """Raise ``MixedRow`` when a notebook's first pipeline row mixes figures measured differently.

    ``rows`` are ``results.Pipeline.figures()``; the first is the notebook's headline row. Its
    ``ROW_FIGURES`` recorded with conditions in ``measured_under`` (by figure name, as ``of_pipelines``
    gives them) must all have been measured alike.
    """
    if not rows:
        return
    row = {f: measured_under[f] for f in ROW_FIGURES if f in measured_under}
    first = next(iter(row.values()), {})
    names = {name for described in row.values() for name in described}
    unlike = sorted(n for n in names if any(d.get(n) != first.get(n) for d in row.values()))
    if unlike:
        raise MixedRow(
            f"the row {rows[0]['pipeline']!r} mixes figures measured under different "
            "conditions: " + "; ".join(f"{name}: {_by_value(row, name)}" for name in unlike)
        )


def _by_value(row: Mapping[str, dict], name: str) -> str:
    """Each value the row's figures recorded for one condition, with the figures that recorded it."""
    figures: dict[str, list[str]] = {}
    for figure, described in row.items():
        figures.setdefault(repr(described.get(name)), []).append(figure)
    return " against ".join(f"{value} ({', '.join(names)})" for value, names in figures.items())
