"""Plugin authoring kit figures: scaffold → install → contract check, and the example
document plugin's costs (PDF text extraction runs in the API process on every request).

Prints a plain-text table. Run: .venv/bin/python bench/plugin_kit.py
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fusiondesk.plugins import Part  # noqa: E402
from fusiondesk.plugins.testing import FakeTextPlugin, check_plugin_contract  # noqa: E402
from fusiondesk.plugins.text import TextPlugin  # noqa: E402
from fusiondesk.plugins.text.encoder import packaged_minilm_path, shared_sentence_encoder  # noqa: E402
from fusiondesk.service.scaffold import scaffold_plugin  # noqa: E402

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
EXAMPLE = ROOT / "examples" / "fusiondesk-document" / "fusiondesk_document" / "pdf.py"
LETTER = [
    "Dear customer service,",
    "I returned the broken kettle from order 5521 two weeks ago.",
    "The parcel reached your warehouse on Monday according to the tracking page.",
    "Please refund the 40 EUR to the card I paid with, or tell me what is missing.",
]


def timed(action: Callable[[], object], repeats: int = 1) -> float:
    """Median seconds of ``repeats`` runs."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def load_pdf_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fusiondesk_document_pdf", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "fusiondesk-bench-modality"
        seconds = timed(lambda: scaffold_plugin("bench_modality", Path(scratch)))
        rows.append(("scaffold `plugin new` (in-process)", f"{seconds * 1000:.1f} ms"))
        install = [*PIP, "install", "--no-deps", "--no-build-isolation", "-e", str(project)]
        rows.append(
            (
                "pip install -e (no deps)",
                f"{timed(lambda: subprocess.run(install, check=True)):.2f} s",
            )
        )
        listed = [sys.executable, "-m", "fusiondesk.service.cli", "plugins"]
        seconds = timed(lambda: subprocess.run(listed, check=True, capture_output=True))
        rows.append(("`fusiondesk plugins` listing it", f"{seconds:.2f} s"))
        generated = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)]
        seconds = timed(
            lambda: subprocess.run(generated, check=True, capture_output=True, cwd=project)
        )
        rows.append(("generated tests (7, subprocess)", f"{seconds:.2f} s"))
        uninstall = [*PIP, "uninstall", "-y", "fusiondesk-bench-modality"]
        rows.append(
            ("pip uninstall", f"{timed(lambda: subprocess.run(uninstall, check=True)):.2f} s")
        )

    samples = [Part("text", text=t) for t in ("where is my parcel", "refund please", "hi")]
    bad = [Part("text", text="")]
    seconds = timed(lambda: check_plugin_contract(FakeTextPlugin, samples, bad), repeats=5)
    rows.append(("contract check, fake plugin", f"{seconds * 1000:.1f} ms"))
    shared_sentence_encoder(packaged_minilm_path())  # load once, outside the timing
    seconds = timed(lambda: check_plugin_contract(TextPlugin, samples, bad), repeats=3)
    rows.append(("contract check, text plugin (MiniLM)", f"{seconds:.2f} s"))

    pdf = load_pdf_module()
    for pages in (1, 5, 20):
        document = pdf.write_text_pdf([LETTER] * pages)
        seconds = timed(
            lambda d=document: pdf.extract_text(d, max_pages=20, max_chars=4000), repeats=5
        )
        rows.append(
            (f"PDF text extraction, {pages} page(s), {len(document)} B", f"{seconds * 1000:.1f} ms")
        )
    encoder = shared_sentence_encoder(packaged_minilm_path())
    text, _ = pdf.extract_text(pdf.write_text_pdf([LETTER] * 5), max_pages=20, max_chars=4000)
    batch = [text] * 32
    seconds = timed(lambda: encoder.encode(batch), repeats=3)
    rows.append(("document embedding, batch of 32 (CPU)", f"{len(batch) / seconds:.1f} docs/s"))

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 12}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
