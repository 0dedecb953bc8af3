from django.apps import AppConfig


class VirtualExpoConfig(AppConfig):
    name = "virtual_expo"
