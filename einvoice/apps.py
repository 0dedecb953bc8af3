from django.apps import AppConfig


class EinvoiceConfig(AppConfig):
    name = "einvoice"
