"""Issue 14: invoices the real world accepts.

Schema: the sale date of a late invoice (``sold_on``), the authority's returned document
(``authority_xml``), and the invoice's identity (merchant, form, printed symbol, number) unique.

Guards, the same on SQLite and PostgreSQL (extending 0002):

* an invoice's document columns never change; the authority's code and document, and the PDF,
  are written once (from empty); a canceled invoice stays canceled;
* lines and history events are never updated or deleted, nor are invoices deleted.

On SQLite, DELETE is refused unless ``einvoice_flushing()`` answers 1 (only inside
``manage.py flush``, see einvoice/dbguard.py), as PostgreSQL's TRUNCATE passes its row triggers.
SQLite drops a table's triggers when a migration rebuilds the table, so they are dropped first
and made again at the end (a later migration that alters these tables on SQLite must do the
same; tests/einvoice/test_immutability_guards.py checks they exist).
"""

from django.db import migrations, models

DOCUMENT_COLUMNS = [
    "merchant_id", "series_id", "year", "number", "uuid", "form", "series_symbol",
    "register_code", "is_cash_register", "kind", "related_id", "correction_reason", "issued_at",
    "sold_on", "seller_name", "seller_tax_code", "seller_address", "seller_phone",
    "buyer_name", "buyer_tax_code", "buyer_citizen_id", "buyer_email", "buyer_address",
    "buyer_phone", "currency", "total_before_tax", "total_tax", "total_payable",
    "amount_in_words", "payment_method", "xml", "xml_sha256", "is_signed", "lookup_code",
    "source_ref",
]
WRITE_ONCE = ["pdf", "pdf_sha256", "authority_code", "authority_xml"]
MESSAGE = "einvoice: an issued invoice is immutable"
HISTORY = "einvoice: invoice history is append-only"
FLUSHING = "einvoice_flushing()"


def _changed(distinct: str) -> str:
    cols = [f"NEW.{c} {distinct} OLD.{c}" for c in DOCUMENT_COLUMNS]
    once = [f"(OLD.{c} <> '' AND NEW.{c} {distinct} OLD.{c})" for c in WRITE_ONCE]
    status = ["(OLD.status = 'canceled' AND NEW.status <> 'canceled')"]
    return " OR ".join(cols + once + status)


SQLITE_TRIGGERS = [
    "einvoice_invoice_immutable",
    "einvoice_invoice_no_delete",
    "einvoice_line_immutable",
    "einvoice_line_no_delete",
    "einvoice_event_immutable",
    "einvoice_event_no_delete",
]


def _sqlite_create(schema_editor, changed: str) -> None:
    run = schema_editor.execute
    run(
        "CREATE TRIGGER einvoice_invoice_immutable BEFORE UPDATE ON einvoice_invoice "
        f"FOR EACH ROW WHEN {changed} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
    )
    for name, table, message in (
        ("einvoice_invoice", "einvoice_invoice", MESSAGE),
        ("einvoice_line", "einvoice_invoiceline", MESSAGE),
        ("einvoice_event", "einvoice_invoiceevent", HISTORY),
    ):
        if name != "einvoice_invoice":
            run(
                f"CREATE TRIGGER {name}_immutable BEFORE UPDATE ON {table} "
                f"FOR EACH ROW BEGIN SELECT RAISE(ABORT, '{message}'); END;"
            )
        run(
            f"CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {table} "
            f"FOR EACH ROW WHEN NOT {FLUSHING} BEGIN SELECT RAISE(ABORT, '{message}'); END;"
        )


def _pg_guard(changed: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION einvoice_invoice_guard() RETURNS trigger AS $$ BEGIN "
        f"IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
        f"IF {changed} THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
        "RETURN NEW; END; $$ LANGUAGE plpgsql;"
    )


def drop_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name};")


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        drop_sqlite(apps, schema_editor)
        _sqlite_create(schema_editor, _changed("IS NOT"))
    elif vendor == "postgresql":
        run = schema_editor.execute
        run(_pg_guard(_changed("IS DISTINCT FROM")))
        run(
            "CREATE OR REPLACE FUNCTION einvoice_event_guard() RETURNS trigger AS $$ BEGIN "
            f"RAISE EXCEPTION '{HISTORY}'; END; $$ LANGUAGE plpgsql;"
        )
        run("DROP TRIGGER IF EXISTS einvoice_event_immutable ON einvoice_invoiceevent;")
        run(
            "CREATE TRIGGER einvoice_event_immutable BEFORE UPDATE OR DELETE "
            "ON einvoice_invoiceevent FOR EACH ROW EXECUTE FUNCTION einvoice_event_guard();"
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        drop_sqlite(apps, schema_editor)
        # Back to 0002's two update triggers.
        old = [c for c in DOCUMENT_COLUMNS if c != "sold_on"]
        pdf = ["(OLD.pdf <> '' AND NEW.pdf IS NOT OLD.pdf)",
               "(OLD.pdf_sha256 <> '' AND NEW.pdf_sha256 IS NOT OLD.pdf_sha256)"]
        changed = " OR ".join([f"NEW.{c} IS NOT OLD.{c}" for c in old] + pdf)
        schema_editor.execute(
            "CREATE TRIGGER einvoice_invoice_immutable BEFORE UPDATE ON einvoice_invoice "
            f"FOR EACH ROW WHEN {changed} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
        )
        schema_editor.execute(
            "CREATE TRIGGER einvoice_line_immutable BEFORE UPDATE ON einvoice_invoiceline "
            f"FOR EACH ROW BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
        )
    elif vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS einvoice_event_immutable ON einvoice_invoiceevent;"
        )
        schema_editor.execute("DROP FUNCTION IF EXISTS einvoice_event_guard();")
        old = [c for c in DOCUMENT_COLUMNS if c != "sold_on"]
        pdf = ["(OLD.pdf <> '' AND NEW.pdf IS DISTINCT FROM OLD.pdf)",
               "(OLD.pdf_sha256 <> '' AND NEW.pdf_sha256 IS DISTINCT FROM OLD.pdf_sha256)"]
        changed = " OR ".join([f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in old] + pdf)
        schema_editor.execute(_pg_guard(changed))


def noop(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("einvoice", "0003_purchaseinvoice")]

    operations = [
        # The PG invoice guard names sold_on: replace it only after the column exists.
        migrations.RunPython(drop_sqlite, noop),
        migrations.AddField(
            model_name="invoice",
            name="sold_on",
            field=models.DateField(blank=True, null=True, verbose_name="ngày bán"),
        ),
        migrations.AddField(
            model_name="invoice",
            name="authority_xml",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.UniqueConstraint(
                fields=("merchant", "form", "series_symbol", "number"),
                name="einvoice_invoice_identity_unique",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
