"""Reliability and security suite (issue 8): hostile inputs, crashes, concurrency, boundaries.

Run just this suite with ``pytest -m reliability``.
"""
