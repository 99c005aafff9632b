"""Generation backends: turn chat conversations into model replies (local or remote).

Backends only generate; systems (``plugins/systems``) decide what the prompt is. Each
backend module keeps its heavy imports inside functions so importing it stays cheap.
"""
