"""Knowledge files to entries: one LangChain ``Document`` per FAQ question or Markdown section.

Two layouts are understood, in ``.md`` and ``.txt`` files alike:

* Markdown headings: each section (``#`` to ``######``) with a body is an entry titled by
  its heading;
* Q&A pairs: a line starting ``Q:`` and the ``A:`` text after it form an entry titled by the
  question (for FAQ pages pasted as plain text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from langchain_core.documents import Document

from fusiondesk.service.errors import DatasetError

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
QUESTION = re.compile(r"^\s*(?:\*\*)?Q:(?:\*\*)?\s*(.+)$", re.IGNORECASE)
ANSWER = re.compile(r"^\s*(?:\*\*)?A:(?:\*\*)?\s*(.*)$", re.IGNORECASE)


def load_entries(files: Iterable[Path]) -> list[Document]:
    """Every entry of every file; ``metadata`` holds ``title``, ``file`` and ``entry_id``."""
    entries = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise DatasetError(f"Cannot read knowledge file {file}: {error}") from error
        for number, (title, body) in enumerate(split_entries(text)):
            entries.append(
                Document(
                    page_content=f"{title}\n{body}",
                    metadata={
                        "title": title,
                        "file": str(file),
                        "entry_id": f"{file}#{number}",
                        "answer": body,
                    },
                )
            )
    return entries


def split_entries(text: str) -> Iterator[tuple[str, str]]:
    """``(title, body)`` pairs: Q&A pairs where a section has them, else the section itself."""
    for heading, lines in _sections(text.splitlines()):
        pairs = list(_qa_pairs(lines))
        if pairs:
            yield from pairs
            continue
        body = _paragraphs(lines)
        if heading and body:
            yield heading, body


def _sections(lines: list[str]) -> Iterator[tuple[str | None, list[str]]]:
    heading: str | None = None
    body: list[str] = []
    in_code = False  # a "# comment" inside a fenced code block is not a heading
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        match = None if in_code else HEADING.match(line)
        if match:
            yield heading, body
            heading, body = match.group(2), []
        else:
            body.append(line)
    yield heading, body


def _qa_pairs(lines: list[str]) -> Iterator[tuple[str, str]]:
    question: str | None = None
    answer: list[str] = []
    for line in lines:
        if match := QUESTION.match(line):
            if question and _paragraphs(answer):
                yield question, _paragraphs(answer)
            question, answer = match.group(1).strip(), []
        elif question is not None:
            answer_start = ANSWER.match(line)
            answer.append(answer_start.group(1) if answer_start else line)
    if question and _paragraphs(answer):
        yield question, _paragraphs(answer)


def _paragraphs(lines: list[str]) -> str:
    """Body text with line wrapping undone and blank-line paragraph breaks kept."""
    paragraphs = " ".join(line.strip() if line.strip() else "\n" for line in lines)
    return "\n".join(" ".join(p.split()) for p in paragraphs.split("\n") if p.strip())
