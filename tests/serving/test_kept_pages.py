"""Kept pages served from stored gzip (serving.app.kept_page) and in one trip to the thread pool
(serving.app.deps.page_reader): the stream a request gets is valid gzip of exactly the page it
would get uncompressed, whatever the per-request values hold; the pages opened most take one
trip to the thread pool per request."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import anyio.to_thread
import pytest
from app_fixtures import DISTRICT_A, AppHarness, engine_forecasts, store_real_plan

from serving.app.kept_page import STORED_MAX, KeptPage
from serving.app.page_cache import PageCache

MARKS = ("<csrf-mark>", "<name-mark>")


@pytest.mark.parametrize(
    ("html", "values"),
    [
        ("<p>plain page, no marks</p>" * 50, ("", "")),
        ("<csrf-mark>" + "æøå " * 400 + "<name-mark><csrf-mark>", ("tok", "Åse")),
        ("a<name-mark>b" * 30 + "c" * 5000 + "<csrf-mark>", ("", "x" * (2 * STORED_MAX + 7))),
        ("<name-mark>", ("t", "&lt;b&gt;")),
        ("", ("t", "n")),
    ],
)
def test_the_stored_gzip_is_the_page_with_its_values(html: str, values: tuple[str, str]) -> None:
    page = KeptPage.of(html, MARKS)
    encoded = tuple(v.encode() for v in values)
    expected = html.replace(MARKS[0], values[0]).replace(MARKS[1], values[1]).encode()
    assert page.body(encoded) == expected
    stream = page.gzip(encoded)
    assert gzip.decompress(stream) == expected
    one_member = zlib.decompressobj(16 + zlib.MAX_WBITS)  # as a browser reads it: one member
    assert one_member.decompress(stream) == expected
    assert one_member.eof and not one_member.unused_data


def test_a_kept_page_is_compressed_once_not_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = PageCache().keep("<p>" + "kindergarten " * 2000 + "</p>")

    def no_compressor(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a request ran the compressor")

    monkeypatch.setattr(zlib, "compressobj", no_compressor)
    monkeypatch.setattr(zlib, "compress", no_compressor)
    values = PageCache.values(csrf_token="token", user_name="<anna>")
    assert values[1] == b"&lt;anna&gt;"  # escaped as the template would have
    assert len(page.gzip(values)) < len(page.body(values)) // 10


@pytest.fixture
def plan_id(trained_harness: AppHarness, sim_district: Any) -> str:
    forecasts = engine_forecasts(trained_harness)
    return store_real_plan(trained_harness, sim_district, forecasts)


def _pages(harness: AppHarness, plan_id: str) -> list[str]:
    kindergartens = harness.app.state.engine_state.district().kindergartens
    kindergarten = kindergartens.loc[kindergartens["district"] == DISTRICT_A, "kindergarten_id"]
    return ["/", f"/plans/{plan_id}", f"/kindergartens/{kindergarten.iloc[0]}"]


def test_kept_pages_answer_gzip_or_plain_alike(trained_harness: AppHarness, plan_id: str) -> None:
    anna = trained_harness.client_for("anna")
    for url in _pages(trained_harness, plan_id):
        anna.get(url)  # kept now
        zipped = anna.get(url, headers={"Accept-Encoding": "gzip"})
        plain = anna.get(url, headers={"Accept-Encoding": "identity"})
        assert zipped.status_code == plain.status_code == 200
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["vary"] == "Accept-Encoding"  # once, not twice
        assert "content-encoding" not in plain.headers
        assert plain.headers["vary"] == "Accept-Encoding"
        assert zipped.text == plain.text and ">anna ·" in plain.text
        assert int(zipped.headers["content-length"]) < len(plain.content) // 2
        assert zipped.headers["content-security-policy"]  # the security headers still there


def test_the_pages_opened_most_take_one_trip_to_the_thread_pool(
    trained_harness: AppHarness, plan_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = trained_harness.client_for("anna")
    pages = _pages(trained_harness, plan_id)
    for url in pages:
        assert anna.get(url).status_code == 200  # kept now
    trips: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(func, "__name__", repr(func)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    for url in pages:
        trips.clear()
        assert anna.get(url).status_code == 200
        assert len(trips) == 1, (url, trips)
    trips.clear()
    assert anna.get("/plans").status_code == 200  # a page with dependencies: the count can fail
    assert len(trips) > 1
