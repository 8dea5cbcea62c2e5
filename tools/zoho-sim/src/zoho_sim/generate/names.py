"""Values other records refer to, as pure functions of the index: names, rates, statuses.

Because they need no generated record, lists can sort and filter 50,000 seeded records cheaply,
and an invoice line can name its item without generating it.
"""

from __future__ import annotations

from typing import Final

from zoho_sim.entities import ENTITY_CODES, SPECS
from zoho_sim.generate.context import OrgContext, Record, mix

_ADJ: Final = (
    "Steel",
    "Brass",
    "Oak",
    "Copper",
    "Nylon",
    "Cedar",
    "Carbon",
    "Linen",
    "Glass",
    "Cobalt",
    "Maple",
    "Velvet",
    "Granite",
    "Bamboo",
    "Silver",
    "Amber",
)
_NOUN: Final = (
    "Bolt",
    "Hinge",
    "Bracket",
    "Valve",
    "Spindle",
    "Washer",
    "Lamp",
    "Panel",
    "Gasket",
    "Clamp",
    "Pulley",
    "Rivet",
    "Socket",
    "Flange",
    "Spring",
    "Bearing",
    "Coupler",
    "Sleeve",
    "Handle",
    "Caster",
)
_FIRST: Final = (
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kavya",
    "Liam",
    "Maya",
    "Nikhil",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Zane",
)
_LAST: Final = (
    "Adams",
    "Baker",
    "Cruz",
    "Diaz",
    "Evans",
    "Fischer",
    "Gupta",
    "Hansen",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Park",
    "Rossi",
    "Silva",
    "Tanaka",
    "Usman",
    "Vargas",
    "Weber",
    "Young",
    "Zhou",
)
_SUFFIX: Final = (
    "Traders",
    "Supply",
    "Industries",
    "Holdings",
    "Outfitters",
    "Works",
    "& Co",
    "Logistics",
    "Retail",
    "Partners",
)
CITIES: Final = (
    ("Boston", "MA", "02108"),
    ("Austin", "TX", "73301"),
    ("Denver", "CO", "80202"),
    ("Seattle", "WA", "98101"),
    ("Miami", "FL", "33101"),
    ("Chicago", "IL", "60601"),
)
UNITS: Final = ("pcs", "box", "kg", "m", "set")
MONTHS: Final = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


def item_name(ctx: OrgContext, index: int) -> str:
    h = mix(ctx.seed, 1, index)
    return f"{_ADJ[h % len(_ADJ)]} {_NOUN[(h >> 8) % len(_NOUN)]} {index + 1:05d}"


def item_rate(ctx: OrgContext, index: int) -> float:
    return round(1 + (mix(ctx.seed, 2, index) % 49900) / 100, 2)


def item_tracks_inventory(ctx: OrgContext, index: int) -> bool:
    """One item in eight is a service without stock fields."""
    return mix(ctx.seed, 3, index) % 8 != 0


def contact_name(ctx: OrgContext, index: int) -> tuple[str, str, str]:
    """(first, last, company)."""
    h = mix(ctx.seed, 4, index)
    first, last = _FIRST[h % len(_FIRST)], _LAST[(h >> 8) % len(_LAST)]
    return first, last, f"{last} {_SUFFIX[(h >> 16) % len(_SUFFIX)]} {index + 1}"


PAYMENT_MODES: Final = ("Cash", "Check", "Bank Transfer", "Credit Card", "Others")
"""Modes seeded payments cycle through (the values of ``PaymentMode.*`` filters)."""


def seeded_status(ctx: OrgContext, entity: str, index: int) -> str:
    """A seeded record's status, from its index alone, so ``filter_by`` needs no generation."""
    h = mix(ctx.seed, 6, ENTITY_CODES[entity], index)
    choices = SPECS[entity].seeded_statuses
    if choices:
        return choices[h % len(choices)]
    if entity == "pricebooks":
        return "active" if index % 7 else "inactive"
    if entity == "warehouses":
        return "active"
    share = 93 if entity == "items" else 95
    return "active" if h % 100 < share else "inactive"


def seeded_filter_fields(ctx: OrgContext, entity: str, index: int) -> Record:
    """The fields ``filter_by`` reads (except Lowstock), without generating the record."""
    if entity == "customerpayments":
        return {"payment_mode": seeded_payment_mode(ctx, index)}
    fields: Record = {"status": seeded_status(ctx, entity, index)}
    if entity == "contacts":
        fields["contact_type"] = "vendor" if contact_is_vendor(index) else "customer"
    return fields


def seeded_payment_mode(ctx: OrgContext, index: int) -> str:
    """A seeded payment's mode (what its ``filter_by`` reads), from its index alone."""
    h = mix(ctx.seed, 6, ENTITY_CODES["customerpayments"], index)
    return PAYMENT_MODES[h % len(PAYMENT_MODES)]


def contact_is_vendor(index: int) -> bool:
    return index % 10 >= 7


def contact_is_business(ctx: OrgContext, index: int) -> bool:
    return mix(ctx.seed, 5, index) % 4 != 0


def contact_display_name(ctx: OrgContext, index: int) -> str:
    first, last, company = contact_name(ctx, index)
    return company if contact_is_business(ctx, index) else f"{first} {last}"
