from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles import views as staticfiles_views
from django.urls import URLPattern, URLResolver, include, path, re_path, register_converter
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.audit.views import AuditListApi
from apps.core.api import IdConverter
from apps.ops import urls as ops_urls
from apps.progress.views import JobsPage
from apps.realtime import sse
from apps.realtime import views as realtime_views

register_converter(IdConverter, "id")  # before the apps' urls, which use `<id:pk>`
handler404 = "apps.core.api.not_found"

api: list[URLPattern | URLResolver] = [
    path("auth/", include("apps.accounts.urls")),
    path("requests/", include("apps.requests.urls")),
    path("documents/", include("apps.documents.urls")),
    path("storage/", include("apps.storage.urls")),
    path("audit/", AuditListApi.as_view(), name="audit-list"),
    path("notifications/", include("apps.notifications.urls")),
    path("academy/", include("apps.academy.urls")),
    path("dashboard/", include("apps.dashboard.urls")),
    path("progress/", include("apps.progress.urls")),
    path("sales/", include("apps.sales.urls")),
    path("events/", sse.events, name="sse-events"),
    path("presence/", realtime_views.PresenceApi.as_view(), name="presence"),
    path("ops/", include(ops_urls.api)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),  # YAML; JSON with ?format=json
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    # The site's front door is the demo app; browsers ask for /favicon.ico on every page.
    path("", RedirectView.as_view(url="/app/"), name="home"),
    path("favicon.ico", staticfiles_views.serve, {"path": "favicon.ico", "insecure": True}),
    path("api/", include(api)),
    path("healthz", realtime_views.healthz),
    path("readyz", realtime_views.readyz),
    path("metrics", realtime_views.metrics_view),
    path("admin/", admin.site.urls),
    # Server-rendered pages: Django's login page, and /jobs/ (start a job, watch its progress bar).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("jobs/", JobsPage.as_view(), name="jobs"),
    path("ops/", include(ops_urls.page)),  # staff: the live operations page
    path("app/", include("apps.core.frontend")),  # the built React demo (frontend/demo/dist)
    # Static files from the apps (sse_progress.js), found by the staticfiles finders, with DEBUG on
    # or off: Daphne serves no files itself. In production the proxy serves /static/ from
    # STATIC_ROOT after `manage.py collectstatic` and these requests never reach Django.
    re_path(r"^static/(?P<path>.*)$", staticfiles_views.serve, {"insecure": True}),
]
