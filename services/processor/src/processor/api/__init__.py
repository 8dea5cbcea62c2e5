"""The processor's HTTP API: routes (``stats``, ``dead_letters``, ``retention``) and their
dependencies."""
