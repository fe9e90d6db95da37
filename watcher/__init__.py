"""The WATCHER's deterministic decisions (docs/design.md §17): policies, triggers, the acceptance
engine, approvals and decision records.

Layer: above ``llm`` and below ``tasks``. It may import ``llm``, ``mimicry`` and ``gpu_kernels``;
never ``tasks``, ``flows`` or the CLI (``lint-imports`` checks it). The advisor proposes; code
here decides.
"""
