"""Functions the lm-eval task YAMLs here load with ``!function utils.NAME``.

They come from escbench (``escbench.plugins.lmeval.task_functions``), which scores with escbench's own
metric plugins: lm-eval must run in a Python environment where escbench is installed.
"""
try:
    from escbench.plugins.lmeval.task_functions import aggregation_for, load_documents, process_results  # noqa: F401
except ImportError as error:  # lm-eval installed somewhere escbench is not
    raise ImportError(
        f"the escbench lm-eval tasks need escbench in the same environment as lm-eval ({error}): "
        "pip install escbench (or `pip install -e .` in its checkout) there"
    ) from error

# One aggregation per score column (escbench column names; corpus values as escbench computes them).
agg_meteor = aggregation_for("METEOR")
agg_bleu4 = aggregation_for("B-4")
agg_rouge_l = aggregation_for("R-L")
agg_extrema = aggregation_for("Extrema")
agg_distinct1 = aggregation_for("D-1")
agg_distinct2 = aggregation_for("D-2")
agg_distinct3 = aggregation_for("D-3")
agg_lex_toxicity = aggregation_for("lex:Toxicity")
agg_lex_severe_toxicity = aggregation_for("lex:Severe Toxicity")
agg_lex_identity_attack = aggregation_for("lex:Identity Attack")
agg_lex_insult = aggregation_for("lex:Insult")
agg_lex_profanity = aggregation_for("lex:Profanity")
agg_lex_threat = aggregation_for("lex:Threat")
