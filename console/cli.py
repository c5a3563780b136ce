"""`flask --app console ...` commands; thin wrappers over the functions the views call."""

from __future__ import annotations

import csv
import os
import secrets
import sys
from collections.abc import Iterable, Iterator, Sequence

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from console.audit import Source
from console.errors import sentence
from console.jobs import run_worker
from console.planet_csv import csv_chunks, planet_batches
from console.planet_import import ImportProgress, ImportReport, ProgressCallback
from console.services import accounts, api_tokens, planets, two_factor
from models import Planet, Role, User, db
from models.errors import DomainError
from seed import catalog_size

ROLES = ", ".join(role.value for role in Role)


def _fail(message: str) -> None:
    """One clear line on standard error and exit status 1."""
    raise click.ClickException(message)


def _user(username: str) -> User:
    user = User.find_by_login(username)
    if user is None:
        _fail(f"No user named {username!r}.")
    return user


def _update(username: str, **changes: object) -> User:
    user = _user(username)
    try:
        accounts.update_account(user, via=Source.CLI, **changes)
    except DomainError as error:
        _fail(error.message)
    return user


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.argument("email")
@click.option("--role", default=Role.MEMBER.value, show_default=True, help=f"One of: {ROLES}.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(username: str, email: str, role: str, password_stdin: bool) -> None:
    """Create an account with the same rules as the registration form."""
    password = _read_password(password_stdin)
    try:
        user = accounts.create_account(username, email, password, role, via=Source.CLI)
    except DomainError as error:
        _fail(f"{error.field}: {error.message}")
    click.echo(f"Created {user.role} {user.username!r}.")


@click.command("set-role")
@with_appcontext
@click.argument("username")
@click.argument("role")
def set_role_command(username: str, role: str) -> None:
    """Change a user's role (ends that user's sessions)."""
    user = _update(username, role=role)
    click.echo(f"{user.username!r} is now {user.role}.")


@click.command("set-password")
@with_appcontext
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password_command(username: str, password_stdin: bool) -> None:
    """Set a user's password, with the rules of every password (ends that user's sessions)."""
    user = _user(username)
    password = _read_password(password_stdin)
    if not password:
        _fail("No password given; nothing changed.")
    _update(user.username, password=password)
    then = "; they choose their own at their next login" if user.must_change_password else ""
    click.echo(f"The password of {user.username!r} is set and their sessions ended{then}.")


@click.command("deactivate")
@with_appcontext
@click.argument("username")
def deactivate_command(username: str) -> None:
    """Deactivate an account: it can no longer log in and its sessions end."""
    user = _update(username, is_active=False)
    click.echo(f"{user.username!r} is deactivated.")


@click.command("ensure-admin")
@with_appcontext
@click.option("--username", default="admin", show_default=True)
@click.option("--email", default="admin@example.com", show_default=True)
def ensure_admin_command(username: str, email: str) -> None:
    """Create a first admin with a random password when there is no admin yet."""
    if db.session.scalar(select(User.id).where(User.role == Role.ADMIN.value).limit(1)):
        return
    password = secrets.token_urlsafe(15)
    try:
        accounts.create_account(username, email, password, Role.ADMIN, via=Source.CLI,
                                must_change_password=True)
    except DomainError as error:
        _fail(f"Could not create the first admin: {error.field}: {error.message}")
    click.echo(
        "\nCreated the first admin account. This password is shown only once; "
        "you choose a new one when you first log in.\n"
        f"  username: {username}\n  password: {password}\n"
    )


def _on_terminal() -> bool:
    return sys.stderr.isatty()


def _progress_bar(length: int, label: str):
    """A progress bar on a terminal; silent when output goes to a file or a pipe."""
    return click.progressbar(length=length, label=label, file=sys.stderr,
                             hidden=not _on_terminal())


def _advance(bar) -> ProgressCallback:
    """An import's progress callback that moves `bar` to where the import is."""
    shown = 0

    def advance(progress: ImportProgress) -> None:
        nonlocal shown
        bar.update(progress.done - shown)
        shown = progress.done

    return advance


@click.command("seed")
@with_appcontext
@click.option("--synthetic", type=int, metavar="N",
              help="Add N clearly synthetic planets for load tests instead.")
def seed_command(synthetic: int | None) -> None:
    """Load the real planets catalog (again: changes nothing), or synthetic planets."""
    if synthetic is not None and synthetic < 1:
        _fail("--synthetic needs a number of planets of at least 1.")
    if synthetic:
        with _progress_bar(synthetic, "Synthetic planets") as bar:
            planets.load_synthetic(synthetic, progress=bar.update)
        click.echo(f"Added {synthetic} synthetic planets.")
        return
    with _progress_bar(catalog_size(), "Planets catalog") as bar:
        result = planets.seed_catalog(progress=_advance(bar))
    if result.problems:
        _fail(f"The seed catalog has bad rows: {result.problems[0]}")
    click.echo(f"Catalog loaded: {result.created} added, {result.unchanged} already present.")


def _echo_invalid_rows(report: ImportReport) -> None:
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if (unlisted := report.invalid - len(report.invalid_rows)) > 0:
        click.echo(f"... and {unlisted} more invalid row(s), not listed.", err=True)


def _echo_plan(report: ImportReport) -> None:
    """What a dry run found: each row to add, each row to update with its changes."""
    for addition in report.additions:
        click.echo(f"line {addition.line}: add {addition.name!r}")
    for update in report.updates:
        changes = ", ".join(f"{name} {before!r} -> {after!r}"
                            for name, (before, after) in update.changes.items())
        click.echo(f"line {update.line}: update {update.name!r}: {changes}")
    if not report.complete:
        click.echo(f"(The first {report.limit:,} rows of each kind are listed.)")


@click.command("import-planets")
@with_appcontext
@click.argument("csv_file", type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Store the valid rows; report the rest.")
@click.option("--update", is_flag=True, help="Update planets whose name is already stored.")
@click.option("--dry-run", is_flag=True,
              help="Report the rows to add, to update and the invalid ones; store nothing.")
def import_planets_command(csv_file: str, skip_invalid: bool, update: bool,
                           dry_run: bool) -> None:
    """Import planets from CSV, read as it goes; all or nothing unless --skip-invalid."""
    try:
        with open(csv_file, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            with _progress_bar(size, "Checking" if dry_run else "Importing") as bar:
                report = planets.import_csv(stream, size=size, dry_run=dry_run, update=update,
                                            skip_invalid=skip_invalid, progress=_advance(bar),
                                            via_detail=csv_file)
    except OSError as error:
        _fail(f"Cannot read {csv_file}: {error.strerror}")
    except DomainError as error:
        _fail(f"{csv_file}: {error.message}; nothing was imported")
    except (ValueError, csv.Error) as error:  # UnicodeDecodeError is a ValueError
        _fail(f"{csv_file}: {error}")
    _echo_invalid_rows(report)
    if dry_run:
        _echo_plan(report)
        if report.invalid and not skip_invalid:
            _fail(f"Dry run: {report.invalid} invalid row(s); importing this file would store "
                  "nothing. Fix them, or use --skip-invalid to import the valid rows.")
        click.echo(f"Dry run: {report.created} to add, {report.updated} to update, "
                   f"{report.unchanged} unchanged, {report.invalid} invalid row(s) to skip; "
                   "nothing was stored.")
        return
    if not report.stored:
        _fail(f"{report.invalid} invalid row(s); nothing was imported. "
              "Fix them, or use --skip-invalid to import the valid rows.")
    click.echo(f"Imported: {report.created} added, {report.updated} updated, "
               f"{report.unchanged} unchanged, {report.invalid} invalid row(s) skipped.")


def _counted(batches: Iterable[Sequence[object]], bar) -> Iterator[Sequence[object]]:
    for batch in batches:
        yield batch
        bar.update(len(batch))


@click.command("export-planets")
@with_appcontext
@click.argument("csv_file", type=click.Path(dir_okay=False, writable=True))
def export_planets_command(csv_file: str) -> None:
    """Write the whole catalog to CSV, streaming it in constant memory."""
    total = db.session.scalar(select(func.count()).select_from(Planet))
    try:
        with open(csv_file, "w", newline="", encoding="utf-8") as stream, \
                _progress_bar(total, "Exporting") as bar:
            stream.writelines(csv_chunks(_counted(planet_batches(), bar)))
    except OSError as error:
        _fail(f"Cannot write {csv_file}: {error.strerror}")
    click.echo(f"Exported the catalog to {csv_file}.")


@click.command("create-token")
@with_appcontext
@click.argument("username")
@click.argument("name")
def create_token_command(username: str, name: str) -> None:
    """Create an API token for an editor or admin and print it; it is shown only once."""
    user = _user(username)
    try:
        token, secret = api_tokens.create_token(user, name, via=Source.CLI)
    except DomainError as error:
        _fail(error.message)
    click.echo(f"Created API token {token.name!r} for {user.username!r}; "
               "it is shown only this once:", err=True)
    click.echo(secret)


def _planet(name: str) -> Planet:
    planet = Planet.find_by_name(name)
    if planet is None:
        _fail(f"No planet named {name!r}.")
    return planet


@click.command("delete-planet")
@with_appcontext
@click.argument("name")
def delete_planet_command(name: str) -> None:
    """Delete a planet; one that mission applications refer to is refused: archive it."""
    planet = _planet(name)
    try:
        planets.delete([planet], via=Source.CLI)
    except DomainError as error:
        _fail(sentence(error.message))
    click.echo(f"Deleted {name!r}.")


@click.command("archive-planet")
@with_appcontext
@click.argument("name")
@click.option("--undo", is_flag=True, help="Bring an archived planet back instead.")
def archive_planet_command(name: str, undo: bool) -> None:
    """Archive a planet: it leaves the public catalog and the API's default list."""
    planet = _planet(name)
    try:
        planets.set_archived([planet], not undo, via=Source.CLI)
    except DomainError as error:
        _fail(sentence(error.message))
    click.echo(f"{planet.name!r} is {'back in the catalog' if undo else 'archived'}.")


@click.command("reset-two-factor")
@with_appcontext
@click.argument("username")
def reset_two_factor_command(username: str) -> None:
    """Turn off a user's two-factor sign-in (lost phone and recovery codes)."""
    user = _user(username)
    if not two_factor.reset([user], via=Source.CLI):
        click.echo(f"{user.username!r} has no two-factor sign-in; nothing changed.")
        return
    click.echo(f"Two-factor sign-in of {user.username!r} is reset: they log in with their "
               "password alone and can turn it on again at /account/two-factor.")


@click.command("worker")
@with_appcontext
@click.option("--workers", default=2, show_default=True, help="Jobs run at once (threads).")
def worker_command(workers: int) -> None:
    """Run the jobs of the job queue (mails, large imports) until stopped."""
    if workers < 1:
        _fail("--workers needs at least 1.")
    run_worker(current_app._get_current_object(), workers)


def register_cli(app: Flask) -> None:
    for command in (create_user_command, set_role_command, deactivate_command,
                    ensure_admin_command, seed_command, import_planets_command,
                    export_planets_command, create_token_command, delete_planet_command,
                    archive_planet_command, reset_two_factor_command, set_password_command,
                    worker_command):
        app.cli.add_command(command)
