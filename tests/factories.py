"""factory_boy factories. Users are made through the model manager so every one has a membership and
quota rows, exactly as registration gives them."""

import factory

from accounts.models import User, UserStatus

PASSWORD = "a-Long-enough-passw0rd"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    nickname = factory.LazyAttribute(lambda u: u.username.title())
    status = UserStatus.ACTIVE

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_user(*args, password=password, **kwargs)


class AdminFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin{n}")
    is_staff = True
    is_superuser = True
