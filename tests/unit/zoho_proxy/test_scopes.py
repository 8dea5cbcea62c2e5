"""Code 57: a dead token (mint and retry) or a missing scope (our 403, nothing minted).

The client against httpx.MockTransport; scope verdicts in its memory (the shared table is
covered in tests/integration/zoho_proxy/test_scopes.py).
"""

from __future__ import annotations

import httpx
import pytest

from zoho_proxy.errors import ScopeMissingError
from zoho_proxy.scopes import CallKind, kind_of
from zoho_proxy.zoho.client import ZohoClient

from .conftest import FakeTokens, make_settings
from .test_client import Handler, make_client, zoho

REFUSED = {"code": 57, "message": "You are not authorized to perform this operation"}


def scoped(allowed: set[str], dead: set[str] | None = None) -> Handler:
    """Zoho for tokens whose scopes cover the ``allowed`` resources; ``dead`` tokens fail every
    call. Both are the test's sets: it may change them between calls."""
    dead = set() if dead is None else dead

    def answer(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Zoho-oauthtoken ")
        resource = request.url.path.split("/")[3]
        if token in dead or resource not in allowed:
            return zoho(401, REFUSED)
        return zoho(200, {"code": 0, resource: []})

    return answer


def paths(seen: list[httpx.Request]) -> list[str]:
    return [f"{r.url.path} {r.headers['authorization'].split()[-1]}" for r in seen]


async def _get(client: ZohoClient, path: str) -> int:
    response = await client.call("books", "GET", path, org_id="1", lane="bulk")
    return response.status_code


def _client(
    handler: Handler, tokens: FakeTokens | None = None
) -> tuple[ZohoClient, FakeTokens, list[httpx.Request]]:
    client, _, tokens, seen = make_client(handler, tokens=tokens)
    return client, tokens, seen


async def test_a_missing_scope_is_our_403_and_mints_nothing() -> None:
    client, tokens, seen = _client(scoped({"contacts"}))
    assert await _get(client, "/contacts") == 200
    with pytest.raises(ScopeMissingError, match="READ on books /invoices") as caught:
        await _get(client, "/invoices/7")
    assert caught.value.http_status == 403
    assert "books /invoices" in str(caught.value)
    # The token was tried on contacts (answered before): it works, so the scope is missing.
    assert paths(seen) == [
        "/books/v3/contacts token-1",
        "/books/v3/invoices/7 token-1",
        "/books/v3/contacts token-1",
    ]
    assert seen[-1].url.params["per_page"] == "1"
    assert tokens.invalidated == []
    # Remembered: later calls of that kind are answered without Zoho, nothing minted.
    for _ in range(5):
        with pytest.raises(ScopeMissingError):
            await _get(client, "/invoices")
    assert len(seen) == 3
    assert tokens.invalidated == []
    assert await _get(client, "/contacts/1") == 200  # other kinds go on


async def test_a_57_where_zoho_answered_before_is_a_dead_token() -> None:
    dead: set[str] = set()
    client, tokens, seen = _client(scoped({"contacts"}, dead=dead))
    assert await _get(client, "/contacts") == 200
    dead.add("token-1")  # revoked
    assert await _get(client, "/contacts/3") == 200
    assert tokens.invalidated == ["token-1"]
    assert tokens.verified == [True]  # judged dead: the minimum age does not hold it back
    assert paths(seen)[1:] == ["/books/v3/contacts/3 token-1", "/books/v3/contacts/3 token-2"]


async def test_a_token_refused_everywhere_is_dead() -> None:
    dead: set[str] = set()
    client, tokens, seen = _client(scoped({"contacts", "invoices"}, dead=dead))
    assert await _get(client, "/contacts") == 200
    dead.add("token-1")
    assert await _get(client, "/invoices") == 200
    assert tokens.invalidated == ["token-1"] and tokens.verified == [True]
    assert paths(seen)[1:] == [
        "/books/v3/invoices token-1",
        "/books/v3/contacts token-1",  # the probe: refused too
        "/books/v3/invoices token-2",
    ]


async def test_a_young_token_refused_where_zoho_answered_before_is_checked_first() -> None:
    # The organization took a permission away: a token minted moments ago is refused on a kind
    # it was answered on before. Minting again would not help; the probe shows the token works.
    allowed = {"contacts", "invoices"}
    client, tokens, seen = _client(scoped(allowed))
    assert await _get(client, "/contacts") == 200
    assert await _get(client, "/invoices") == 200
    allowed.discard("invoices")
    tokens.young.add("token-1")
    with pytest.raises(ScopeMissingError):
        await _get(client, "/invoices")
    assert tokens.invalidated == []
    assert paths(seen)[2:] == ["/books/v3/invoices token-1", "/books/v3/contacts token-1"]


async def test_with_nothing_to_compare_a_young_token_means_a_missing_scope() -> None:
    tokens = FakeTokens()
    tokens.young.add("token-1")
    client, tokens, seen = _client(scoped({"contacts"}), tokens)
    with pytest.raises(ScopeMissingError):
        await _get(client, "/bills")
    assert tokens.invalidated == [] and len(seen) == 1


async def test_with_nothing_to_compare_an_old_token_is_replaced_once() -> None:
    tokens = FakeTokens()
    tokens.young.add("token-2")  # what the retry gets: minted just now
    client, tokens, seen = _client(scoped({"contacts"}), tokens)
    with pytest.raises(ScopeMissingError):
        await _get(client, "/bills")
    assert tokens.invalidated == ["token-1"] and tokens.verified == [False]
    assert paths(seen) == ["/books/v3/bills token-1", "/books/v3/bills token-2"]
    with pytest.raises(ScopeMissingError):
        await _get(client, "/bills/9")
    assert len(seen) == 2 and tokens.invalidated == ["token-1"]


async def test_code_14_is_always_a_dead_token() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"].endswith("token-1"):
            return zoho(401, {"code": 14, "message": "invalid authentication"})
        return zoho(200, {"code": 0})

    client, _, tokens, seen = make_client(answer)
    assert await _get(client, "/bills") == 200
    assert tokens.invalidated == ["token-1"] and len(seen) == 2


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/invoices/12", CallKind("1", "books", "invoices", "READ")),
        ("post", "contacts", CallKind("1", "books", "contacts", "CREATE")),
        ("PATCH", "/items/1/active", CallKind("1", "books", "items", "UPDATE")),
        ("DELETE", "/bills/2", CallKind("1", "books", "bills", "DELETE")),
        ("GET", "/4815000000044208", None),
        ("TRACE", "/items", None),
    ],
)
def test_call_kinds(method: str, path: str, kind: CallKind | None) -> None:
    assert kind_of("1", "books", method, path) == kind


async def test_a_denial_lapses_after_its_ttl_and_is_checked_again() -> None:
    allowed = {"contacts"}
    client, _, tokens, _ = make_client(
        scoped(allowed), settings=make_settings(scope_denial_ttl_seconds=0)
    )
    assert await _get(client, "/contacts") == 200
    with pytest.raises(ScopeMissingError):
        await _get(client, "/invoices")
    allowed.add("invoices")  # e.g. Zoho fixed a permission on its side
    assert await _get(client, "/invoices") == 200  # asked again: the denial has lapsed
    assert tokens.invalidated == []


async def test_a_kind_zoho_answered_is_never_denied_on_a_guess() -> None:
    # A young token refused where Zoho answered before, and nothing else to try it on: maybe a
    # permission changed, maybe the token died on its way. No 403, and (the token being young)
    # no mint either: Zoho's 401 goes back as it is.
    dead: set[str] = set()
    tokens = FakeTokens(invalidation_helps=False)  # what the minimum age answers
    client, tokens, seen = _client(scoped({"contacts"}, dead=dead), tokens)
    assert await _get(client, "/contacts") == 200
    dead.add("token-1")
    tokens.young.add("token-1")
    assert await _get(client, "/contacts/5") == 401
    assert tokens.invalidated == ["token-1"] and tokens.verified == [False]
    assert await _get(client, "/contacts/6") == 401  # not remembered as denied
    assert len(seen) == 3


async def test_code_14_is_a_dead_token_however_young() -> None:
    # Zoho no longer knows the token (revoked, or minted by another accounts server): code 14
    # is never about scopes, so the minimum age does not hold the dead token back.
    def unknown_first(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"].endswith("token-1"):
            return zoho(401, {"code": 14, "message": "Invalid OAuth access token."})
        return zoho(200, {"code": 0, "contacts": []})

    tokens = FakeTokens()
    tokens.young.add("token-1")
    client, tokens, seen = _client(unknown_first, tokens)
    assert await _get(client, "/contacts") == 200
    assert tokens.invalidated == ["token-1"] and tokens.verified == [True]
    assert paths(seen) == ["/books/v3/contacts token-1", "/books/v3/contacts token-2"]
