"""Helpers shared by the tests and the demo (standard library only)."""
