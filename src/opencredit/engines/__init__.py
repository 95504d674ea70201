"""Engines that run a policy outside this process's DuckDB: Apache Spark (:mod:`.spark`)."""
