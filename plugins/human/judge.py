"""``escbench human judge``: an LLM rates the export's units with the same guideline and
writes a sheet in the raters' format, so ``human import --judge`` measures its agreement.

Any OpenAI-compatible chat-completions server works. The judge sees only what raters see
(``units.jsonl``: no system names). Answers are appended to ``<sheet>.jsonl`` as they come,
so an interrupted run resumes where it stopped. An answer cut at ``--max-tokens``
(``finish_reason: length``) is never used, even when its scores came before the cut: it
counts as unreadable (asked again, then an error saying to raise ``--max-tokens``).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable

from escbench.harness.errors import ConfigError, DataError
from escbench.harness.guideline import Dimension, Guideline
from escbench.harness.jsonl import append_records, read_records, repair_tail

from .export import UNITS_FILE
from .sheets import Unit, conversation_text, write_sheet


def judge_messages(unit: dict, guideline: Guideline, dimensions: list[Dimension]) -> list[dict]:
    """Chat messages asking for one JSON object of scores for one unit."""
    names = ", ".join(f'"{d.name}"' for d in dimensions)
    low, high = min(guideline.scale), max(guideline.scale)
    system = (f"You rate emotional-support conversations for a research study, following this guideline.\n\n"
              f"{guideline.text}\n"
              f"Answer with one JSON object and nothing else: the keys {names}, each a whole number from "
              f"{low} to {high}.")
    context = conversation_text(unit.get("context") or [])
    if unit.get("reply") is None:
        user = f"Dialogue to rate:\n{context}"
    else:
        user = f"Conversation so far:\n{context}\n\nSupporter reply to rate:\n{unit['reply']}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_scores(answer: str, dimensions: list[Dimension], scale: list[int]) -> dict[str, int]:
    """Scores from the judge's answer (the first JSON object in it); ValueError saying why not."""
    match = re.search(r"\{.*?\}", answer or "", flags=re.S)
    if not match:
        raise ValueError("no JSON object in the answer")
    data = json.loads(match.group(0))
    scores = {}
    for dimension in dimensions:
        value = data.get(dimension.name, data.get(dimension.name.lower()))
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or value not in scale:
            raise ValueError(f"{dimension.name!r} is {value!r}, not one of {scale}")
        scores[dimension.name] = value
    return scores


class ChatAnswer(str):
    """A chat answer's text that also carries the server's ``finish_reason``."""

    finish_reason: str | None = None

    @classmethod
    def of(cls, text: str, finish_reason: str | None) -> "ChatAnswer":
        answer = cls(text)
        answer.finish_reason = finish_reason
        return answer


def openai_chat(model: str, base_url: str, api_key: str, temperature: float, max_tokens: int) -> Callable[[list[dict]], str]:
    """A function sending chat messages to an OpenAI-compatible server and returning the text."""
    try:
        import openai
    except ImportError:
        raise ConfigError("the judge needs the openai package: pip install 'escbench[api]'") from None
    client = openai.OpenAI(base_url=base_url, api_key=api_key)

    def chat(messages: list[dict]) -> str:
        try:
            response = client.chat.completions.create(model=model, messages=messages, temperature=temperature,
                                                      max_tokens=max_tokens)
        except openai.APIConnectionError as error:
            raise ConfigError(f"judge: cannot reach {base_url} ({error}); check --base-url") from None
        except openai.APIStatusError as error:
            raise ConfigError(f"judge: {base_url} answered HTTP {error.status_code}: {error.message}") from None
        choice = response.choices[0]
        return ChatAnswer.of(choice.message.content or "", choice.finish_reason)

    return chat


def run_judge(folder: Path, key: dict, guideline: Guideline, chat: Callable[[list[dict]], str], sheet: str,
              retries: int = 2, progress: Callable[[int, int], None] | None = None) -> Path:
    """Rate every unit of the export with ``chat`` and write ``folder/sheet``; DataError naming
    the unit when an answer still cannot be read after ``retries`` more attempts."""
    folder = Path(folder)
    dimensions = [Dimension(d["name"], d["short"]) for d in key["dimensions"]]
    units = list(read_records(folder / UNITS_FILE))
    log = folder / (Path(sheet).stem + ".jsonl")
    repair_tail(log)
    done = {row["id"]: row["scores"] for row in read_records(log)}
    for index, unit in enumerate(units, start=1):
        if unit["id"] not in done:
            answer, problem = "", ""
            for _ in range(retries + 1):
                answer = chat(judge_messages(unit, guideline, dimensions))
                if getattr(answer, "finish_reason", None) == "length":
                    problem = "the answer was cut at --max-tokens (finish_reason length): raise --max-tokens"
                    continue
                try:
                    done[unit["id"]] = parse_scores(answer, dimensions, key["scale"])
                    break
                except (ValueError, json.JSONDecodeError) as error:
                    problem = str(error)
            else:
                raise DataError(f"judge answer for unit {unit['id']} unreadable after {retries + 1} tries ({problem}): "
                                f"{answer[:200]!r}", path=str(folder / UNITS_FILE))
            append_records(log, [{"id": unit["id"], "answer": answer, "scores": done[unit["id"]]}])
        if progress:
            progress(index, len(units))
    as_units = [Unit(u["id"], u["conversation"], tuple(u["context"]), u["reply"], "", "") for u in units]
    write_sheet(folder / sheet, as_units, dimensions, done)
    return folder / sheet


def api_key_from(env_var: str) -> str:
    """The API key from ``env_var``; local servers accept any string, so a placeholder is used when unset."""
    return os.environ.get(env_var) or "not-needed"
