"""What a measurement ran under, read from the objects that were measured, so a lesson can check its sides.

A lesson compares two measurements that differ in one thing. ``conditions`` describes one of them:
which loader, what augmentation (in one vocabulary for ``ImageDataGenerator``'s arguments and
Keras' preprocessing layers, so the two can be compared), the image and batch size of the
batches, and the process. ``results.record`` keeps the description beside the number, and a
lesson whose sides differ in more than the setting it names is refused there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import keras
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


def describe_augmentation(augmentation: object) -> dict:
    """Random transformations as ranges: rotation in degrees, shift and zoom as fractions, flips, fill.

    ``augmentation`` is ``None``, an ``ImageDataGenerator`` or Keras preprocessing layers (one, or
    a ``Sequential``/``Pipeline`` of them). Anything else the generator or a layer would do appears
    under its own name, so two descriptions are equal only when the work is.
    """
    if augmentation is None:
        return NO_AUGMENTATION
    if isinstance(augmentation, ImageDataGenerator):
        return _generator(augmentation)
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


def _range(value: float | tuple[float, float], scale: float = 1) -> tuple[float, float]:
    low, high = value if isinstance(value, (tuple, list)) else (-value, value)
    return (round(low * scale, 6), round(high * scale, 6))


def _transforms(value: object) -> bool:
    return bool(value) and value not in ((0, 0), ((0, 0), (0, 0)))


def _moves(described: dict) -> bool:
    return any(key in described for key in ("rotation_degrees", "shift", "zoom", "shear"))
