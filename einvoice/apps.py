from django.apps import AppConfig


class EinvoiceConfig(AppConfig):
    name = "einvoice"

    def ready(self) -> None:
        # Celery autodiscovers einvoice.tasks (transmission); the PDF task lives beside it.
        from . import pdf_tasks  # noqa: F401
