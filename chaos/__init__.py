"""The chaos test: real processes, killed workers, a restarted Redis and failing contract systems.

``python -m chaos.run`` (``make chaos``) runs it; ``tests/integration/test_chaos.py`` runs a
shorter version in the normal suite. See README, "Chaos test".
"""
