"""Domain words from training texts, the voice plugin's Whisper hint."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from fusiondesk.service.cli import main
from fusiondesk.service.training.vocabulary import domain_vocabulary, hotwords

TEXTS = [
    "I forgot my PIN",
    "How do I change my PIN?",
    "my pin is blocked",
    "Why was my transfer declined?",
    "The transfer isn't there and I'm worried",
    "Can I top-up by cheque? top-up please",
    "ATM kept my card, the ATM is broken",
    "card card",
    "zyxxy 2020",
]


def test_most_frequent_content_words_first_in_their_usual_spelling() -> None:
    words = domain_vocabulary(TEXTS)
    assert words[:2] == ["PIN", "card"]  # PIN 3 times (2 as "PIN"), card 3 times
    assert set(words) == {"PIN", "card", "transfer", "top-up", "ATM"}


def test_stop_words_contractions_rare_words_and_numbers_are_left_out() -> None:
    words = {word.lower() for word in domain_vocabulary(TEXTS)}
    assert not words & {"i", "my", "the", "why", "isn't", "i'm", "can"}
    assert "zyxxy" not in words  # seen once
    assert "forgot" not in words
    assert not any(word.isdigit() for word in words)


def test_size_keeps_the_most_frequent() -> None:
    assert domain_vocabulary(TEXTS, size=1) == ["PIN"]
    assert domain_vocabulary([]) == []


def test_hotwords_setting_lists_the_words() -> None:
    assert hotwords(["PIN", "top-up"]) == "PIN, top-up"


def test_vocabulary_command_prints_the_voice_setting(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    rows = [f"{text.replace(',', '')},intent{i % 2}" for i, text in enumerate(TEXTS)]
    data.write_text("text,intent\n" + "\n".join(rows) + "\n")
    result = CliRunner().invoke(main, ["vocabulary", str(data), "--size", "2"])
    assert result.exit_code == 0, result.output
    assert result.output == 'FUSIONDESK_PLUGINS__VOICE__HOTWORDS="PIN, card"\n'


def test_vocabulary_command_refuses_data_without_words(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text('{"audio": "a.wav", "intent": "x"}\n')
    result = CliRunner().invoke(main, ["vocabulary", str(data)])
    assert result.exit_code != 0
    assert "no text rows" in result.output
