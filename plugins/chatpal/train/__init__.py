"""Student training for ``escbench train`` (see :mod:`.trainer` for the flow, :mod:`.card`
for what the output folder promises the student systems)."""
