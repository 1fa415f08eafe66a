from __future__ import annotations

import json
from pathlib import Path

import pytest

from fusiondesk.service.errors import DatasetError
from fusiondesk.service.training.data import evaluation_path, load_dataset


def test_jsonl_rows_keep_every_input_and_resolve_paths(tmp_path: Path) -> None:
    (tmp_path / "clip.wav").write_bytes(b"RIFF")
    rows = [
        {"text": "where is my parcel", "intent": "order_status"},
        {"audio": "clip.wav", "intent": "order_status", "id": "7"},
    ]
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    dataset = load_dataset(path)
    assert dataset.intents == ["order_status", "order_status"]
    assert dataset.examples[0].parts()[0].text == "where is my parcel"
    audio = dataset.examples[1].parts()[0]
    assert audio.type == "audio" and audio.data == b"RIFF"
    assert len(dataset.digest) == 64


def test_banking77_style_csv(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_text('text,category\n"I lost my card, help",lost_or_stolen_card\nhi,greeting\n')
    dataset = load_dataset(path)
    assert dataset.intents == ["lost_or_stolen_card", "greeting"]
    assert dataset.examples[0].inputs == {"text": "I lost my card, help"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.jsonl", '{"text": "x"}\n', "missing or empty 'intent'"),
        ("bad.jsonl", "{not json\n", "bad.jsonl:1: not valid JSON"),
        ("bad.jsonl", '{"intent": "a"}\n', "no input field"),
        ("bad.csv", "words,label\nx,y\n", "columns text and category"),
        ("bad.txt", "x", "Unknown dataset format"),
        ("empty.jsonl", "\n", "holds no examples"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_missing_media_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps({"image": "nope.png", "intent": "a"}) + "\n")
    with pytest.raises(DatasetError, match="nope.png"):
        load_dataset(path).examples[0].parts()


def test_clinc150_json_reads_a_split_with_its_out_of_scope_rows(tmp_path: Path) -> None:
    path = tmp_path / "data_full.json"
    path.write_text(
        json.dumps(
            {
                "train": [["book a table", "restaurant"], ["play jazz", "music"]],
                "oos_train": [["how tall is everest", "oos"]],
                "test": [["play some rock", "music"]],
                "oos_test": [],
            }
        )
    )
    train = load_dataset(Path(f"{path}#train"))
    assert train.intents == ["restaurant", "music", "out_of_scope"]
    test = load_dataset(Path(f"{path}#test"))
    assert test.intents == ["music"] and test.digest != train.digest
    assert load_dataset(path).intents == train.intents  # train is the default split
    with pytest.raises(DatasetError, match="unknown split 'dev'"):
        load_dataset(Path(f"{path}#dev"))


def test_folder_layout_names_intents_after_folders(tmp_path: Path) -> None:
    (tmp_path / "greeting").mkdir()
    (tmp_path / "greeting" / "a.txt").write_text("hello there")
    (tmp_path / "refund").mkdir()
    (tmp_path / "refund" / "call.wav").write_bytes(b"RIFF")
    (tmp_path / "refund" / "notes.md").write_text("ignored: not a known media type")
    dataset = load_dataset(tmp_path)
    assert dataset.intents == ["greeting", "refund"]
    assert dataset.examples[0].inputs == {"text": "hello there"}
    assert dataset.examples[1].parts()[0].data == b"RIFF"
    (tmp_path / "greeting" / "a.txt").write_text("hi")
    assert load_dataset(tmp_path).digest != dataset.digest


def test_a_clinc_file_without_a_split_is_evaluated_on_its_test_split() -> None:
    full = Path("data/clinc150/data_full.json")
    assert evaluation_path(full) == Path("data/clinc150/data_full.json#test")
    assert evaluation_path(Path(f"{full}#val")) == Path(f"{full}#val")  # a named split stays
    for other in ("train.csv", "rows.jsonl", "folder"):
        assert evaluation_path(Path(other)) == Path(other)
