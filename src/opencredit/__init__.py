"""opencredit: an open, accountable social credit system.

Every rule is published, every point explained, and special-category data refused.
The library is laid out by concern: ``registry`` (who), ``catalog`` (what may be recorded),
``ledger`` (what was recorded), ``policies`` (how it is scored), ``scoring`` (the scores and
their reasons), ``synth`` (a synthetic nation) and ``cli`` (the command line).
"""

__version__ = "0.1.0"
