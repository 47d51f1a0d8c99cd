"""The agent side: a Python client SDK, an agent runtime and reference agents.

Talks to the service over HTTP only; imports `artifacts`, never `blackboard` or `api`.
"""
