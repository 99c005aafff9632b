"""Iterative expansion (ChatPal §3.2, Appendix E): the teacher writes new dialogues for target
scenes from one pool example each; accepted dialogues join the pool for the next iteration.

Each iteration asks for ``round(per_scene * number of scenes)`` dialogues, split over the
scenes by a distribution (default: the Table 10 counts in the scene catalog) with the
largest-remainder method. Every answer goes through QA (:mod:`.qa`) and duplicate checks
against the seeds and everything accepted so far (:mod:`.collect`), in plan order. Scenes
short of their quota are asked again, with new sample ids, for up to ``refill_rounds`` more
rounds. Which pool example a request shows is drawn from a generator seeded with
(seed, iteration, scene, index), so a re-run builds the same prompts and finds them in the
journal. If requests fail on transient errors (or were not sent), the run stops after that
iteration (the next one would be built from an incomplete pool); running the command again
retries them. Requests the server refused for good (``request_rejected``) never stop it:
later iterations go on with what was accepted.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from escbench.harness.catalogs import Scene, StrategyCatalog, load_scenes, normalize_scene
from escbench.harness.data import Dialogue, Turn
from escbench.harness.errors import ConfigError

from .collect import DialogueCollector
from .prompts import Template, example_json, strategy_list
from .qa import QAOptions
from .schemas import SchemaOptions, expansion_format
from .teacher import Teacher, TeacherRequest


@dataclass
class ExpandSettings:
    """What ``escbench expand`` was asked for (see the module doc)."""

    seeds: list[Dialogue]
    scenes: tuple[Scene, ...]
    weights: dict[str, float]
    per_scene: float = 1.0
    iterations: int = 1
    refill_rounds: int = 0
    example_scene: str = "any"  # or "same": prefer pool dialogues of the target scene
    seed: int = 0
    dup_threshold: float = 0.8
    qa: QAOptions = field(default_factory=QAOptions)
    schema: SchemaOptions = field(default_factory=SchemaOptions)  # response_format profile and limits


def select_scenes(spec: str | None) -> tuple[Scene, ...]:
    """A scene catalog YAML path, comma-separated names of the ExTES catalog, or None (all 36)."""
    if not spec:
        return load_scenes()
    if spec.endswith((".yaml", ".yml")) or Path(spec).is_file():
        return load_scenes(str(Path(spec).resolve()))
    catalog = load_scenes()
    chosen = []
    for name in (part.strip() for part in spec.split(",") if part.strip()):
        canonical = normalize_scene(name, catalog)
        if canonical is None:
            raise ConfigError(f"--scenes: {name!r} is not an ExTES scene (see tasks/catalogs/scenes-extes.yaml)")
        chosen.append(next(scene for scene in catalog if scene.name == canonical))
    return tuple(chosen)


def load_weights(spec: str, scenes: tuple[Scene, ...]) -> dict[str, float]:
    """Scene -> weight: ``table10`` (catalog counts), ``uniform``, or a YAML file mapping scene
    names to weights (or a scene catalog with ``dialogues``)."""
    if spec == "uniform":
        return {scene.name: 1.0 for scene in scenes}
    if spec == "table10":
        weights = {scene.name: float(scene.dialogues) for scene in scenes}
        return weights if any(weights.values()) else {scene.name: 1.0 for scene in scenes}
    try:
        raw = yaml.safe_load(Path(spec).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"--distribution {spec}: cannot read it ({error}); use table10, uniform or a YAML file") from None
    if isinstance(raw, dict) and isinstance(raw.get("scenes"), list):
        raw = {item["name"]: item.get("dialogues", 0) for item in raw["scenes"]}
    if not isinstance(raw, dict):
        raise ConfigError(f"--distribution {spec}: expected a mapping of scene names to weights")
    by_key = {normalize_scene(str(name), scenes) or str(name): value for name, value in raw.items()}
    unknown = [name for name in by_key if name not in {scene.name for scene in scenes}]
    if unknown:
        raise ConfigError(f"--distribution {spec}: {', '.join(map(repr, unknown))} not among the selected scenes")
    try:
        return {scene.name: float(by_key.get(scene.name, 0.0)) for scene in scenes}
    except (TypeError, ValueError):
        raise ConfigError(f"--distribution {spec}: every weight must be a number") from None


def scene_quotas(weights: dict[str, float], total: int) -> dict[str, int]:
    """``total`` split in proportion to ``weights`` (largest remainder; ties in scene order)."""
    weight_sum = sum(weights.values())
    if total <= 0 or weight_sum <= 0:
        return {name: 0 for name in weights}
    exact = {name: total * weight / weight_sum for name, weight in weights.items()}
    quotas = {name: int(value) for name, value in exact.items()}
    order = sorted(weights, key=lambda name: -(exact[name] - quotas[name]))
    for name in order[: total - sum(quotas.values())]:
        quotas[name] += 1
    return quotas


def dialogue_from_record(record: dict) -> Dialogue:
    turns = tuple(Turn("user", t["User"]) if "User" in t else Turn("ai", t["AI"], t.get("AI Strategy"))
                  for t in record["content"])
    return Dialogue(record["id"], turns, record.get("scene"), record.get("description", ""))


BLOCKING = ("request_failed", "not_sent")  # failures a re-run must retry before the next iteration


@dataclass
class IterationSummary:
    iteration: int
    requested: int = 0
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    failed_requests: int = 0
    rejected_requests: int = 0


class Expansion:
    """Runs the loop; ``collector`` holds what was accepted/rejected, ``summaries`` one entry per
    iteration. ``after_iteration(expansion)`` is called when each iteration is reviewed."""

    def __init__(self, settings: ExpandSettings, teacher: Teacher, template: Template, catalog: StrategyCatalog):
        self.settings, self.teacher, self.template = settings, teacher, template
        self.strategies = strategy_list(catalog)
        self.catalog = catalog
        self.collector = DialogueCollector(settings.qa, settings.dup_threshold)
        for seed in settings.seeds:
            self.collector.add_reference(seed.id, {"content": [{"User" if t.role == "user" else "AI": t.text}
                                                               for t in seed.turns]})
        self.pool: list[Dialogue] = list(settings.seeds)
        self.summaries: list[IterationSummary] = []
        self.scene_by_name = {scene.name: scene for scene in settings.scenes}

    def quotas(self) -> dict[str, int]:
        total = round(self.settings.per_scene * len(self.settings.scenes))
        return scene_quotas(self.settings.weights, total)

    def _example(self, iteration: int, scene: str, index: int) -> Dialogue:
        rng = random.Random(f"{self.settings.seed}|{iteration}|{scene}|{index}")
        candidates = self.pool
        if self.settings.example_scene == "same":
            candidates = [d for d in self.pool if d.scene == scene] or self.pool
        return candidates[rng.randrange(len(candidates))]

    def messages_for(self, scene_name: str, example: str) -> list[dict[str, str]]:
        """The prompt for ``scene_name`` showing ``example`` (a dialogue as example JSON)."""
        scene = self.scene_by_name[scene_name]
        return self.template.messages(strategies=self.strategies, example=example, scene=scene.name,
                                      scene_description=scene.description or scene.name)

    def request(self, iteration: int, scene_name: str, index: int) -> TeacherRequest:
        scene = self.scene_by_name[scene_name]
        example = self._example(iteration, scene_name, index)
        messages = self.messages_for(scene_name, example_json(example))
        qa = self.settings.qa
        answer_format = expansion_format(self.catalog, scene.name, qa.min_turns, qa.max_turns, self.settings.schema)
        return TeacherRequest(messages, sample=[iteration, index],
                              tag={"scene": scene.name, "iteration": iteration, "index": index, "example": example.id},
                              response_format=answer_format)

    def run(self, progress: Callable[[int, int], None] | None = None,
            after_iteration: Callable[["Expansion"], None] | None = None) -> bool:
        """All iterations; False when one ended with failed requests (the loop stops there)."""
        for iteration in range(1, self.settings.iterations + 1):
            summary = self._iteration(iteration, progress)
            self.summaries.append(summary)
            if after_iteration is not None:
                after_iteration(self)
            if summary.failed_requests:
                return False
        return True

    def _iteration(self, iteration: int, progress) -> IterationSummary:
        summary = IterationSummary(iteration)
        wanted = {scene: quota for scene, quota in self.quotas().items() if quota > 0}
        next_index = dict.fromkeys(wanted, 0)
        accepted_now: list[dict] = []
        for _round in range(self.settings.refill_rounds + 1):
            plan = [(scene, next_index[scene] + offset) for scene, missing in wanted.items() for offset in range(missing)]
            if not plan:
                break
            requests = [self.request(iteration, scene, index) for scene, index in plan]
            replies = self.teacher.run(requests, parse=self._parse_summary, progress=progress)
            for (scene, index), request, reply in zip(plan, requests, replies):
                accepted = self.collector.review(
                    reply, group=scene, dialogue_id=f"expand-{iteration}-{reply.key[:12]}", scene=scene,
                    check_scene=True, context={"scene": scene, "iteration": iteration, "index": index,
                                               "example": request.tag["example"]},
                    provenance={"step": "expand", "iteration": iteration, "example": request.tag["example"],
                                "teacher": self.teacher.model})
                summary.requested += 1
                if accepted is None:
                    reason = self.collector.rejects[-1]["reason"]
                    summary.rejected[reason] += 1
                    summary.failed_requests += reason in BLOCKING
                    summary.rejected_requests += reason == "request_rejected"
                else:
                    accepted_now.append(accepted)
                    wanted[scene] -= 1
            for scene in next_index:
                next_index[scene] += sum(1 for s, _ in plan if s == scene)
            wanted = {scene: missing for scene, missing in wanted.items() if missing > 0}
            if summary.failed_requests:
                break
        summary.accepted = len(accepted_now)
        self.pool.extend(dialogue_from_record(record) for record in accepted_now)
        return summary

    def _parse_summary(self, request: TeacherRequest, reply) -> dict:
        from .qa import check_dialogue

        verdict = check_dialogue(reply.text, request.tag["scene"], self.settings.qa, reply.truncated)
        return {"reason": verdict.reason, "detail": verdict.detail}
