"""The LLM-program controller: runs, turns, protocols, views, model calls."""
