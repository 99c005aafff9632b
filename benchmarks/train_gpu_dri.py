"""The DRI layout for ``train_gpu.py``: K alternatives per supporter turn, unpacked and packed.

Data: the seed split's training dialogues with the DRI file ``train_packing.py`` writes
(:func:`train_packing.write_data`: ``--dri-k`` alternatives in our own words per supporter
turn), whole dialogues taken in order (repeated under new ids past the end) until they give at
least the pairs the warm-up and timed steps need. Both configs train exactly one epoch of that
set through ``escbench train``'s code path (:func:`escbench.plugins.chatpal.train.trainer.train_student`
with ``--dri``), ``escbench-bf16-dri`` with ``--no-pack-dri``, ``escbench-bf16-dri-packed`` with
packing on, so the tokens each processes are the whole set's in its layout (packed: each
context once instead of K+1 times) and the Trainer's non-padding count can be checked against
the tokenised pairs. Tokens/s is timed after the warm-up steps, as for the other configs.

The projected epoch is ``--pairs`` pairs (pairs of the ExTES+DRI set, originals included, as
the other rows count them) at the layout's measured tokens per pair. The paper's figure next
to it: its LoRA student trained in about 15 hours on A100-40GB GPUs (appendix I.2; the number
of GPUs and of epochs is not stated).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DRI_CONFIGS = ("escbench-bf16-dri", "escbench-bf16-dri-packed")
PAPER_HOURS = 15.0
PAPER_SETTING = "LoRA on LLaMA-7B (int8), seq 256, batch 128, A100-40GB GPUs (count and epochs not stated)"


@dataclass(frozen=True)
class DriData:
    """The dialogue file and DRI file of one benchmark set, and its size."""

    train: Path
    dri: Path
    k: int
    pairs_needed: int
    dialogues: int
    contexts: int

    def summary(self) -> dict:
        return {"k": self.k, "pairs_needed": self.pairs_needed, "dialogues": self.dialogues,
                "contexts": self.contexts, "pairs": self.contexts * (self.k + 1)}


def write_dri_data(folder: Path, k: int, pairs_needed: int) -> DriData:
    """Seed train dialogues with ``k`` alternatives per supporter turn, the smallest run of whole
    dialogues (in order, then again as ``<id>-copy<n>``) with at least ``pairs_needed`` pairs
    (a supporter turn gives ``k + 1``). Deterministic: the same arguments give the same files."""
    from dataclasses import replace

    from escbench.harness.loaders import load_dialogues, write_jsonl
    from train_packing import write_data

    if k < 1 or pairs_needed < 1:
        raise ValueError(f"DRI benchmark data needs k >= 1 and pairs >= 1 (got k={k}, pairs={pairs_needed})")
    source = folder / "dri-source"
    source.mkdir(parents=True, exist_ok=True)
    train, dri = write_data(source, k)
    dialogues = load_dialogues(train).dialogues
    if not any(d.supporter_turn_indices() for d in dialogues):
        raise ValueError(f"{train}: no supporter turn to inpaint")
    lines: dict[str, list[dict]] = {}
    for line in dri.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        lines.setdefault(record["dialogue_id"], []).append(record)
    chosen, records, contexts, copy = [], [], 0, 0
    while contexts * (k + 1) < pairs_needed:
        for dialogue in dialogues:
            new_id = dialogue.id if copy == 0 else f"{dialogue.id}-copy{copy}"
            chosen.append(dialogue if copy == 0 else replace(dialogue, id=new_id))
            records += [{**record, "dialogue_id": new_id} for record in lines.get(dialogue.id, [])]
            contexts += len(dialogue.supporter_turn_indices())
            if contexts * (k + 1) >= pairs_needed:
                break
        copy += 1
    out_dri = folder / "bench-dri.jsonl"
    out_dri.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return DriData(write_jsonl(chosen, folder / "bench-dri-dialogues.jsonl"), out_dri, k, pairs_needed,
                   len(chosen), contexts)


def run_escbench_dri(model_dir: Path, data: DriData, out: Path, packed: bool, args) -> list[tuple[float, int]]:
    """One epoch of ``data`` through escbench's trainer, DRI packing on or off; (time, tokens
    seen) after every optimizer step, from its JSONL log."""
    from escbench.plugins.chatpal.train.settings import TrainSettings
    from escbench.plugins.chatpal.train.trainer import train_student

    settings = TrainSettings(base=str(model_dir), data=[str(data.train)], dri=str(data.dri), pack_dri=packed,
                             out=out, max_len=args.seq_len, micro_batch=args.micro_batch,
                             effective_batch=args.effective_batch, epochs=1.0, save_steps=10**6, eval_steps=10**6,
                             valid_fraction=0, dtype="bfloat16", group_by_length=True, progress=False,
                             overwrite=True)
    train_student(settings)
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    return [(r["time"], r["num_input_tokens_seen"]) for r in records if r["event"] == "train"]


def dri_facts(out: Path) -> dict:
    """What one DRI run's training card says it processed: pairs, sequences, tokens (the
    Trainer's non-padding count over the epoch) and whether packing was used (and why not)."""
    card = json.loads((out / "training_card.json").read_text(encoding="utf-8"))
    packing, pairs = card["packing"], card["data_stats"]["train_examples"]
    tokens = card["results"]["input_tokens_seen"]
    return {"packed": packing["dri_packing"], "packing_reason": packing["reason"], "pairs": pairs,
            "sequences": packing.get("sequences", pairs), "tokens": tokens,
            "tokens_per_pair": round(tokens / pairs, 2), "optimizer_steps": card["results"]["steps"]}


def compare_layouts(rows: list[dict]) -> None:
    """Add pairs/s to the DRI rows, and to the packed row its epoch-time speed-up over the unpacked."""
    by_name = {row["config"]: row for row in rows if "tokens_per_s" in row}
    for name in DRI_CONFIGS:
        if name in by_name:
            row = by_name[name]
            row["pairs_per_s"] = round(row["tokens_per_s"] / row["tokens_per_pair"], 2)
    if all(name in by_name for name in DRI_CONFIGS):
        unpacked, packed = (by_name[name] for name in DRI_CONFIGS)
        packed["tokens_saved_vs_dri_unpacked"] = unpacked["tokens"] - packed["tokens"]
        packed["speedup_vs_dri_unpacked"] = round(unpacked["projected_7b_epoch_hours"]
                                                  / packed["projected_7b_epoch_hours"], 2)


def print_dri(report: dict) -> None:
    """The DRI rows: tokens processed, throughput, peak memory, projected epoch against the paper."""
    rows = [row for row in report["rows"] if row["config"] in DRI_CONFIGS and "tokens_per_s" in row]
    if not rows:
        return
    data = report["dri"]
    print(f"DRI layout: k={data['k']}, {data['contexts']} contexts of {data['dialogues']} dialogues, "
          f"one epoch per config")
    print(f"{'config':<26}{'pairs':>7}{'seqs':>7}{'tokens':>10}{'tok/s':>10}{'pairs/s':>9}{'peak GiB':>10}"
          f"{'7B epoch h':>12}{'paper h':>9}")
    for row in rows:
        print(f"{row['config']:<26}{row['pairs']:>7}{row['sequences']:>7}{row['tokens']:>10,}"
              f"{row['tokens_per_s']:>10,.0f}{row['pairs_per_s']:>9.1f}{row['peak_memory_gib'] or 0:>10.1f}"
              f"{row['projected_7b_epoch_hours']:>12.2f}{report['paper_hours']:>9.0f}")
    packed = next((row for row in rows if "speedup_vs_dri_unpacked" in row), None)
    if packed:
        print(f"packed: {packed['tokens_saved_vs_dri_unpacked']:,} fewer tokens, epoch "
              f"{packed['speedup_vs_dri_unpacked']:.2f}x faster than unpacked")
    print(f"paper: about {report['paper_hours']:.0f} h ({report['paper_setting']})")
