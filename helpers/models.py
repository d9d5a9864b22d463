"""The models the course trains: pretrained backbones with a new head, and a small CNN.

Every model takes float images with values in [0, 255] and sparse integer labels, so
any pipeline of the course can feed any model. Each one scales its input inside itself:
EfficientNet's own stem divides by 255 and normalises with ImageNet's channel statistics,
MobileNetV2 gets a Rescaling layer to [-1, 1] in front, the small CNN divides by 255 (notebook 00
measures what images divided by 255 once more cost a trained model in accuracy).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from helpers.config import Scale

# Backbone constructor and the layer that brings 0-255 images to the scale its weights expect
# (None: the backbone's own stem does it, so nothing may scale the images before it).
BACKBONES = {
    "efficientnetb0": (keras.applications.EfficientNetB0, None),  # Rescaling(1/255), Normalization
    "efficientnetb3": (keras.applications.EfficientNetB3, None),
    "mobilenetv2": (
        keras.applications.MobileNetV2,
        lambda: keras.layers.Rescaling(1 / 127.5, offset=-1),
    ),
}
MODEL_NAMES = ("small_cnn", *BACKBONES)
# ImageNet's per-channel mean and standard deviation, of images in [0, 1]: what EfficientNet's
# pretrained stem normalises with (keras.applications.efficientnet).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PretrainedWeightsUnavailable(RuntimeError):
    """ImageNet weights could not be fetched; the message says how to go on without them."""


def build_model(
    name: str,
    num_classes: int,
    image_size: int,
    weights: str | None = "imagenet",
    learning_rate: float = 1e-3,
) -> keras.Model:
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
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def course_model(scale: Scale, classes: Sequence[str]) -> keras.Model:
    """The run's model for ``classes``, compiled: ``scale.model`` at ``scale.image_size`` px.

    Taught in notebook 02, where the course first trains it; later notebooks call it from here.
    """
    return build_model(scale.model, len(classes), scale.image_size)


def small_cnn(num_classes: int, image_size: int) -> keras.Model:
    """Four convolution blocks: learns the embedded dataset in two epochs on a laptop CPU."""
    layers = [keras.Input((image_size, image_size, 3)), keras.layers.Rescaling(1 / 255)]
    for filters in (16, 32, 64, 128):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
        ]
    layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(num_classes)]
    return keras.Sequential(layers, name="small_cnn")


def _transfer_model(
    name: str, num_classes: int, image_size: int, weights: str | None
) -> keras.Model:
    constructor, rescaling = BACKBONES[name]
    inputs = keras.Input((image_size, image_size, 3))
    try:
        backbone = constructor(
            include_top=False,
            weights=weights,
            input_shape=(image_size, image_size, 3),
            pooling="avg",
        )
    except Exception as error:
        if weights is None:
            raise
        raise PretrainedWeightsUnavailable(
            f"Could not fetch {weights} weights for {name} ({error}). Offline, build it with weights=None "
            "to train from scratch, or use the small_cnn model."
        ) from None
    frozen = weights is not None
    backbone.trainable = not frozen
    x = rescaling()(inputs) if rescaling else inputs
    x = backbone(x, training=False) if frozen else backbone(x)  # frozen: keep BatchNorm statistics
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name=f"{name}_classifier")


def efficientnet_stem(
    image_size: int, weights: str | None = None, name: str = "efficientnetb3"
) -> keras.Model:
    """An EfficientNet from its input to what its first convolution receives (before the zero padding).

    A pretrained stem (``weights="imagenet"``) holds three layers, as Keras builds and loads it:
    ``Rescaling(1/255)``; a ``Normalization`` whose variance entries hold ImageNet's standard
    deviations (0.229, 0.224, 0.225), so it divides by their square roots; and a third
    ``Rescaling(1/sqrt(std))`` that completes the division (keras.applications.efficientnet; the
    weights file stores the std where the variance belongs, tensorflow/tensorflow#49930). With
    ``weights=None`` (offline) Keras leaves out the third layer and the statistics: this stem fills
    them in the same way, so it holds and computes what a pretrained one does,
    ``(x / 255 - mean) / std`` per channel.
    """
    constructor, _ = BACKBONES[name]
    backbone = constructor(
        include_top=False, weights=weights, input_shape=(image_size, image_size, 3)
    )
    normalised = backbone.get_layer("stem_conv_pad").input
    if weights is None:
        normalization = next(
            layer for layer in backbone.layers if isinstance(layer, keras.layers.Normalization)
        )
        # the std where the variance belongs, as the pretrained weights file loads it
        normalization.set_weights([np.array(IMAGENET_MEAN), np.array(IMAGENET_STD), np.array(0)])
        normalization.finalize_state()  # the layer computes with copies of its weights, made here
        normalised = keras.layers.Rescaling((1 / np.sqrt(IMAGENET_STD)).tolist())(normalised)
    return keras.Model(backbone.input, normalised, name=f"{name}_stem")
