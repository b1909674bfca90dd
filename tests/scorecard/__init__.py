"""`make scorecard`: the security and reliability checks of issue 7, each a real test of the real code.

python -m tests.scorecard [--only 1,2] [--output scorecard.json]   (PYTHONPATH=shared, from the repository root)
"""
