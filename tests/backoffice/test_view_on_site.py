"""The back office's "View on site" address, /admin/r/<content type>/<id>/: a 404 for what it cannot show,
never a 500."""

import pytest
from django.contrib.contenttypes.models import ContentType

from accounts.models import Session, User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("object_id", ["1", "abc", "1e3", "not-a-uuid", "9" * 30,
                                       "00000000-0000-0000-0000-000000000000"])
@pytest.mark.parametrize("model", [Session, User], ids=["uuid-key", "integer-key"])
def test_an_id_the_key_cannot_take_is_a_404(operator, model, object_id):
    """GET /admin/r/<accounts.Session>/1/ was a 500: Django's shortcut let the UUID field's ValidationError out."""
    content_type = ContentType.objects.get_for_model(model)
    assert operator.get(f"/admin/r/{content_type.pk}/{object_id}/").status_code == 404


@pytest.mark.parametrize("content_type_id", ["abc", "9" * 30, "0"])
def test_a_content_type_that_is_none_is_a_404(operator, content_type_id):
    assert operator.get(f"/admin/r/{content_type_id}/1/").status_code == 404
