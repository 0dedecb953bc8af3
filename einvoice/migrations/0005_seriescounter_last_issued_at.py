"""The counter keeps the time of the series' last invoice, so issuing checks "never dated before
the last one" in the statement that takes the number (issue 15). Filled from the invoices."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    SeriesCounter = apps.get_model("einvoice", "SeriesCounter")
    Invoice = apps.get_model("einvoice", "Invoice")
    last = Invoice.objects.filter(series=OuterRef("series"), year=OuterRef("year")).order_by(
        "-number"
    )
    SeriesCounter.objects.update(last_issued_at=Subquery(last.values("issued_at")[:1]))


class Migration(migrations.Migration):
    dependencies = [("einvoice", "0004_real_world")]

    operations = [
        migrations.AddField(
            model_name="seriescounter",
            name="last_issued_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
