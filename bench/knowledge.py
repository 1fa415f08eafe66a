"""Knowledge base: paraphrase top-1 (target ≥ 85%), threshold sweep, index and query timings.

Run: ``python bench/knowledge.py``. Uses the 22-entry telecom FAQ and 40 paraphrases of the
tests, and the demo shop's knowledge base; prints plain-text tables.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fusiondesk.plugins.text.encoder import packaged_minilm_path  # noqa: E402
from fusiondesk.service.demo import DEMO_DOMAIN  # noqa: E402
from fusiondesk.service.replies.domain import Domain  # noqa: E402
from fusiondesk.service.replies.knowledge import EncoderEmbeddings, KnowledgeBase  # noqa: E402
from fusiondesk.service.replies.knowledge.index import open_index  # noqa: E402
from fusiondesk.service.settings import KnowledgeSettings  # noqa: E402
from tests.unit.faq_fixture import FAQ, QUESTIONS, UNRELATED, faq_markdown  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main() -> None:
    started = time.perf_counter()
    embeddings = EncoderEmbeddings.shared(packaged_minilm_path())
    embeddings.embed_query("warm up")
    print(f"encoder load: {time.perf_counter() - started:.2f}s")
    defaults = KnowledgeSettings()

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        faq = root / "faq.md"
        faq.write_text(faq_markdown(), encoding="utf-8")
        print("\nindex                 entries  build_s  reload_s")
        for name, files in [
            ("test FAQ", [faq]),
            ("demo shop", Domain.load(DEMO_DOMAIN).knowledge_files()),
        ]:
            started = time.perf_counter()
            built = open_index(files, embeddings, root / "index")
            build_s = time.perf_counter() - started
            started = time.perf_counter()
            reloaded = open_index(files, embeddings, root / "index")
            reload_s = time.perf_counter() - started
            assert built.rebuilt and not reloaded.rebuilt
            print(f"{name:<20} {built.entries:>8} {build_s:>8.3f} {reload_s:>9.3f}")

        knowledge, _ = KnowledgeBase.open(
            [faq], embeddings, root / "index", top_k=defaults.top_k, score_threshold=-1.0
        )
        results = []
        latencies = []
        for question, expected in QUESTIONS:
            started = time.perf_counter()
            hits = await knowledge.search(question)
            latencies.append((time.perf_counter() - started) * 1000)
            results.append((hits[0].title == FAQ[expected][0], hits[0].score))
        unrelated = [(await knowledge.search(q))[0].score for q in UNRELATED]

    print(f"\nparaphrase top-1 over {len(QUESTIONS)} questions, {len(FAQ)} entries")
    print("threshold  top1_cited  unrelated_answered")
    for threshold in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45):
        top1 = sum(right and score >= threshold for right, score in results) / len(results)
        wrong = sum(score >= threshold for score in unrelated)
        marker = "  <- default" if threshold == defaults.score_threshold else ""
        print(f"{threshold:>9.2f}  {top1:>10.1%}  {wrong:>10}/{len(unrelated)}{marker}")
    print(
        f"\nsearch latency (ms, one question at a time): p50 {statistics.median(latencies):.1f}"
        f"  p95 {percentile(latencies, 95):.1f}  max {max(latencies):.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
