"""A kindergarten page's drivers for a target whose p50 is its label's base (§ 31 by default,
``ForecastPipeline.base_median_targets``): the page says in words that the median is the
decisions carried forward (the base), and shows the base as its one factor; other targets' drivers
are shown as before."""

from __future__ import annotations

import pandas as pd
import pytest

from data.contract import FORECAST_COLUMNS
from models.forecast.contributions import BASE_FEATURE
from serving.app.kindergarten_sections import KindergartenParts, as_markup, render_sections
from serving.app.rendering import page_templates

NOTE = {
    "nb": "Medianen er videreføringen av vedtakene (grunnlaget)",
    "en": "The median is the decisions carried forward (the base)",
}


@pytest.fixture(scope="module")
def parts() -> KindergartenParts:
    drivers = pd.DataFrame(
        {
            "kindergarten_id": ["K1"] * 3,
            "target": ["vedtak_31", "children_under3", "children_under3"],
            "horizon": [12] * 3,
            "feature": [BASE_FEATURE, "target_last", "horizon"],
            "value": [3.0, 10.0, 12.0],
            "contribution": [0.0, 1.2, -0.3],
        }
    )
    return KindergartenParts(
        pd.DataFrame(columns=["kindergarten_id", "month"]),
        pd.DataFrame(columns=list(FORECAST_COLUMNS)),
        drivers,
    )


def forecasts_section(parts: KindergartenParts, language: str, internal: bool) -> str:
    first, _ = as_markup(render_sections(page_templates().env, parts, ("K1", language, internal)))
    return str(first)


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_31_drivers_say_the_median_is_the_base(parts, language):
    page = forecasts_section(parts, language, internal=False)
    assert page.count('data-testid="base-median"') == 1
    assert NOTE[language] in page
    section_31 = page.split('data-testid="base-median"')[1]
    # the base is § 31's one factor, named in words, not as a code
    base_label = "videreført (grunnlaget)" if language == "nb" else "carried forward (the base)"
    assert base_label in section_31 and BASE_FEATURE not in page
    # the children's drivers come before § 31 and are not the base
    children = page.split('data-testid="base-median"')[0]
    assert "target_last" not in children and ("nå" in children or "now" in children)


def test_viewers_see_no_31_drivers_and_so_no_note(parts):
    page = forecasts_section(parts, "nb", internal=True)
    assert 'data-testid="base-median"' not in page
