"""Database guard for invariant 3: an issued invoice's document columns and lines never change.

UPDATE may only touch the transmission columns, and the PDF once (from empty). Lines cannot be
updated. On PostgreSQL, DELETE of an invoice or a line is refused too (TRUNCATE, used to reset
test databases, does not fire row triggers); SQLite's test flush deletes rows, so there the
delete guard stays in Python (Invoice.delete, InvoiceQuerySet.delete).
"""

from django.db import migrations

DOCUMENT_COLUMNS = [
    "merchant_id", "series_id", "year", "number", "uuid", "form", "series_symbol",
    "register_code", "is_cash_register", "kind", "related_id", "correction_reason", "issued_at",
    "seller_name", "seller_tax_code", "seller_address", "seller_phone",
    "buyer_name", "buyer_tax_code", "buyer_citizen_id", "buyer_email", "buyer_address",
    "buyer_phone", "currency", "total_before_tax", "total_tax", "total_payable",
    "amount_in_words", "payment_method", "xml", "xml_sha256", "is_signed", "lookup_code",
    "source_ref",
]
MESSAGE = "einvoice: an issued invoice is immutable"


def _changed(distinct: str) -> str:
    cols = [f"NEW.{c} {distinct} OLD.{c}" for c in DOCUMENT_COLUMNS]
    pdf = [f"(OLD.pdf <> '' AND NEW.pdf {distinct} OLD.pdf)",
           f"(OLD.pdf_sha256 <> '' AND NEW.pdf_sha256 {distinct} OLD.pdf_sha256)"]
    return " OR ".join(cols + pdf)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            "CREATE TRIGGER einvoice_invoice_immutable BEFORE UPDATE ON einvoice_invoice "
            f"FOR EACH ROW WHEN {_changed('IS NOT')} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
        )
        schema_editor.execute(
            "CREATE TRIGGER einvoice_line_immutable BEFORE UPDATE ON einvoice_invoiceline "
            f"FOR EACH ROW BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
        )
    elif vendor == "postgresql":
        schema_editor.execute(
            "CREATE FUNCTION einvoice_invoice_guard() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
            f"IF {_changed('IS DISTINCT FROM')} THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
            "RETURN NEW; END; $$ LANGUAGE plpgsql;"
        )
        schema_editor.execute(
            "CREATE TRIGGER einvoice_invoice_immutable BEFORE UPDATE OR DELETE ON einvoice_invoice "
            "FOR EACH ROW EXECUTE FUNCTION einvoice_invoice_guard();"
        )
        schema_editor.execute(
            "CREATE FUNCTION einvoice_line_guard() RETURNS trigger AS $$ BEGIN "
            f"RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql;"
        )
        schema_editor.execute(
            "CREATE TRIGGER einvoice_line_immutable BEFORE UPDATE OR DELETE ON einvoice_invoiceline "
            "FOR EACH ROW EXECUTE FUNCTION einvoice_line_guard();"
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS einvoice_invoice_immutable;")
        schema_editor.execute("DROP TRIGGER IF EXISTS einvoice_line_immutable;")
    elif vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS einvoice_invoice_immutable ON einvoice_invoice;"
        )
        schema_editor.execute("DROP TRIGGER IF EXISTS einvoice_line_immutable ON einvoice_invoiceline;")
        schema_editor.execute("DROP FUNCTION IF EXISTS einvoice_invoice_guard();")
        schema_editor.execute("DROP FUNCTION IF EXISTS einvoice_line_guard();")


class Migration(migrations.Migration):
    dependencies = [("einvoice", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
