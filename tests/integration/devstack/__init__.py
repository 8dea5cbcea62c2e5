"""The local stack's own servers, started as a newcomer would."""
