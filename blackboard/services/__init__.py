"""Domain services: each function takes a connection inside the caller's transaction.

Services read and write through the store and raise domain errors; they never commit.
"""
