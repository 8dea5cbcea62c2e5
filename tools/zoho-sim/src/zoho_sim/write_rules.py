"""The simulator's rules for API writes: validation settings and write faults (pydantic only,
so :mod:`zoho_sim.settings` can nest them without an import cycle)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WriteSettings(BaseModel):
    """How API writes are validated (``ZOHO_SIM_WRITES__*``); all UNCONFIRMED guesses."""

    required_fields: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "contacts": ["contact_name"],
            "items": ["name"],
            "invoices": ["customer_id", "line_items"],
            "bills": ["vendor_id", "bill_number", "line_items"],
            "creditnotes": ["customer_id", "line_items"],
        }
    )
    """A create without one of these (or with it empty) is refused."""
    missing_field_code: int = 4
    """Code of a missing mandatory field (HTTP 400); message "<field> is mandatory."."""
    invalid_value_code: int = 2
    """Code of a value naming a record that does not exist, e.g. an unknown ``customer_id``
    (HTTP 400, "Invalid value passed for <field>")."""
    searchable_fields: list[str] = Field(default_factory=lambda: ["reference_number", "cf_tds_key"])
    """List parameters that search the records API writes set (custom fields as ``cf_<name>``)."""


class WriteFaults(BaseModel):
    """Write faults in force (``PUT /_sim/write-faults``, merged)."""

    model_config = {"extra": "forbid"}

    fail_after_apply_next: int = Field(0, ge=0)
    """The next N writes are applied (and their webhook sent), then answered HTTP 500 code 1000,
    as a timeout after Zoho applied it looks to the client."""
    fail_after_apply_status: int = Field(500, ge=500, le=599)
    hold_after_apply: bool = False
    """Applied writes (webhook sent) wait for their answer until this is false again: a
    client killed meanwhile never learns that Zoho applied its write."""

    def take(self) -> int | None:
        if self.fail_after_apply_next > 0:
            self.fail_after_apply_next -= 1
            return self.fail_after_apply_status
        return None
