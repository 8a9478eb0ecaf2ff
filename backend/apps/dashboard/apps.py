"""App configuration: the dashboard listens to the models it counts (signals.py)."""

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """Live KPIs for staff and mentors: the `dashboard` stream and `GET /api/dashboard/`."""

    name = "apps.dashboard"
    label = "dashboard"

    def ready(self) -> None:
        from .signals import connect_kpi_sources

        connect_kpi_sources()
