"""The mission office at work: an editor rejects an application from its details page, first
told that a rejection needs a note, then with one; the member reads the decision, when and the
note on the dashboard and in the mail, signed by the mission office and never by the editor."""

from __future__ import annotations

import re

from tests.browser.helpers import assert_accessible, expect, log_in
from tests.smtp import mail_parts

PLANET = "Kepler-186 f"  # nobody else's journey applies for it
NOTE = "The crew for Kepler-186 f is complete.\nApply again next season."


def test_an_editor_rejects_with_a_note_and_the_member_reads_it(new_page, server):
    member = new_page()
    member.goto("/login")
    log_in(member, "marta")
    member.goto("/mission-application")
    member.get_by_label("Planet").fill(PLANET)
    member.get_by_label("Why should we send you?").fill("To see a garden under a red sun.")
    member.get_by_role("button", name="Submit application").click()
    expect(member.get_by_role("alert")).to_contain_text("pending review")
    server.mailbox.wait_for("marta@example.com", f"We received your application for {PLANET}")

    editor = new_page()
    editor.goto("/login")
    log_in(editor, "tessa")
    editor.goto("/admin/application/")
    row = editor.locator("table.model-list tbody tr", has_text=PLANET).filter(has_text="marta")
    row.get_by_role(
        "link", name=re.compile(rf"^View application \d+ \(marta, {re.escape(PLANET)}\)$")).click()
    main = editor.get_by_role("main")
    expect(main).to_contain_text("To see a garden under a red sun.")
    expect(main.get_by_role("link", name="marta", exact=True)).to_be_visible()
    expect(main.get_by_role("link", name=PLANET, exact=True)).to_be_visible()
    assert_accessible(editor)

    editor.get_by_role("button", name="Reject", exact=True).click()  # no note yet
    expect(editor.locator("#review_note-error")).to_have_text("Say why, for the applicant.")
    assert_accessible(editor)
    editor.get_by_label("Review note").fill(NOTE)
    editor.get_by_role("button", name="Reject", exact=True).click()
    expect(editor.get_by_role("alert").first).to_contain_text("1 application(s) rejected.")
    expect(main.get_by_role("button", name="Reject", exact=True)).to_have_count(0)
    expect(main).to_contain_text("Apply again next season.")

    member.get_by_role("navigation").get_by_role("link", name="Dashboard").click()
    row = member.locator("tbody tr", has_text=PLANET)
    expect(row.locator(".badge")).to_have_text("Rejected")
    expect(row).to_contain_text(re.compile(r"Rejected by the mission office on \d\d \w{3} \d{4}, "
                                           r"\d\d:\d\d UTC"))
    expect(row.locator("blockquote")).to_contain_text("The crew for Kepler-186 f is complete.")
    expect(row.locator("blockquote")).to_contain_text("Apply again next season.")
    expect(member.get_by_role("main")).not_to_contain_text("tessa")
    assert_accessible(member)

    mail = server.mailbox.wait_for("marta@example.com", f"Your application for {PLANET} is "
                                                        "rejected")
    text, html = mail_parts(mail)
    assert "The mission office has rejected your application" in text
    assert NOTE in text.replace("\r\n", "\n") and "Apply again next season." in html
    assert "tessa" not in mail.as_string()
