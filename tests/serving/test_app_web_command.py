"""`bemanning user add` and `bemanning serve --help`: passwords from stdin, every problem listed
with exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from serving.cli import app

runner = CliRunner()


def test_user_add_reads_the_password_from_stdin_and_stores_an_argon2_hash(tmp_path: Path) -> None:
    from serving.auth import verify_password
    from serving.store import repository
    from serving.store.db import make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'app.db'}"
    result = runner.invoke(
        app,
        [
            "user",
            "add",
            "kari",
            "--role",
            "planner",
            "--district",
            "Bydel Sagene",
            "--database",
            url,
            "--force",
        ],
        input="s3cret-passord\n",
    )
    assert result.exit_code == 0, result.output
    assert "Warning" in result.output
    engine = make_engine(url)
    with session_factory(engine)() as session:
        user = repository.user_by_name(session, "kari")
        assert user is not None and (user.role, user.district) == ("planner", "Bydel Sagene")
        assert verify_password(user.password_hash, "s3cret-passord")
    engine.dispose()
    again = runner.invoke(
        app,
        ["user", "add", "kari", "--role", "admin", "--database", url],
        input="another-passord\n",
    )
    assert again.exit_code == 2 and "already exists" in again.output


def test_user_add_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    result = runner.invoke(
        app, ["user", "add", "x", "--role", "boss", "--database", url], input="long-enough\n"
    )
    assert result.exit_code == 2 and "must be one of viewer, planner, admin" in result.output
    result = runner.invoke(
        app, ["user", "add", "x", "--role", "viewer", "--database", url], input="long-enough\n"
    )
    assert result.exit_code == 2 and "needs a district" in result.output
    result = runner.invoke(
        app, ["user", "add", "x", "--role", "admin", "--database", url], input="short\n"
    )
    assert result.exit_code == 2 and "at least 8 characters" in result.output
    assert "Traceback" not in result.output


def test_user_add_refuses_a_district_the_data_do_not_have_unless_forced(
    tmp_path: Path,
    sim_data_path: Path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.delenv("BEMANNING_DATA_PATH", raising=False)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    base = ["user", "add", "ghost", "--role", "planner", "--database", url]
    ghost = runner.invoke(
        app, [*base, "--district", "Bydel Nowhere", "--data", str(sim_data_path)], input="x" * 9
    )
    assert ghost.exit_code == 2 and "no kindergarten in this district" in ghost.output
    assert "Bydel Nowhere" in ghost.output and "Bydel Gamle Oslo" in ghost.output
    unchecked = runner.invoke(app, [*base, "--district", "Bydel Nowhere"], input="x" * 9)
    assert unchecked.exit_code == 2 and "cannot check the district" in unchecked.output
    forced = runner.invoke(
        app,
        [*base, "--district", "Bydel Nowhere", "--data", str(sim_data_path), "--force"],
        input="x" * 9,
    )
    assert forced.exit_code == 0 and "Warning" in forced.output
    real = runner.invoke(
        app,
        [
            "user",
            "add",
            "kari",
            "--role",
            "viewer",
            "--database",
            url,
            "--district",
            "Bydel Gamle Oslo",
            "--data",
            str(sim_data_path),
        ],
        input="x" * 9,
    )
    assert real.exit_code == 0, real.output
    assert "Traceback" not in ghost.output + unchecked.output


def test_serve_refuses_a_missing_secret_outside_dev(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BEMANNING_SECRET_KEY", raising=False)
    result = runner.invoke(app, ["serve", "--database", f"sqlite:///{tmp_path / 'a.db'}"])
    assert result.exit_code == 2 and "BEMANNING_SECRET_KEY" in result.output
    help_text = runner.invoke(app, ["serve", "--help"]).output
    assert "--host" in help_text and "--port" in help_text and "--dev" in help_text


def test_dev_mode_creates_a_demo_planner_with_a_fresh_random_password(
    tmp_path: Path, sim_data_path: Path
) -> None:
    from serving.app.settings import Settings
    from serving.auth import verify_password
    from serving.commands.web import ensure_demo_planner
    from serving.store import repository
    from serving.store.db import make_engine, session_factory

    url = f"sqlite:///{tmp_path / 'app.db'}"
    settings = Settings(dev=True, database_url=url, data_path=sim_data_path)
    name, first, district = ensure_demo_planner(settings)
    _, second, _ = ensure_demo_planner(settings)
    assert first != second and len(first) >= 12
    import pandas as pd

    kindergartens = pd.read_csv(sim_data_path / "kindergartens.csv")
    counts = kindergartens["district"].value_counts()
    assert counts[district] == counts.max()
    engine = make_engine(url)
    with session_factory(engine)() as session:
        user = repository.user_by_name(session, name)
        assert user.role == "planner" and verify_password(user.password_hash, second)
        assert not verify_password(user.password_hash, first)
    engine.dispose()
