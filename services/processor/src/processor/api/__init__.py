"""The processor's HTTP API: routes (``stats``, ``dead_letters``) and their dependencies."""
