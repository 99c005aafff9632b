"""The conversation loop: the simulated seeker and the system under test take turns, all
conversations in lockstep, each step's finished turns persisted before the next step.

A conversation is ``seeker, system, seeker, ..., seeker``: the seeker opens; after each system
reply the seeker answers, and may end the conversation (``end``); after ``max_turns`` system
replies the seeker is asked for a last message (which always ends it). Its first message can
not end it. The system sees the conversation as an :class:`~escbench.harness.data.Example` (the card's
scene and situation, the turns so far), like any split's example, so every system works.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from escbench.harness.cache import stable_hash
from escbench.harness.contracts import check_generations
from escbench.harness.data import Example, Turn
from escbench.harness.registry import GenerationSettings

from .cards import RoleCard
from .prompts import (SEEKER_FORMAT, AnswerError, Guideline, Template, judge_format, judge_messages, parse_judge,
                      parse_seeker, simulator_messages)
from .store import RatingStore, TurnStore


@dataclass
class Counts:
    conversations: int = 0
    cached_turns: int = 0
    seeker_requests: int = 0
    system_turns: int = 0
    judged: int = 0
    cached_ratings: int = 0


@dataclass
class Conversation:
    card: RoleCard
    key: str
    turns: list[dict] = field(default_factory=list)

    @property
    def system_turns(self) -> int:
        return sum(1 for t in self.turns if t["role"] == "ai")

    def next_role(self) -> str | None:
        """"user" (the seeker speaks), "ai" (the system replies) or None (finished)."""
        if not self.turns or self.turns[-1]["role"] == "ai":
            return "user"
        return None if self.turns[-1].get("end") else "ai"


def conversation_key(card: RoleCard, identity: dict) -> str:
    return stable_hash({"card": card.to_dict(), "configuration": identity})


def _chunks(items: list, size: int):
    for start in range(0, len(items), max(1, size)):
        yield items[start:start + max(1, size)]


def _answer(result: Any, flag: str, where: str) -> str:
    """The text of a ChatResult's only choice; AnswerError when the server cut it at the token
    limit or refused (a cut JSON answer is never used, even if it happens to parse)."""
    if result.finish_reasons and result.finish_reasons[0] == "length":
        raise AnswerError(f"the answer was cut at the token limit (finish_reason length): raise {flag}; "
                          f"it began {result.choices[0][:120]!r}", where=where)
    if result.refusals and result.refusals[0]:
        raise AnswerError(f"the model refused: {result.refusals[0][:200]!r}", where=where)
    return result.choices[0]


def run_conversations(
    cards: Sequence[RoleCard], system: Any, simulator: Any, store: TurnStore, identity: dict,
    settings: GenerationSettings, simulator_settings: GenerationSettings, max_turns: int,
    templates: dict[str, Template], who: str, advance: Callable[[int], None] | None = None,
) -> tuple[list[Conversation], Counts]:
    """Finish every card's conversation (resuming from ``store``); returns them in card order.
    A simulator answer that is not what was asked for raises AnswerError naming the card and turn."""
    conversations = [Conversation(card, key := conversation_key(card, identity), store.turns(key)) for card in cards]
    counts = Counts(conversations=len(cards), cached_turns=sum(len(c.turns) for c in conversations))
    if advance:
        advance(sum(1 for c in conversations if c.next_role() is None))
    while True:
        seekers = [c for c in conversations if c.next_role() == "user"]
        for batch in _chunks(seekers, settings.batch_size):
            finals = [c.system_turns >= max_turns for c in batch]
            requests = [simulator_messages(c.card, c.turns, templates, final) for c, final in zip(batch, finals)]
            answers = simulator.complete(requests, simulator_settings, response_format=SEEKER_FORMAT)
            new = []
            try:
                for conversation, final, answer in zip(batch, finals, answers):
                    where = f"conversation {conversation.card.id!r}, seeker turn {len(conversation.turns)}"
                    parsed = parse_seeker(_answer(answer, "--simulator-max-tokens", f"{who}: {where}"), f"{who}: {where}")
                    ended = final or (parsed["end"] and bool(conversation.turns))
                    new.append((conversation, {"role": "user", "text": parsed["message"],
                                               "distress": parsed["distress"], "end": ended}))
            finally:  # the usable answers before a bad one are kept
                store.add([(c.key, c.card.id, turn) for c, turn in new])
                for conversation, turn in new:
                    conversation.turns.append(turn)
                    if turn["end"] and advance:
                        advance(1)
            counts.seeker_requests += len(batch)
        replying = [c for c in conversations if c.next_role() == "ai"]
        if not seekers and not replying:
            break
        for batch in _chunks(replying, settings.batch_size):
            examples = [Example(dialogue_id=c.card.id, turn_index=len(c.turns), reference="", scene=c.card.scene or None,
                                description=c.card.situation,
                                context=tuple(Turn(t["role"], t["text"], t.get("strategy")) for t in c.turns))
                        for c in batch]
            generations = check_generations(system.generate(examples, settings), len(examples), who)
            turns = [{"role": "ai", "text": g.text, "strategy": g.predicted_strategy, "raw": g.raw,
                      "usage": dict(g.usage or {})} for g in generations]
            store.add([(c.key, c.card.id, turn) for c, turn in zip(batch, turns)])
            for conversation, turn in zip(batch, turns):
                conversation.turns.append(turn)
            counts.system_turns += len(batch)
    return conversations, counts


def judge_conversations(
    conversations: Sequence[Conversation], judge: Any, ratings: RatingStore, judge_identity: dict,
    guideline: Guideline, templates: dict[str, Template], settings: GenerationSettings, who: str,
    counts: Counts,
) -> list[dict[str, int]]:
    """Scores per dimension for every conversation (cached per conversation and judge setup);
    AnswerError naming the conversation and dimension for an answer outside the scale."""
    keys = [stable_hash({"conversation": c.key, "judge": judge_identity}) for c in conversations]
    pending = [i for i, key in enumerate(keys) if ratings.get(key) is None]
    counts.cached_ratings = len(conversations) - len(pending)
    for batch in _chunks(pending, settings.batch_size):
        requests = [judge_messages(conversations[i].card, conversations[i].turns, guideline, templates) for i in batch]
        answers = judge.complete(requests, settings, response_format=judge_format(guideline))
        records = []
        try:
            for i, answer in zip(batch, answers):
                where = f"{who}: judge rating of conversation {conversations[i].card.id!r}"
                text = _answer(answer, "--judge-max-tokens", where)
                records.append({"key": keys[i], "card": conversations[i].card.id,
                                "scores": parse_judge(text, guideline, where), "answer": text})
        finally:  # the usable ratings before a bad one are kept
            ratings.add(records)
            counts.judged += len(records)
    return [ratings.get(key)["scores"] for key in keys]
