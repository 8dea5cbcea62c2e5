"""The TDS local stack: real Apache Kafka and PostgreSQL, the Zoho simulator and the services.

Everything runs on loopback with state under the git-ignored ``.local/`` folder of the repository.
The Makefile's ``install``/``up``/``down``/``status``/``run`` targets and the integration-test
fixtures all go through this package, so there is one way to start the stack.
"""
