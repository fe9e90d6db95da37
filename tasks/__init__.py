"""Thin Prefect wrappers over the domain's plain functions: one module per pipeline step.

A task module may import this package's shared cache policy, never another task module
(``lint-imports`` checks it).
"""

from prefect.cache_policies import INPUTS, TASK_SOURCE, CacheKeyFnPolicy

from mimicry.store.database import store_fingerprint

#: The store a cached result was made against: a result is reused only with the same store, so
#: a run against a new ``MIMICRY_HOME`` or database never trusts one made for another.
STORE = CacheKeyFnPolicy(cache_key_fn=lambda context, parameters: store_fingerprint())
#: What the ranking's cached steps are keyed on: their inputs, their code and the store.
INPUTS_CODE_AND_STORE = INPUTS + TASK_SOURCE + STORE
