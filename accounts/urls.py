"""Routes of the sign-in, session and user APIs; their seed-era aliases are in accountsite/legacy_urls.py."""

from accounts.views.auth import AuthViewSet, MeViewSet, SessionViewSet, SignInViewSet
from accounts.views.events import SecurityEventViewSet
from accounts.views.mfa import MfaViewSet, PasskeyViewSet
from accounts.views.users import UserSecretViewSet, UserViewSet
from accountsite.routers import Router, SingletonRouter

router = Router()
router.register("auth", SignInViewSet, basename="auth-sign-in")
router.register("auth", AuthViewSet, basename="auth")
router.register("auth/sessions", SessionViewSet, basename="auth-session")
router.register("auth/passkeys", PasskeyViewSet, basename="auth-passkey")
router.register("auth/events", SecurityEventViewSet, basename="auth-event")
router.register("users", UserViewSet, basename="user")
router.register("users", UserSecretViewSet, basename="user-secret")
profile = SingletonRouter()
profile.register("auth/me", MeViewSet, basename="auth-me")
profile.register("auth/mfa", MfaViewSet, basename="auth-mfa")

# /auth/me and /auth/mfa before /auth/{action}: the sessions', profile's and factors' prefixes are longer
# than the sign-in's.
urlpatterns = profile.urls + router.urls
