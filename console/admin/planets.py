"""Console view of the planets catalog; every change goes through the planets service, which
judges each value by the one planet schema."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, stream_with_context
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import (
    BooleanEqualFilter,
    FilterEqual,
    IntGreaterFilter,
    IntSmallerFilter,
)
from flask_admin.form import BaseForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from console import labels
from console.admin.base import ConsoleModelView
from console.admin.planet_import import PlanetImportMixin
from console.audit import Source
from console.history import RevertField
from console.planet_csv import csv_chunks, planet_batches
from console.security import Permission
from console.services import planets
from models import AuditEvent, Planet, db, whole_number
from models.errors import DomainError
from models.planets import DISCOVERY_METHOD_LABELS, PLANET_FIELDS, PLANET_TYPE_LABELS, PlanetField

MAX_FILTER_YEAR = 9999
CHOICES = {
    "planet_type": [(t.value, label) for t, label in PLANET_TYPE_LABELS.items()],
    "discovery_method": [(m.value, label) for m, label in DISCOVERY_METHOD_LABELS.items()],
}


def _label(field) -> str:
    return labels.field_label(field.name)  # "Mass (Earth masses)"


class _YearRange:
    """A year filter's value within the years a column can hold; a larger number is an invalid
    filter (shown as such), not a database error."""

    def validate(self, value: str) -> bool:
        return super().validate(value) and abs(int(value)) <= MAX_FILTER_YEAR


class YearAfterFilter(_YearRange, IntGreaterFilter):
    pass


class YearBeforeFilter(_YearRange, IntSmallerFilter):
    pass


class PlanetForm(BaseForm):
    """Fields without validators of their own: the planets service judges every value, so the
    console says exactly what the API and the CSV import say."""

    def validate(self, extra_validators: Any = None) -> bool:
        """Every value reaches the service, which names each bad one (a choice outside the
        list included) in the schema's words."""
        return True

    def values(self) -> dict[str, Any]:
        return {field.name: self[field.name].data for field in PLANET_FIELDS}

    def opened_version(self) -> int | None:
        """The planet's version when the edit form was opened (None on a create form)."""
        return whole_number(self["version"].data) if "version" in self else None


for _field in PLANET_FIELDS:
    if _field.kind == "choice":
        _form_field = SelectField(_field.label,
                                  choices=[SelectChoice(*pair) for pair in CHOICES[_field.name]])
    elif _field.name == "description":
        _form_field = TextAreaField(_field.label, render_kw={"rows": 4})
    else:
        _form_field = StringField(_label(_field), description=_field.description)
    setattr(PlanetForm, _field.name, _form_field)
PlanetForm.version = HiddenField()  # the version the form was opened on: edit conflicts


def _differs(field: PlanetField, stored: Any, typed: Any) -> bool:
    """Whether what the user typed differs from the stored value: numbers as numbers (a typed
    "279.0" is the stored 279.0), text without surrounding blanks, empty as None."""
    typed = typed.strip() if isinstance(typed, str) else typed
    if typed in ("", None) or stored in ("", None):
        return (typed in ("", None)) != (stored in ("", None))
    if field.kind in ("int", "float"):
        try:
            return float(typed) != float(stored)
        except ValueError:
            return True
    return str(typed) != str(stored)


class PlanetView(PlanetImportMixin, ConsoleModelView):
    permission = Permission.PLANETS_READ
    write_permission = Permission.PLANETS_WRITE
    offers_export = True
    action_permissions = {"archive": Permission.PLANETS_WRITE,
                          "unarchive": Permission.PLANETS_WRITE}
    form = PlanetForm
    history_target = "planet"
    offers_revert = offers_restore = True
    revertible = planets.REVERTIBLE
    delete_confirmation = ("Delete this planet? A planet with mission applications cannot be "
                           "deleted; archive it instead.")

    column_list = ["name", "planet_type", "host_star", "discovery_year", "discovery_method",
                   "mass_earth", "radius_earth", "distance_ly", "archived"]
    column_labels = {**{field.name: _label(field) for field in PLANET_FIELDS},
                     "archived": "Archived", "created_at": "Created", "updated_at": "Updated"}
    column_sortable_list = column_list[:-1]  # not by archived: the filter finds those
    column_default_sort = "name"
    column_sort_ignoring_case = ("name", "host_star")  # served by their lower(...) indexes
    column_searchable_list = ["name", "host_star"]

    def search_placeholder(self) -> str:
        return "Name or host star contains…"

    def record_label(self, model: Planet) -> str:
        return model.name

    column_filters = [
        FilterEqual(Planet.planet_type, "Type", options=CHOICES["planet_type"]),
        FilterEqual(Planet.discovery_method, "Discovery method",
                    options=CHOICES["discovery_method"]),
        YearAfterFilter(Planet.discovery_year, "Discovered after"),
        YearBeforeFilter(Planet.discovery_year, "Discovered before"),
        BooleanEqualFilter(Planet.archived, "Archived"),
    ]
    column_choices = CHOICES  # list and details show the labels, as the filters do
    column_formatters = {"archived": lambda view, context, model, name:
                         "Yes" if model.archived else "No",
                         "discovery_year": labels.planet_formatter(labels.discovered),
                         "distance_ly": labels.planet_formatter(labels.distance)}
    column_details_list = ["id", *planets.AUDITED_FIELDS, "archived", "created_at", "updated_at"]

    def _apply_search(self, query, count_query, joins, count_joins, search: str):
        """The catalog's and the API's search (Planet.search), served by an index, instead
        of Flask-Admin's ILIKE '%term%' that reads every row; by name its results sort as
        theirs do (see sort_key)."""
        condition = Planet.search(search, db.engine.dialect.name)
        g.planet_search = search
        if count_query is not None:
            count_query = count_query.filter(condition)
        return query.filter(condition), count_query, joins, count_joins

    def sort_key(self, path, key):
        if path == "name" and g.get("planet_search"):
            return Planet.search_key(g.planet_search, db.engine.dialect.name)
        return super().sort_key(path, key)

    @expose("/export/<export_type>/")
    def export(self, export_type: str):
        """The planets of the current search and filters as CSV, in the format that
        `flask import-planets` reads, streamed in batches so memory stays flat."""
        if export_type != "csv":
            abort(404)
        view_args = self._get_list_extra_args()
        _, query = self.get_list(0, None, False, view_args.search, view_args.filters,
                                 execute=False, page_size=0)
        rows = csv_chunks(planet_batches(query.statement.whereclause))
        return Response(
            stream_with_context(rows), mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=planets.csv"},
        )

    # --- writes, through the planets service ----------------------------------------------

    def create_model(self, form: PlanetForm) -> Planet | bool:
        try:
            return planets.create(form.values(), via=Source.CONSOLE)
        except DomainError as error:
            self.refused(error, form)
            return False

    def update_model(self, form: PlanetForm, model: Planet) -> bool:
        try:
            planets.update(model, form.values(), via=Source.CONSOLE,
                           version=form.opened_version())
        except DomainError as error:
            if error.field == "version":
                self._show_conflict(form, model)
            else:
                self.refused(error, form)
            return False
        return True

    def _show_conflict(self, form: PlanetForm, model: Planet) -> None:
        """The edit form again, with the user's values, each field that differs from what is
        stored now beside the stored value and who stored it; saving again confirms."""
        db.session.refresh(model)
        form.conflicts = [(field.label, labels.change_value(getattr(model, field.name), field.name),
                           labels.change_value(form[field.name].data, field.name))
                          for field in PLANET_FIELDS
                          if _differs(field, getattr(model, field.name), form[field.name].data)]
        form.conflict_by = db.session.scalar(select(AuditEvent).where(
            AuditEvent.target_type == "planet", AuditEvent.target_id == str(model.id))
            .order_by(AuditEvent.id.desc()).limit(1))
        form["version"].data = str(model.version)  # the next save is over what they have seen
        flash("Someone else changed this planet since you opened it. Nothing was saved: "
              "compare the values below, then save again to keep yours.", "error")

    def delete_records(self, records: list[Planet]) -> None:
        planets.delete(records, via=Source.CONSOLE)

    def revert_fields(self, record: Planet, event: AuditEvent) -> list[RevertField]:
        return planets.revert_fields(record, event)

    def revert_record(self, record: Planet, event: AuditEvent, fields: list[str]) -> None:
        planets.revert(record, event, fields, via=Source.CONSOLE)

    def restore_record(self, event: AuditEvent) -> Planet:
        return planets.restore(event, via=Source.CONSOLE)

    def _set_archived(self, ids: list[str], archived: bool) -> None:
        try:
            changed = planets.set_archived(self.selected(ids), archived, via=Source.CONSOLE)
        except DomainError as error:
            self.refused(error)
            return
        flash(f"{changed} planet(s) {'archived' if archived else 'brought back'}.", "success")

    @action("archive", "Archive", "Archive the selected planets? They leave the public "
            "catalog and the application form, and keep their applications.")
    def action_archive(self, ids: list[str]) -> None:
        self._set_archived(ids, True)

    @action("unarchive", "Unarchive", "Bring the selected planets back into the catalog?")
    def action_unarchive(self, ids: list[str]) -> None:
        self._set_archived(ids, False)
