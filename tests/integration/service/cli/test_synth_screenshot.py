"""``fusiondesk synth screenshot`` writes images a model can be trained on with ``train``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.cli import main
from fusiondesk.service.demo import DEMO_INTENTS
from fusiondesk.service.synth.screenshot import TEMPLATES, ScreenshotRenderer
from fusiondesk.service.training.data import load_dataset
from fusiondesk.service.training.features import featurize

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_template_renders_the_text_it_reports() -> None:
    renderer = ScreenshotRenderer(seed=1)
    text = "I was charged twice for the same order and I would like a refund please"
    for template in TEMPLATES:
        shot = renderer.render(text, template)
        image = Image.open(io.BytesIO(shot.data))
        assert image.format in {"PNG", "JPEG"} and min(image.size) >= 100
        drawn = " ".join(shot.lines)
        assert all(word in drawn for word in text.split()), (template, shot.lines)


def test_rendering_is_reproducible_for_a_seed() -> None:
    first = ScreenshotRenderer(seed=5).render("where is my parcel")
    again = ScreenshotRenderer(seed=5).render("where is my parcel")
    assert first.data == again.data


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shots")
    result = CliRunner().invoke(
        main,
        [
            "synth",
            "screenshot",
            str(DEMO_INTENTS),
            "--out",
            str(out),
            "--limit",
            "8",
            "--with-text",
        ],
    )
    assert result.exit_code == 0, result.output
    return out / "screenshots.jsonl"


def test_synth_writes_images_and_a_manifest(screenshots: Path) -> None:
    rows = [json.loads(line) for line in screenshots.read_text().splitlines()]
    assert len(rows) == 8
    for row in rows:
        assert set(row) == {"image", "intent", "text"}
        assert (screenshots.parent / row["image"]).is_file()


def test_training_data_with_images_fills_the_image_slots(
    screenshots: Path, registry: PluginRegistry
) -> None:
    dataset = load_dataset(screenshots)
    assert {part.type for part in dataset.examples[0].parts()} == {"image", "text"}
    features = featurize(dataset, registry, cache_dir=None, progress=False)
    assert {"text", "image_visual", "image_text"} <= set(features.specs)
    assert features.present["image_visual"].all()
    assert features.present["image_text"].mean() >= 0.8  # OCR found text in the screenshots


def test_train_command_accepts_image_rows(
    screenshots: Path, tmp_path: Path, fusiondesk_home: Path
) -> None:
    image_only = tmp_path / "images.jsonl"
    rows = [json.loads(line) for line in screenshots.read_text().splitlines()]
    image_only.write_text(
        "".join(
            json.dumps({"image": str(screenshots.parent / r["image"]), "intent": r["intent"]})
            + "\n"
            for r in rows
        )
    )
    result = CliRunner().invoke(
        main, ["train", str(image_only), "--out", str(tmp_path / "model"), "--epochs", "1"]
    )
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert {slot["name"] for slot in config["slots"]} == {"image_text", "image_visual"}
