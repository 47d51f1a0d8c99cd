"""Helpers shared by tests: imported by test modules and conftests, never the other way."""
