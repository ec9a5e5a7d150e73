"""Model builders, one module per framework."""
