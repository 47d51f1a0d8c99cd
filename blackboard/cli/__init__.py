"""The command line: the composition root that starts the API (and later workers and agents)."""
