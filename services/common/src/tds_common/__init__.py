"""TDS shared library: what every service needs once and only once.

Settings groups, JSON logging, the error tree, Prometheus and OpenTelemetry plumbing, Kafka and
PostgreSQL helpers, schema migrations and the entity catalogue.
"""

__version__ = "0.1.0"
