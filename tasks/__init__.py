"""Thin Prefect wrappers over the domain's plain functions: one module per pipeline step.

A task module may import this package's shared cache and retry policies, never another task module
(``lint-imports`` checks it).
"""

from prefect.cache_policies import INPUTS, TASK_SOURCE, CacheKeyFnPolicy

from mimicry.draws import DrawFileError
from mimicry.names import BadName
from mimicry.search.chunks import StoreMismatch
from mimicry.store.errors import StoreConflict, StoreFault
from mimicry.store.location import store_fingerprint

#: The store a cached result was made against: a result is reused only with the same store, so
#: a run against a new ``MIMICRY_HOME`` or database never trusts one made for another.
STORE = CacheKeyFnPolicy(cache_key_fn=lambda context, parameters: store_fingerprint())
#: What the ranking's cached steps are keyed on: their inputs, their code and the store. Not the
#: stop check a long search runs between its trials: it changes nothing of the result.
INPUTS_CODE_AND_STORE = (INPUTS - "between_trials") + TASK_SOURCE + STORE

#: Failures a retry would only repeat: bad input, a store that is gone, read-only or another one.
NOT_RETRIED = (DrawFileError, StoreConflict, BadName, StoreFault, StoreMismatch)


def transient(task, task_run, state) -> bool:
    """A task's ``retry_condition_fn``: retry a failure unless it is one of :data:`NOT_RETRIED`."""
    return not isinstance(state.result(raise_on_failure=False), NOT_RETRIED)
