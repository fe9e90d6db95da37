"""The store: streams and draws, runs, sieve jobs, the chunk coverage ledger, survivors."""
