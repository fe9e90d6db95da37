"""The advisor (docs/design.md §16): advice schemas, grammar-constrained backends, the heuristic
fallback and context bundles.

Layer: above ``mimicry`` and below ``watcher``. It may import ``mimicry`` and ``gpu_kernels``;
never ``watcher``, ``tasks``, ``flows`` or the CLI (``lint-imports`` checks it).
"""
