"""Steps 1-2, the search: the window (Step 1), the sieve engine and its chunks (Step 2), the
bidirectional check, continuation and the chance statistics of every answer."""
