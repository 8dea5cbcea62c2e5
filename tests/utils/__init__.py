"""Helpers shared by more than one test package (fixtures stay in the conftest files)."""
