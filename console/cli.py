"""`flask --app console ...` commands; thin wrappers over the functions the views call."""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from console import accounts
from models import Role, User, db

ROLE_CHOICE = click.Choice([role.value for role in Role])


def _fail(message: str) -> None:
    """One clear line on standard error and exit status 1."""
    raise click.ClickException(message)


def _user(username: str) -> User:
    user = User.find_by_login(username)
    if user is None:
        _fail(f"No user named {username!r}.")
    return user


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.argument("email")
@click.option("--role", type=ROLE_CHOICE, default=Role.MEMBER.value, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(username: str, email: str, role: str, password_stdin: bool) -> None:
    """Create an account with the same rules as the registration form."""
    password = _read_password(password_stdin)
    try:
        user = accounts.create_account(username, email, password, role)
    except accounts.AccountError as error:
        _fail(f"{error.field}: {error.message}")
    click.echo(f"Created {user.role} {user.username!r}.")


@click.command("set-role")
@with_appcontext
@click.argument("username")
@click.argument("role", type=ROLE_CHOICE)
def set_role_command(username: str, role: str) -> None:
    """Change a user's role (ends that user's sessions)."""
    user = _user(username)
    try:
        accounts.set_role(user, role)
    except accounts.AccountError as error:
        _fail(error.message)
    click.echo(f"{user.username!r} is now {user.role}.")


@click.command("deactivate")
@with_appcontext
@click.argument("username")
def deactivate_command(username: str) -> None:
    """Deactivate an account: it can no longer log in and its sessions end."""
    user = _user(username)
    try:
        accounts.deactivate(user)
    except accounts.AccountError as error:
        _fail(error.message)
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
        accounts.create_account(username, email, password, Role.ADMIN)
    except accounts.AccountError as error:
        _fail(f"Could not create the first admin: {error.field}: {error.message}")
    click.echo(
        "\nCreated the first admin account. This password is shown only once; "
        "log in and change it at /account/password.\n"
        f"  username: {username}\n  password: {password}\n"
    )


def register_cli(app: Flask) -> None:
    for command in (create_user_command, set_role_command, deactivate_command,
                    ensure_admin_command):
        app.cli.add_command(command)
