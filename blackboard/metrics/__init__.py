"""Population metrics: what a board's agents, taken together, are doing.

Board metrics are read from the roll-ups of the event log (store/rollup_tables.py), which
a request first brings up to date (services/roller.py); run metrics from the run's own
turns and artifacts. Nothing here writes otherwise.
"""
