"""The KRaft cluster id handed to the storage tool must never read as a command-line option."""

from __future__ import annotations

import base64
import uuid

import pytest

from devstack import kafka


def test_an_id_starting_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xfb... encodes to "-..." in URL-safe base64: the id a format once failed on.
    draws = iter([uuid.UUID(bytes=b"\xfb" + b"\x00" * 15), uuid.UUID(int=42)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))

    chosen = kafka.cluster_id()

    assert chosen == base64.urlsafe_b64encode(uuid.UUID(int=42).bytes).decode().rstrip("=")


def test_ids_are_22_characters_of_url_safe_base64() -> None:
    ids = {kafka.cluster_id() for _ in range(500)}
    assert len(ids) == 500
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert all(
        set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for i in ids
    )
