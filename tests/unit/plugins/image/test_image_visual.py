from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from fusiondesk.plugins import Part
from fusiondesk.plugins.image import ImageConfig, ImagePlugin
from fusiondesk.plugins.image.visual import (
    FEATURE_DIM,
    VisualEncoder,
    center_crop,
    packaged_weights_path,
)
from tests.images import encode, error_dialog, parcel_photo

# A real photograph that ships with matplotlib: Grace Hopper in her navy uniform.
GRACE_HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
MILITARY_UNIFORM = 652  # ImageNet class index


@pytest.fixture(scope="module")
def encoder() -> VisualEncoder:
    return VisualEncoder(packaged_weights_path())


def test_packaged_weights_recognise_a_real_photo(encoder: VisualEncoder) -> None:
    """Strict weights, architecture and preprocessing together: ImageNet's own answer."""
    crop = center_crop(Image.open(GRACE_HOPPER).convert("RGB"))
    features = encoder.features(encoder.pixels([crop]))
    with torch.inference_mode():
        probabilities = encoder.network._fc(features).softmax(dim=-1)[0]
    assert MILITARY_UNIFORM in probabilities.topk(5).indices.tolist()


def test_features_are_pooled_and_independent_of_the_batch(encoder: VisualEncoder) -> None:
    crops = [
        center_crop(Image.open(GRACE_HOPPER).convert("RGB")),
        center_crop(parcel_photo()),
        center_crop(Image.new("RGB", (300, 200), "white")),
    ]
    batch = encoder.encode(crops)
    assert batch.shape == (3, FEATURE_DIM) and batch.dtype == np.float32
    alone = np.stack([encoder.encode([crop])[0] for crop in crops])
    np.testing.assert_allclose(batch, alone, rtol=1e-4, atol=1e-4)
    assert not np.allclose(batch[0], batch[1], atol=1e-2)


def test_crop_is_the_centre_square() -> None:
    wide = Image.new("RGB", (512, 256), "black")
    wide.paste((255, 255, 255), (128, 0, 384, 256))  # white centre square, black sides
    crop = np.frombuffer(center_crop(wide), dtype=np.uint8)
    assert crop.min() > 200


def test_with_ocr_switched_off_only_the_visual_slot_is_made() -> None:
    plugin = ImagePlugin(ImageConfig(ocr_enabled=False))
    dialog = encode(error_dialog("Error 504: payment failed"), "PNG")
    [encoding] = plugin.embed([plugin.preprocess(Part("image", data=dialog))])
    assert set(encoding.slots) == {"image_visual"} and "ocr" not in encoding.details
    assert encoding.details == {"format": "PNG", "width": 640, "height": 320}
