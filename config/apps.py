"""``config`` as an installed app, so the management commands that span every app live at the top
of the house (config/management/commands: ``demo``, ``periodic``): they may import any app, and
no app imports them. It has no models."""

from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "config"
    label = "config"
    verbose_name = "Chợ Số"
