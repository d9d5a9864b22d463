"""Every model the course trains builds offline, and a failed weights download says what to do."""

from __future__ import annotations

import pytest

from helpers.models import MODEL_NAMES, PretrainedWeightsUnavailable, build_model


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_builds_without_weights_and_predicts_one_logit_per_class(name):
    import numpy as np

    model = build_model(name, num_classes=5, image_size=64, weights=None)
    logits = model.predict(np.full((2, 64, 64, 3), 128.0, np.float32), verbose=0)
    assert logits.shape == (2, 5)


def test_a_backbone_built_from_scratch_trains_all_its_layers():
    scratch = build_model("mobilenetv2", num_classes=3, image_size=64, weights=None)
    assert all(layer.trainable for layer in scratch.layers)


def test_unfetchable_weights_give_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("keras.src.utils.file_utils.get_file", offline)
    with pytest.raises(PretrainedWeightsUnavailable, match="weights=None"):
        build_model("efficientnetb0", num_classes=3, image_size=64)


def test_unknown_model_lists_the_choices():
    with pytest.raises(ValueError, match="small_cnn"):
        build_model("resnet9000", num_classes=3, image_size=64)


def test_the_efficientnet_stem_normalises_0_255_images_with_imagenet_statistics():
    import numpy as np

    from helpers.models import IMAGENET_MEAN, IMAGENET_STD, efficientnet_stem

    stem = efficientnet_stem(32, name="efficientnetb0")
    # as a pretrained stem holds them: the std where the variance belongs, then 1/sqrt(std)
    _, normalization, sqrt_std = stem.layers[1:]
    np.testing.assert_allclose(normalization.variance.numpy().ravel(), IMAGENET_STD, rtol=1e-6)
    np.testing.assert_allclose(sqrt_std.scale, 1 / np.sqrt(IMAGENET_STD))
    mean, std = 255 * np.array(IMAGENET_MEAN), 255 * np.array(IMAGENET_STD)
    images = np.stack(
        [np.broadcast_to(mean, (32, 32, 3)), np.broadcast_to(mean + std, (32, 32, 3))]
    )
    normalised = stem.predict(images.astype(np.float32), verbose=0)
    np.testing.assert_allclose(normalised[0], 0, atol=1e-4)  # the mean becomes 0
    np.testing.assert_allclose(normalised[1], 1, atol=1e-4)  # one standard deviation above it, 1


def test_the_course_model_is_the_scale_s_model_for_the_classes():
    from helpers.config import SCALES
    from helpers.models import course_model

    model = course_model(SCALES["quick"], ["cat", "dog", "fox"])
    assert model.name == SCALES["quick"].model and model.output_shape == (None, 3)
