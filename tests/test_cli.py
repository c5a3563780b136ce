"""The account commands: same rules as the web, one clear line and status 1 on errors."""

import re

import pytest
from sqlalchemy import func, select

from console.cli import (
    create_user_command,
    deactivate_command,
    ensure_admin_command,
    set_role_command,
)
from models import User, db


def _user(app, username):
    with app.app_context():
        return db.session.scalar(select(User).where(User.username == username))


def _count(app):
    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_create_user_reads_password_from_stdin(runner, app):
    result = runner.invoke(create_user_command, ["grace", "grace@example.com", "--role", "editor",
                                                 "--password-stdin"], input="compiler-pioneer\n")
    assert result.exit_code == 0, result.output
    user = _user(app, "grace")
    assert user.role == "editor" and user.check_password("compiler-pioneer")


def test_create_user_prompts_twice(runner, app):
    result = runner.invoke(create_user_command, ["grace", "grace@example.com"],
                           input="compiler-pioneer\ncompiler-pioneer\n")
    assert result.exit_code == 0, result.output
    assert _user(app, "grace").role == "member"


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["x", "grace@example.com"], "compiler-pioneer", "Error: username: Use 3 to 20"),
        (["grace", "nope"], "compiler-pioneer", "Error: email: "),
        (["grace", "grace@example.com"], "123", "Error: password: Use at least 10"),
        (["TAKEN", "grace@example.com"], "compiler-pioneer", "Error: username: This username"),
        (["grace", "grace@example.com", "--role", "pilot"], "compiler-pioneer",
         "Error: role: Unknown role 'pilot'; choose one of member, viewer, editor, admin."),
    ],
)
def test_create_user_errors_are_one_line_and_status_1(runner, app, make_user, args, password,
                                                      message):
    make_user("taken")
    result = runner.invoke(create_user_command, [*args, "--password-stdin"], input=password)
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert _count(app) == 1


def test_set_role_changes_role_and_ends_sessions(runner, app, login_as):
    client, user = login_as("member")
    result = runner.invoke(set_role_command, [user.username, "viewer"])
    assert result.exit_code == 0, result.output
    assert _user(app, user.username).role == "viewer"
    assert client.get("/account").status_code == 302


def test_set_role_unknown_role(runner, make_user):
    make_user("ada")
    result = runner.invoke(set_role_command, ["ada", "pilot"])
    assert result.exit_code == 1
    assert result.output == (
        "Error: Unknown role 'pilot'; choose one of member, viewer, editor, admin.\n")


def test_set_role_unknown_user(runner):
    result = runner.invoke(set_role_command, ["ghost", "viewer"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: No user named 'ghost'."


def test_last_admin_cannot_be_demoted_or_deactivated(runner, app, make_user):
    make_user("root", role="admin")
    make_user("retired", role="admin", is_active=False)
    demote = runner.invoke(set_role_command, ["root", "editor"])
    assert demote.exit_code == 1 and "last active admin" in demote.output
    deactivate = runner.invoke(deactivate_command, ["root"])
    assert deactivate.exit_code == 1 and "last active admin" in deactivate.output
    user = _user(app, "root")
    assert user.role == "admin" and user.is_active


def test_admin_can_be_demoted_when_another_is_active(runner, app, make_user):
    make_user("root", role="admin")
    make_user("second", role="admin")
    assert runner.invoke(set_role_command, ["root", "editor"]).exit_code == 0
    assert _user(app, "root").role == "editor"


def test_deactivate_ends_sessions_and_blocks_login(runner, login_as, app):
    client, user = login_as("member")
    result = runner.invoke(deactivate_command, [user.username])
    assert result.exit_code == 0, result.output
    assert client.get("/account").status_code == 302
    assert not _user(app, user.username).is_active


def test_ensure_admin_creates_one_admin_once(runner, app, auth):
    first = runner.invoke(ensure_admin_command)
    assert first.exit_code == 0, first.output
    password = re.search(r"password: (\S+)", first.output)[1]
    admin = _user(app, "admin")
    assert admin.role == "admin" and password not in admin.password_hash
    assert auth.login("admin", password).status_code == 302

    second = runner.invoke(ensure_admin_command)
    assert second.exit_code == 0 and second.output == ""
    assert _count(app) == 1
