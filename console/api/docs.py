"""The API's documentation page, rendered on the server from the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import render_template
from markupsafe import Markup, escape

from console.api.openapi import openapi_document, resolve


def type_text(schema: dict[str, Any]) -> str:
    """A schema's type in words: "number or null", "one of: a, b", or the name it refers to."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "enum" in schema:
        return "one of: " + ", ".join(str(value) for value in schema["enum"])
    if schema.get("type") == "array":
        return "array of " + type_text(schema["items"])
    types = schema.get("type", "any")
    text = " or ".join(types) if isinstance(types, list) else types
    return f"{text} ({schema['format']})" if "format" in schema else text


def rules_text(schema: dict[str, Any]) -> str:
    """A schema's limits in words, e.g. "> 0, at most 100 characters, default 25"."""
    rules = []
    if schema.get("minLength"):
        rules.append("not blank")
    if "maxLength" in schema:
        rules.append(f"at most {schema['maxLength']} characters")
    if "exclusiveMinimum" in schema:
        rules.append(f"> {schema['exclusiveMinimum']:g}")
    if "minimum" in schema:
        rules.append(f"≥ {schema['minimum']:g}")
    if "maximum" in schema:
        rules.append(f"≤ {schema['maximum']:g}")
    if "default" in schema:
        rules.append(f"default {schema['default']}")
    return ", ".join(rules)


def with_code(text: str) -> Markup:
    """Escaped text with its `backquoted` parts as <code>, as the document's descriptions mean."""
    parts = text.split("`")  # odd-numbered parts were between backquotes
    return Markup("").join(Markup("<code>{}</code>").format(part) if number % 2 else escape(part)
                           for number, part in enumerate(parts))


def render_docs() -> str:
    document = openapi_document()
    return render_template("api/docs.html", document=document, type_text=type_text,
                           rules_text=rules_text, with_code=with_code,
                           deref=lambda node: resolve(document, node))
