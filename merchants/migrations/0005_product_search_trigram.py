"""PostgreSQL only: pg_trgm and unaccent, and a trigram index on the products' search key, so a
storefront search ("ca thu", "banh trang") stays fast over many merchants' catalogues. SQLite,
the embedded default, searches the same key with LIKE (see market/search.py)."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE INDEX IF NOT EXISTS product_search_name_trgm ON merchants_product "
    "USING gin (search_name gin_trgm_ops)",
]
BACKWARD = ["DROP INDEX IF EXISTS product_search_name_trgm"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("merchants", "0004_product_stock_description")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
