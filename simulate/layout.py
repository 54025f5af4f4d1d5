"""Who is simulated: areas (delbydeler) with their living conditions, and kindergartens with their
capacity, opening and closing months and latent parameters (all drawn from the seed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.contract import SIMULATED_NAME_SUFFIX
from simulate.population import AreaSpec, scale_municipalities, split_into_areas
from simulate.presets import (
    CAPACITY_MAX_PLACES,
    CAPACITY_MIN_PLACES,
    DISTRICT_DISADVANTAGE,
    GAMLE_OSLO_AREAS,
    OSLO_DISTRICT_NUMBERS,
    Preset,
    ProcessSettings,
    sample_headcount,
)

#: Oslo's share of Norway's kindergartens (≈700 of ≈5,500, DOMAIN.md), for the nation preset.
OSLO_SHARE_OF_NATION = 700 / 5500
#: Children aged 1–5 per kindergarten in Oslo (≈37,500 children, ≈700 kindergartens in 2024), used
#: to size simulated municipalities' populations from their number of kindergartens.
CHILDREN_PER_KINDERGARTEN = 37_465 / 700


@dataclass
class Layout:
    """The simulated world before any month is run."""

    areas: list[AreaSpec]
    area_population: pd.DataFrame  # area rows per year (simulated split)
    district_population: pd.DataFrame  # district rows per year (real, projected, or simulated)
    kindergartens: pd.DataFrame  # latent parameters, one row per kindergarten
    district_practice: dict[str, float]


def largest_remainder(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (each at least ``minimum`` when the
    total allows)."""
    weights = np.asarray(weights, dtype=float)
    floor_each = minimum if total >= minimum * len(weights) else 0
    rest = total - floor_each * len(weights)
    if weights.sum() <= 0:  # e.g. a municipality too small to have children on record
        weights = np.ones_like(weights)
    exact = rest * weights / weights.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: rest - counts.sum()]] += 1
    return counts + floor_each


def _oslo_areas(rng: np.random.Generator, preset: Preset) -> list[AreaSpec]:
    if preset.name == "district":
        return [
            AreaSpec(name, preset.oslo_districts[0], share, dis, growth)
            for name, (share, dis, growth) in GAMLE_OSLO_AREAS.items()
        ]
    areas = []
    for district in preset.oslo_districts:
        shares = rng.dirichlet(np.full(preset.areas_per_district, 8.0))
        short = district.removeprefix("Bydel ")
        for j in range(preset.areas_per_district):
            dis = float(np.clip(DISTRICT_DISADVANTAGE[district] + rng.normal(0, 0.12), 0, 1))
            areas.append(
                AreaSpec(
                    f"{short} {j + 1}", district, float(shares[j]), dis, float(rng.normal(0, 0.015))
                )
            )
    return areas


def build_layout(
    rng: np.random.Generator,
    preset: Preset,
    n_kindergartens: int,
    oslo_pop: pd.DataFrame,
    base_year: int,
) -> Layout:
    """Areas, populations and kindergartens (with latent parameters) for ``preset``."""
    oslo_pop = oslo_pop[oslo_pop["district"].isin(preset.oslo_districts)]
    areas = _oslo_areas(rng, preset)
    district_pop = oslo_pop.assign(simulated=False)
    n_oslo = n_kindergartens
    if preset.n_municipalities:
        n_oslo = round(n_kindergartens * OSLO_SHARE_OF_NATION)
        weights = rng.lognormal(0.0, 1.0, preset.n_municipalities)
        per_muni = largest_remainder(n_kindergartens - n_oslo, weights, minimum=1)
        names = [
            f"Kommune {i + 1:03d}{SIMULATED_NAME_SUFFIX}" for i in range(preset.n_municipalities)
        ]
        ref = oslo_pop[oslo_pop["year"] == min(base_year, 2024)]
        mean_ref = float(ref["population_1_5"].mean())
        scales = per_muni * CHILDREN_PER_KINDERGARTEN / mean_ref
        munis = scale_municipalities(rng, oslo_pop, names, scales).assign(simulated=True)
        district_pop = pd.concat([district_pop, munis], ignore_index=True)
        for name, count in zip(names, per_muni, strict=True):
            n_areas = int(min(3, max(1, count // 4)))
            dis = float(rng.beta(2, 3))
            shares = rng.dirichlet(np.full(n_areas, 8.0))
            for j in range(n_areas):
                areas.append(
                    AreaSpec(
                        f"{name.removesuffix(SIMULATED_NAME_SUFFIX)} sone {j + 1}",
                        name,
                        float(shares[j]),
                        float(np.clip(dis + rng.normal(0, 0.1), 0, 1)),
                        float(rng.normal(0, 0.015)),
                    )
                )
    area_pop = split_into_areas(district_pop, areas, base_year)

    # kindergartens per district (by its children in base_year), then per area (by its share)
    base = area_pop[area_pop["year"] == base_year].set_index("area")["population_1_5"]
    spec = pd.DataFrame([a.__dict__ for a in areas])
    spec["children"] = base.reindex(spec["name"]).fillna(1).to_numpy()
    oslo_mask = spec["district"].isin(preset.oslo_districts).to_numpy()
    per_area = np.zeros(len(spec), dtype=np.int64)
    oslo_by_district = spec[oslo_mask].groupby("district", sort=False)["children"].sum()
    oslo_counts = largest_remainder(n_oslo, oslo_by_district.to_numpy(), minimum=1)
    for (district, _), count in zip(oslo_by_district.items(), oslo_counts, strict=True):
        rows = np.flatnonzero(spec["district"].to_numpy() == district)
        per_area[rows] = largest_remainder(int(count), spec["children"].to_numpy()[rows], minimum=1)
    if preset.n_municipalities:
        for name, count in zip(names, per_muni, strict=True):
            rows = np.flatnonzero(spec["district"].to_numpy() == name)
            per_area[rows] = largest_remainder(
                int(count), spec["children"].to_numpy()[rows], minimum=1
            )
    area_of = np.repeat(np.arange(len(spec)), per_area)
    kgs = _kindergartens(rng, spec, area_of)
    practice = {d: float(rng.lognormal(0.0, 0.2)) for d in spec["district"].unique()}
    if preset.name == "district":
        practice = dict.fromkeys(practice, 1.0)
    kgs["decision_propensity"] *= kgs["district"].map(practice).to_numpy()
    return Layout(areas, area_pop, district_pop, kgs, practice)


def _kindergartens(
    rng: np.random.Generator, spec: pd.DataFrame, area_of: np.ndarray
) -> pd.DataFrame:
    n = len(area_of)
    settings = ProcessSettings()
    district = spec["district"].to_numpy()[area_of]
    area = spec["name"].to_numpy()[area_of]
    area_dis = spec["disadvantage"].to_numpy()[area_of]
    disadvantage = np.clip(area_dis + rng.normal(0, 0.06, n), 0, 1)
    headcount = sample_headcount(rng, n)
    place_share = np.clip(rng.normal(settings.under3_place_share, 0.07, n), 0.2, 0.7)
    children_per_place = 1.0 / (1.0 + place_share / (2.0 - place_share))
    capacity = np.clip(
        np.rint(headcount / children_per_place), CAPACITY_MIN_PLACES, CAPACITY_MAX_PLACES
    ).astype(np.int64)
    ids, names = [], []
    counters: dict[str, int] = {}
    area_counters: dict[str, int] = {}
    for d, a in zip(district, area, strict=True):
        counters[d] = counters.get(d, 0) + 1
        area_counters[a] = area_counters.get(a, 0) + 1
        if d in OSLO_DISTRICT_NUMBERS:
            prefix = f"B{OSLO_DISTRICT_NUMBERS[d]:02d}"
        else:
            prefix = "M" + d.removeprefix("Kommune ").split(" ")[0]
        ids.append(f"{prefix}-K{counters[d]:03d}")
        names.append(f"{a} barnehage {area_counters[a]}{SIMULATED_NAME_SUFFIX}")
    return pd.DataFrame(
        {
            "kindergarten_id": ids,
            "name": names,
            "district": district,
            "area": area,
            "capacity": capacity,
            "living_conditions_index": np.round(disadvantage, 3),
            "under3_place_share": place_share,
            "demand_pressure_base": rng.uniform(0.97, 1.07, n),
            "popularity": rng.lognormal(0.0, 0.4, n),
            "sick_leave_effect": rng.normal(0.0, settings.sick_leave_kindergarten_sd, n),
            "decision_propensity": rng.lognormal(-0.045, 0.3, n),
            "staffing_margin": np.maximum(
                rng.normal(settings.staffing_margin_mean, settings.staffing_margin_sd, n),
                settings.staffing_margin_min,
            ),
            "pedagogue_surplus": (rng.random(n) < 0.25 * (1 - disadvantage)).astype(np.int64),
            "low_income_base": 0.03 + 0.35 * disadvantage,
            "minority_language_base": 0.10 + 0.60 * disadvantage,
        }
    )
