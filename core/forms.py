from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from .errors import ApplicationError
from .text import check_multi_line_text, check_one_line_text


class CleanTextMixin:
    """For every Django form of the site (``class ProductForm(CleanTextMixin, forms.Form)``):
    each text field refuses NUL, control characters and lone surrogates (core.text), with one
    message in the request's language. A field drawn as a textarea (or named in
    ``multiline_fields``) may hold line breaks and tabs; other fields may not. Passwords are left
    as typed: they are hashed, never shown or sent anywhere."""

    multiline_fields: frozenset[str] = frozenset()
    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if not isinstance(field, forms.CharField) or isinstance(
                field.widget, forms.PasswordInput
            ):
                continue
            multiline = isinstance(field.widget, forms.Textarea) or name in self.multiline_fields
            # Ours says the same of NUL as Django's own validator, in the site's words.
            field.validators = [
                v for v in field.validators if not isinstance(v, ProhibitNullCharactersValidator)
            ]
            field.validators.append(check_multi_line_text if multiline else check_one_line_text)


def apply_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's error on the form: per field where it names one, else on top."""
    fields = getattr(exc, "fields", {}) or {}
    placed = False
    for name, messages in fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, str(message))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))
