"""The autonomous loop's domain: scoring new draws against their predictions (the arbiter),
and synthetic feeds for tests and soaks."""
