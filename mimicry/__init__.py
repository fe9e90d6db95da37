"""mimicry: find the generator behind a draw history, with honest chance statistics."""
