"""`/api/academy/`: students submit, their mentor grades, everyone signed in reads the leaderboard."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import query_filters
from apps.core.schema import ERROR

from . import services
from .models import Submission
from .selectors import leaderboard, visible_submissions
from .serializers import GradeSerializer, LeaderboardSerializer, SubmissionFilters, SubmissionSerializer

# The newest submissions the list returns.
LIST_LIMIT = 200


class SubmissionListApi(APIView):
    """GET: your submissions, or those you grade (staff: all). POST (students): `{title}`."""

    @extend_schema(parameters=[SubmissionFilters], responses=SubmissionSerializer(many=True))
    def get(self, request: Request) -> Response:
        submissions = visible_submissions(request.user).filter(**query_filters(request, SubmissionFilters))
        return Response(SubmissionSerializer(submissions[:LIST_LIMIT], many=True).data)

    @extend_schema(request=SubmissionSerializer, responses={201: SubmissionSerializer})
    def post(self, request: Request) -> Response:
        body = SubmissionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        submission = services.submission_create(actor=request.user, title=body.validated_data["title"])
        return Response(SubmissionSerializer(submission).data, status=status.HTTP_201_CREATED)


class SubmissionGradeApi(APIView):
    @extend_schema(request=GradeSerializer, responses={200: SubmissionSerializer, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        # Anyone may address a submission; the service answers 403 unless they are its mentor.
        submission = Submission.objects.filter(pk=pk).first()
        if submission is None:
            raise exceptions.NotFound()
        body = GradeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        graded = services.submission_grade(
            actor=request.user, submission=submission, score=body.validated_data["score"]
        )
        return Response(SubmissionSerializer(graded).data)


class LeaderboardApi(APIView):
    @extend_schema(responses=LeaderboardSerializer)
    def get(self, request: Request) -> Response:
        return Response(leaderboard())
