"""``bemanning serve`` (the planners' web app) and ``bemanning user add`` (accounts)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from data.errors import Problem, UserInputError
from serving.commands.common import console, state_value, user_errors

ROLES = ("viewer", "planner", "admin")
DEMO_USER = "demo-planner"


def load_settings(**overrides: Any) -> Any:
    """Settings from the environment with the command line's values on top; every problem is
    reported at once (exit 2)."""
    from pydantic import ValidationError

    from serving.app.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = [
            Problem(
                file="settings",
                column=".".join(str(x) for x in e["loc"]) or None,
                rule=str(e["msg"]),
            )
            for e in exc.errors()
        ]
        raise UserInputError("The app's settings are not valid", problems) from None


def _store_sessions(database: str | None) -> Any:
    from serving.store.db import make_engine, session_factory, upgrade

    settings_url = database or load_settings(dev=True).database_url
    engine = make_engine(settings_url)
    upgrade(engine)
    return session_factory(engine)


def ensure_demo_planner(settings: Any) -> tuple[str, str, str | None]:
    """Dev only: a planner for the data's largest district, with a fresh random password each
    start (never a default one). Returns (name, password, district)."""
    import secrets

    from sqlalchemy import select

    from serving.auth import hash_password
    from serving.store import repository
    from serving.store.tables import User

    district: str | None = None
    if settings.data_path is not None:
        try:
            from data.validate import read_district

            counts = (
                read_district(Path(settings.data_path))
                .kindergartens["district"]
                .dropna()
                .value_counts()
            )
            # the district with most kindergartens (alphabetical among equals)
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            district = str(ranked[0][0]) if ranked else None
        except (UserInputError, ModuleNotFoundError, OSError):
            district = None
    password = secrets.token_urlsafe(12)
    sessions = _store_sessions(settings.database_url)
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.name == DEMO_USER))
        if user is None:
            repository.create_user(
                session,
                name=DEMO_USER,
                password_hash=hash_password(password),
                role="planner" if district else "admin",
                district=district,
            )
        else:
            user.password_hash = hash_password(password)
            if district:
                user.role, user.district = "planner", district
    return DEMO_USER, password, district


def district_problem(district: str, data: Path | None) -> Problem | None:
    """Why ``district`` cannot be checked against the data, or is not in it (None: it is)."""
    if data is None:
        return Problem(
            file="command line",
            column="--district",
            rule="cannot check the district without the data: give --data DATA (or set "
            "BEMANNING_DATA_PATH), or --force to add it unchecked",
            value=district,
        )
    from data.validate import read_district

    known = sorted(str(d) for d in read_district(data).kindergartens["district"].dropna().unique())
    if district in known:
        return None
    return Problem(
        file=str(data),
        column="district",
        rule="the data have no kindergarten in this district (a typo?); known: "
        + ", ".join(known)
        + " — or --force to add it anyway",
        value=district,
    )


def _data_from_environment() -> Path | None:
    """The data folder the app's settings would read from the environment, if any (so its
    bemanning.toml is found as for a --data flag)."""
    import os

    value = os.environ.get("BEMANNING_DATA_PATH")
    return Path(value) if value else None


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def serve(
        host: Annotated[
            str, typer.Option(help="Address to listen on (loopback by default).")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        data: Annotated[
            Path | None,
            typer.Option(
                help="Data folder or DuckDB file (CONTRACT.md); or set BEMANNING_DATA_PATH."
            ),
        ] = None,
        database: Annotated[
            str | None,
            typer.Option(
                help="Store URL (default: DATABASE_URL, else the project's bemanning.toml "
                "beside the data, else sqlite:///bemanning.db)."
            ),
        ] = None,
        dev: Annotated[
            bool,
            typer.Option(
                "--dev", help="Development/demo mode: random secret, prints a demo planner login."
            ),
        ] = False,
    ) -> None:
        """Serve the planners' web app (pages, JSON API at /docs)."""
        import uvicorn

        from serving.app.main import create_app

        data_path = data or _data_from_environment()
        settings = load_settings(
            data_path=data,
            database_url=state_value("app_database", database, data_path),
            tracking_uri=state_value("mlflow", None, data_path),
            dev=dev or None,
        )
        app_ = create_app(settings)
        if settings.dev:
            name, password, district = ensure_demo_planner(settings)
            console.print(
                f"[bold]Demo login[/] (dev only): user [cyan]{name}[/] password "
                f"[cyan]{password}[/]" + (f" · {district}" if district else "")
            )
        console.print(f"Serving on http://{host}:{port}/  (API docs: /docs)")
        # on SIGTERM/SIGINT a request waiting for a solve gets a few seconds, then the app's
        # shutdown stops the solver processes
        from serving.app.server import KEEP_ALIVE_S

        uvicorn.run(
            app_,
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=10,
            timeout_keep_alive=KEEP_ALIVE_S,
        )

    user_app = typer.Typer(help="Manage the app's user accounts.", no_args_is_help=True)

    @user_app.command("add")
    @user_errors
    def add(
        name: Annotated[str, typer.Argument(help="Login name.")],
        role: Annotated[str, typer.Option(help="viewer | planner | admin.")],
        district: Annotated[
            str | None,
            typer.Option(help="The district (bydel) a viewer or planner sees; not for admins."),
        ] = None,
        database: Annotated[
            str | None,
            typer.Option(help="Store URL (default sqlite:///bemanning.db, or DATABASE_URL)."),
        ] = None,
        data: Annotated[
            Path | None,
            typer.Option(
                help="Data folder or DuckDB file the district is checked against; or set "
                "BEMANNING_DATA_PATH."
            ),
        ] = None,
        force: Annotated[
            bool,
            typer.Option("--force", help="Add the user even if the data do not have the district."),
        ] = False,
    ) -> None:
        """Add a user; the password is prompted for, or read from stdin when piped."""
        from serving.auth import MIN_PASSWORD_LENGTH, hash_password
        from serving.store import repository

        problems = []
        if role not in ROLES:
            problems.append(
                Problem(
                    file="command line",
                    column="--role",
                    rule=f"must be one of {', '.join(ROLES)}",
                    value=role,
                )
            )
        if role in ("viewer", "planner") and not district:
            problems.append(
                Problem(
                    file="command line",
                    column="--district",
                    rule=f"a {role} needs a district: they see only their own",
                )
            )
        if district and not problems:
            data_path = data if data is not None else load_settings(dev=True).data_path
            unknown = district_problem(district, data_path)
            if unknown is not None and not force:
                problems.append(unknown)
            elif unknown is not None:
                console.print(
                    f"[yellow]Warning:[/] {district!r} is not checked against the data or not "
                    "in it; added anyway because of --force."
                )
        if problems:
            raise UserInputError("Cannot add the user", problems)
        if sys.stdin.isatty():
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserInputError(
                "Cannot add the user",
                [
                    Problem(
                        file="password", rule=f"must be at least {MIN_PASSWORD_LENGTH} characters"
                    )
                ],
            )
        sessions = _store_sessions(database)
        with sessions.begin() as session:
            try:
                repository.create_user(
                    session,
                    name=name,
                    password_hash=hash_password(password),
                    role=role,
                    district=district,
                )
            except repository.StoreError as exc:
                raise UserInputError(
                    "Cannot add the user",
                    [Problem(file="users", column="name", rule=str(exc), value=name)],
                ) from None
        console.print(f"Added {role} [cyan]{name}[/]" + (f" for {district}" if district else ""))

    app.add_typer(user_app, name="user")
