"""Routes of CONTRACT section 5 (a trailing slash is optional)."""

from django.urls import re_path

from membership.views import VipViewSet

NAME = r"(?P<loginname>[\w.@+-]+)"

urlpatterns = [
    re_path(rf"^vip/{NAME}/?$", VipViewSet.as_view({"get": "retrieve", "put": "purchase"}), name="vip"),
    re_path(rf"^vip/{NAME}/cost/?$", VipViewSet.as_view({"get": "cost"}), name="vip-cost"),
    re_path(rf"^vip/{NAME}/ledger/?$", VipViewSet.as_view({"get": "ledger"}), name="vip-ledger"),
    re_path(rf"^vip/{NAME}/topup/?$", VipViewSet.as_view({"post": "topup"}), name="vip-topup"),
]
