"""Steps 2.5-6, the ranking: scorer search (2.5), features and scoring (3), model selection (4),
training and the held-out test (5), predictions (6), and the model types."""
