"""The rules params.yaml must follow, and its strict loading: `python -m stages.validate`.

The stages read the file with `stages.common.layout.load_params` (the same reader, minus
the refusal of duplicate keys), so no training stage depends on this package.
"""
