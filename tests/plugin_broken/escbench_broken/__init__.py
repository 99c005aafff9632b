"""Deliberately broken escbench plugins, one module per fault (see pyproject.toml's entry points)."""
