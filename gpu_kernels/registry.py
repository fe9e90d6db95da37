"""The generator registry: every family and projection by its exact name."""

from __future__ import annotations

from gpu_kernels.families import ALL_FAMILIES
from gpu_kernels.family import Family
from gpu_kernels.projections import PROJECTIONS, Projection

FAMILIES: dict[str, Family] = {family.name: family for family in ALL_FAMILIES}
#: Other names users know a family by.
ALIASES: dict[str, str] = {"minstd": "minstd_rand"}


def family_names() -> list[str]:
    return sorted([*FAMILIES, *ALIASES])


def get_family(name: str) -> Family:
    """The family called ``name`` (or one of its aliases); KeyError names the known ones."""
    family = FAMILIES.get(ALIASES.get(name, name))
    if family is None:
        raise KeyError(f"unknown family {name!r}; known families: {', '.join(family_names())}")
    return family


def get_projection(name: str) -> Projection:
    projection = PROJECTIONS.get(name)
    if projection is None:
        raise KeyError(
            f"unknown projection {name!r}; known projections: {', '.join(sorted(PROJECTIONS))}"
        )
    return projection
