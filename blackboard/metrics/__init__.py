"""Population metrics: what a board's agents, taken together, are doing.

Derived from the event log and the ledger rows it points at (claims, abstentions, tasks,
artifacts, turns); nothing here writes.
"""
