"""One plain function view returning a small JSON object: the floor of any Django request."""

from django.http import JsonResponse
from django.urls import path


def hello(request):
    return JsonResponse({"code": 0, "msg": "ok", "data": {"hello": "world"}})


urlpatterns = [path("bare/", hello)]
