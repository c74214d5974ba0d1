"""The code services in each order a replay can take against its first use: the first use records its
refresh-token family (code_family_record) before or after the replay is marked (code_replay_revoke)."""

import secrets
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from accounts.models import OAuthCode
from accounts.oauth import applications, codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def code(app, user) -> str:
    """A code noted at its issue and redeemed by its first use."""
    raw = secrets.token_urlsafe(30)
    codes.code_record(grant=Grant(code=raw, application=app, user=user), auth_time=None)
    assert codes.code_redeem(code=raw)
    return raw


def first_use_tokens(app, user) -> RefreshToken:
    """The access and refresh token a first use makes before it records their family."""
    access = AccessToken.objects.create(user=user, application=app, token=secrets.token_urlsafe(32), scope="read",
                                        expires=timezone.now() + timedelta(hours=1))
    return RefreshToken.objects.create(user=user, application=app, token=secrets.token_urlsafe(32),
                                       access_token=access, token_family=uuid.uuid4())


def ended(refresh: RefreshToken) -> bool:
    refresh.refresh_from_db()
    return refresh.revoked is not None and refresh.access_token_id is None and not AccessToken.objects.exists()


def test_a_replay_after_the_family_is_recorded_revokes_it(app, user, code):
    refresh = first_use_tokens(app, user)
    codes.code_family_record(code=code, token_family=refresh.token_family)
    assert not ended(refresh)

    assert codes.code_replay_revoke(code=code, application=app)
    assert ended(refresh)


def test_a_replay_before_the_family_is_recorded_has_the_first_use_revoke_it(app, user, code):
    refresh = first_use_tokens(app, user)
    assert codes.code_replay_revoke(code=code, application=app)  # no family to revoke yet
    assert not ended(refresh)

    codes.code_family_record(code=code, token_family=refresh.token_family)
    assert ended(refresh)


def test_a_code_not_replayed_keeps_its_family(app, user, code, django_assert_num_queries):
    refresh = first_use_tokens(app, user)
    with django_assert_num_queries(1):  # the usual exchange pays one statement for it
        codes.code_family_record(code=code, token_family=refresh.token_family)
    assert not ended(refresh)
    assert OAuthCode.objects.get().replayed_at is None
    assert OAuthCode.objects.get().token_family == refresh.token_family


def test_the_first_replay_is_the_time_kept(app, code):
    first = timezone.now() - timedelta(seconds=5)
    codes.code_replay_revoke(code=code, application=app, now=first)
    codes.code_replay_revoke(code=code, application=app)
    assert OAuthCode.objects.get().replayed_at == first


def test_an_unredeemed_code_or_another_apps_is_no_replay(app, user, developer):
    open_code = secrets.token_urlsafe(30)
    codes.code_record(grant=Grant(code=open_code, application=app, user=user), auth_time=None)
    other_app = applications.application_create(owner=developer, redirect_uris="https://other.example/cb").application
    redeemed = secrets.token_urlsafe(30)
    codes.code_record(grant=Grant(code=redeemed, application=app, user=user), auth_time=None)
    codes.code_redeem(code=redeemed)

    assert not codes.code_replay_revoke(code=open_code, application=app)
    assert not codes.code_replay_revoke(code=redeemed, application=other_app)
    assert not OAuthCode.objects.filter(replayed_at__isnull=False).exists()
