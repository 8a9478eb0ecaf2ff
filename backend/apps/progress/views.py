"""`/api/progress/jobs/`: start a job (202 at once) and read jobs; the `/jobs/` page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.views.generic import TemplateView
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .models import Job
from .serializers import JobSerializer, JobStartedSerializer, JobStartSerializer


def own_jobs(user: Any) -> QuerySet[Job]:
    return Job.objects.filter(user_id=user.pk)


def visible_jobs(user: Any) -> QuerySet[Job]:
    """Staff read every job; others their own."""
    return Job.objects.all() if user.is_staff else own_jobs(user)


class JobListApi(APIView):
    @extend_schema(responses=JobSerializer(many=True))
    def get(self, request: Request) -> Response:
        """The signed-in user's own jobs, newest first."""
        jobs = own_jobs(request.user)[:100]
        return Response(JobSerializer(jobs, many=True).data)

    @extend_schema(request=JobStartSerializer, responses={202: JobStartedSerializer})
    def post(self, request: Request) -> Response:
        body = JobStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.job_start(actor=request.user, **body.validated_data)
        return Response({"job_id": str(job.job_id), "total": job.total_items}, status=status.HTTP_202_ACCEPTED)


class JobDetailApi(APIView):
    @extend_schema(responses=JobSerializer)
    def get(self, request: Request, job_id: str) -> Response:
        job = visible_jobs(request.user).filter(pk=job_id).first()
        if job is None:
            raise exceptions.NotFound()
        return Response(JobSerializer(job).data)


class JobsPage(LoginRequiredMixin, TemplateView):
    """`/jobs/`: start a job and watch its progress bar (session login)."""

    template_name = "progress/jobs.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **super().get_context_data(**kwargs),
            "task_types": Job.TaskType.choices,
            "recent_jobs": own_jobs(self.request.user)[:10],
        }
