"""Routes of the membership API."""

from accountsite.routers import Router
from membership.views import VipViewSet

router = Router()
router.register("vip", VipViewSet, basename="vip")

urlpatterns = router.urls
