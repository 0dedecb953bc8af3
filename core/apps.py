from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from . import checks  # noqa: F401  (registers the system checks)
        from .logs import forget_request_id

        request_finished.connect(forget_request_id, dispatch_uid="core.forget_request_id")
