from django.apps import AppConfig
from django.db.backends.signals import connection_created


class EinvoiceConfig(AppConfig):
    name = "einvoice"

    def ready(self) -> None:
        # Celery autodiscovers einvoice.tasks (transmission); the PDF task lives beside it.
        from . import dbguard, pdf_tasks  # noqa: F401

        connection_created.connect(dbguard.register, dispatch_uid="einvoice.dbguard")
