"""Generator registry (families and projections) and the sieve backends."""
