"""CLI command groups that belong to no single core package (conversation, database)."""
