"""Zoho organization ids: one rule for ingest, the envelope, zoho-proxy, bulk-sync and settings.

Zoho's organization id is a decimal number sent as a string (``60000000001``); the ZohoSync CRD
says the same (``organizationId``). ASCII digits only: ``str.isdigit`` and a Unicode ``\\d``
also take Arabic-Indic or fullwidth digits, which no Zoho API knows. An org id is part of the
Kafka key (``org:entity:id``), so it must never hold a ``:`` either.
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import StringConstraints

ORG_ID_PATTERN: Final = "^[0-9]{1,32}$"
"""As a JSON-schema / pydantic pattern (pydantic's regex engine has no trailing-newline ``$``)."""
ORG_ID_RULE: Final = "organization id must be Zoho's numeric id: 1-32 digits 0-9"

_ORG_ID: Final = re.compile("[0-9]{1,32}")

OrgId = Annotated[str, StringConstraints(pattern=ORG_ID_PATTERN)]
"""A pydantic field type for an organization id."""


def is_org_id(value: str) -> bool:
    """Whether ``value`` is a well-formed Zoho organization id."""
    return _ORG_ID.fullmatch(value) is not None


def is_record_id(value: str) -> bool:
    """Whether ``value`` is a well-formed Zoho record id (``item_id``, ``invoice_id`` ...).

    Record ids are long decimal numbers sent as strings, like organization ids: the same rule.
    """
    return _ORG_ID.fullmatch(value) is not None
