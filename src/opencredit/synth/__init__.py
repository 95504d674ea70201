"""A seeded synthetic nation: persons, providers and their conduct records, as Parquet.

``generate_nation`` streams a chunk of persons at a time, so a hundred million records need
no more memory than a hundred thousand persons' worth. The behaviour model (which records
whom, and why) is described in :mod:`opencredit.synth.behaviour`.
"""

from opencredit.synth.nation import NationFiles, generate_nation
from opencredit.synth.providers import PROVIDERS, Provider

__all__ = ["PROVIDERS", "NationFiles", "Provider", "generate_nation"]
