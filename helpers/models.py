"""The models the course trains: pretrained backbones with a new head, and a small CNN.

Every model takes float images with values in [0, 255] and sparse integer labels, so
any pipeline of the course can feed any model; each one rescales as its backbone expects.
"""
from __future__ import annotations

import keras

# Backbone constructor and the rescaling its pretrained weights expect (None: built in).
BACKBONES = {
    "efficientnetb0": (keras.applications.EfficientNetB0, None),
    "efficientnetb3": (keras.applications.EfficientNetB3, None),
    "mobilenetv2": (keras.applications.MobileNetV2, lambda: keras.layers.Rescaling(1 / 127.5, offset=-1)),
}
MODEL_NAMES = ("small_cnn", *BACKBONES)


class PretrainedWeightsUnavailable(RuntimeError):
    """ImageNet weights could not be fetched; the message says how to go on without them."""


def build_model(name: str, num_classes: int, image_size: int, weights: str | None = "imagenet",
                learning_rate: float = 1e-3) -> keras.Model:
    """A compiled classifier for ``num_classes`` classes of ``image_size`` square images.

    For a backbone, ``weights="imagenet"`` downloads pretrained weights and freezes
    them (transfer learning: only the new head trains); ``weights=None`` trains the
    whole network from scratch, which needs no network. ``small_cnn`` has no weights.
    """
    if name == "small_cnn":
        model = small_cnn(num_classes, image_size)
    elif name in BACKBONES:
        model = _transfer_model(name, num_classes, image_size, weights)
    else:
        raise ValueError(f"Unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def small_cnn(num_classes: int, image_size: int) -> keras.Model:
    """Four convolution blocks: learns the embedded dataset in two epochs on a laptop CPU."""
    layers = [keras.Input((image_size, image_size, 3)), keras.layers.Rescaling(1 / 255)]
    for filters in (16, 32, 64, 128):
        layers += [keras.layers.Conv2D(filters, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D()]
    layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(num_classes)]
    return keras.Sequential(layers, name="small_cnn")


def _transfer_model(name: str, num_classes: int, image_size: int, weights: str | None) -> keras.Model:
    constructor, rescaling = BACKBONES[name]
    inputs = keras.Input((image_size, image_size, 3))
    try:
        backbone = constructor(include_top=False, weights=weights, input_shape=(image_size, image_size, 3),
                               pooling="avg")
    except Exception as error:
        if weights is None:
            raise
        raise PretrainedWeightsUnavailable(
            f"Could not fetch {weights} weights for {name} ({error}). Offline, build it with weights=None "
            "to train from scratch, or use the small_cnn model.") from None
    frozen = weights is not None
    backbone.trainable = not frozen
    x = rescaling()(inputs) if rescaling else inputs
    x = backbone(x, training=False) if frozen else backbone(x)  # frozen: keep BatchNorm statistics
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name=f"{name}_classifier")
