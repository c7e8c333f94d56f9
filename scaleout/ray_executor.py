"""Placeholder replaced by the Ray implementation."""
