"""Prompt templates of the simulator and the judge (files in ``tasks/prompts/interactive``),
the guideline's conversation dimensions, and the structured answers both must give.

Templates are plain text with ``{placeholders}``; their hashes go into the cache keys, so
editing one re-runs what depends on it. The simulator answers ``{"message", "distress", "end"}``
and the judge ``{dimension: score}``; :func:`parse_seeker` / :func:`parse_judge` check them and
raise :class:`AnswerError` saying which key holds what.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from escbench.harness.errors import ConfigError, DataError
from escbench.harness.guideline import GUIDELINE, Dimension
from escbench.harness.guideline import read_guideline as read_shared_guideline
from escbench.harness.paths import TASKS_DIR
from escbench.harness.structured import response_format, strict_object

from .cards import INTENSITY_SCALE, RoleCard

PROMPTS = TASKS_DIR / "prompts" / "interactive"
GUIDELINE_MODE = "dialogues"  # whole conversations: the paper's Table 3 dimensions


class AnswerError(DataError):
    """A simulator or judge answer that does not match what was asked for."""


@dataclass(frozen=True)
class Template:
    """A prompt file: its text and sha256 (what cache keys record)."""

    path: Path
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def fill(self, **values: str) -> str:
        try:
            return self.text.format_map(values).strip()
        except (KeyError, ValueError, IndexError) as error:
            raise ConfigError(f"{self.path}: cannot fill the template ({type(error).__name__}: {error}); "
                              f"placeholders available: {sorted(values)}") from None


def read_template(folder: Path, name: str) -> Template:
    path = Path(folder) / name
    try:
        return Template(path, path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the prompt template ({error})") from None


@dataclass(frozen=True)
class Guideline:
    """The guideline's whole-conversation view: its text, scale and ``dialogues`` dimensions."""

    text: str
    scale: tuple[int, ...]
    dimensions: tuple[Dimension, ...]
    sha256: str


def read_guideline(path: Path = GUIDELINE) -> Guideline:
    """The guideline (:func:`escbench.harness.guideline.read_guideline`) with its
    whole-conversation dimensions; ConfigError naming the file when none lists ``dialogues``."""
    shared = read_shared_guideline(path)
    dimensions = shared.for_mode(GUIDELINE_MODE)
    if not dimensions:
        raise ConfigError(f"{path}: no dimension lists the mode {GUIDELINE_MODE!r}")
    return Guideline(shared.text.strip(), shared.scale, dimensions, shared.sha256)


# -- simulator --------------------------------------------------------------------------------
SEEKER_SCHEMA = strict_object({
    "message": {"type": "string"},
    "distress": {"type": "integer", "enum": list(INTENSITY_SCALE)},
    "end": {"type": "boolean"},
})
SEEKER_FORMAT = response_format("seeker_turn", SEEKER_SCHEMA)


def simulator_messages(card: RoleCard, turns: list[dict], templates: dict[str, Template], final: bool) -> list[dict]:
    """The simulator's request: its persona, then the conversation from its own side (its turns as
    ``assistant``), then the opening or closing cue when one applies."""
    system = templates["system"].fill(scene=card.scene or "unspecified", situation=card.situation or "(not given)",
                                      emotion=card.emotion or "not stated", opening=card.opening)
    messages = [{"role": "system", "content": system}]
    if not turns:
        messages.append({"role": "user", "content": templates["start"].fill()})
    for turn in turns:
        if turn["role"] == "user":
            content = json.dumps({"message": turn["text"], "distress": turn["distress"], "end": False})
            messages.append({"role": "assistant", "content": content})
        else:
            messages.append({"role": "user", "content": turn["text"]})
    if final:
        messages[-1] = {**messages[-1], "content": messages[-1]["content"] + "\n\n" + templates["final"].fill()}
    return messages


def parse_seeker(answer: str, where: str) -> dict:
    """``{"message", "distress", "end"}`` from a simulator answer; AnswerError naming ``where``."""
    try:
        data = json.loads(answer)
    except (TypeError, json.JSONDecodeError):
        raise AnswerError(f"the simulator's answer is not a JSON object: {str(answer)[:200]!r}", where=where) from None
    if not isinstance(data, dict):
        raise AnswerError(f"the simulator's answer is not a JSON object: {str(answer)[:200]!r}", where=where)
    message, distress, end = data.get("message"), data.get("distress"), data.get("end")
    if not isinstance(message, str) or not message.strip():
        raise AnswerError(f"the simulator's 'message' must be a non-empty string, got {message!r}", where=where)
    if isinstance(distress, bool) or distress not in INTENSITY_SCALE:
        raise AnswerError(f"the simulator's 'distress' is {distress!r}, not a whole number from 1 to 5", where=where)
    if not isinstance(end, bool):
        raise AnswerError(f"the simulator's 'end' must be true or false, got {end!r}", where=where)
    return {"message": message.strip(), "distress": int(distress), "end": end}


# -- judge ------------------------------------------------------------------------------------
def judge_format(guideline: Guideline) -> dict:
    score = {"type": "integer", "enum": list(guideline.scale)}
    return response_format("conversation_rating", strict_object({d.name: score for d in guideline.dimensions}))


def transcript(turns: list[dict]) -> str:
    return "\n".join(f"{'Seeker' if t['role'] == 'user' else 'Supporter'}: {t['text']}" for t in turns)


def judge_messages(card: RoleCard, turns: list[dict], guideline: Guideline, templates: dict[str, Template]) -> list[dict]:
    names = ", ".join(f'"{d.name}"' for d in guideline.dimensions)
    system = templates["judge_system"].fill(guideline=guideline.text, dimensions=names,
                                            low=str(min(guideline.scale)), high=str(max(guideline.scale)))
    user = templates["judge_user"].fill(scene=card.scene or "unspecified", transcript=transcript(turns))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_judge(answer: str, guideline: Guideline, where: str) -> dict[str, int]:
    """Scores per dimension name from the judge's JSON; AnswerError naming ``where`` and the
    dimension when one is missing or outside the guideline's scale."""
    try:
        data = json.loads(answer)
    except (TypeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        raise AnswerError(f"the judge's answer is not a JSON object: {str(answer)[:200]!r}", where=where)
    scores = {}
    for dimension in guideline.dimensions:
        value = data.get(dimension.name)
        if isinstance(value, bool) or value not in guideline.scale:
            raise AnswerError(f"the judge rated {dimension.name!r} {value!r}, not one of {list(guideline.scale)} "
                              f"(the guideline's scale); answer: {str(answer)[:200]!r}", where=where)
        scores[dimension.name] = int(value)
    return scores
