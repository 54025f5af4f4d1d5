"""The plan page's warnings: kindergartens by name, those under the same warning in one line,
and the solver's words (a pool exceeded, the gap to optimal) in the reader's language."""

from __future__ import annotations

from serving.plan_warnings import FALLBACK_FOR, INFEASIBLE, NO_FORECAST_FOR, warning_lines

NAMES = {"K1": "Solsikken barnehage (simulated)", "K2": "Blåbær", "K3": "Tyttebær"}
NEW = "recently opened: 5 months of data"


def test_kindergartens_under_one_warning_share_a_line_and_are_named() -> None:
    warnings = [FALLBACK_FOR % {"kindergarten": k, "reason": NEW} for k in ("K1", "K2", "K3")] + [
        NO_FORECAST_FOR % {"kindergarten": "K9"}
    ]
    lines = warning_lines(warnings, "nb", NAMES)
    assert lines == [
        "reserveprognose for 3 barnehager (nylig åpnet: 5 måneder med data): "
        "Solsikken barnehage (simulert), Blåbær, Tyttebær",
        "ingen prognose for K9: utelatt fra planen",  # not in the data: its id
    ]
    one = warning_lines(warnings[:1], "en", NAMES)
    assert one == [
        "fallback forecast for Solsikken barnehage (simulated) (recently opened: 5 months of data)"
    ]


def test_a_request_the_pools_cannot_meet_is_said_in_words() -> None:
    warnings = [
        INFEASIBLE % {"name": "pool resource_pedagogue", "amount": "1.5"},
        INFEASIBLE % {"name": "budget (million NOK)", "amount": "0.25"},
    ]
    nb = warning_lines(warnings, "nb")
    assert nb[0] == (
        "forespørselen kan ikke oppfylles: potten til ressurspedagoger (årsverk) overskredet "
        "med 1,5 (den nærmeste planen vises)"
    )
    assert "budsjettet (millioner kr) overskredet med 0,2" in nb[1]
    assert not any("_" in line for line in nb + warning_lines(warnings, "en"))
