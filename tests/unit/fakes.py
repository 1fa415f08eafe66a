"""The SDK's fakes, under the name the unit tests have always imported them by."""

from __future__ import annotations

from plugins.testing.fakes import (
    FakeCaptionPlugin,
    FakeSentenceEncoder,
    FakeTextPlugin,
    hashed_vector,
)

__all__ = ["FakeCaptionPlugin", "FakeSentenceEncoder", "FakeTextPlugin", "hashed_vector"]
