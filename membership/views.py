"""The /vip API: tier info, price quotes, purchases, the ledger and top-ups."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.selectors import signed_in, user_acted_on, user_named
from accountsite.pagination import paginate
from accountsite.permissions import PolicyMixin
from accountsite.policy import Op
from accountsite.requests import client_ip, valid_input
from membership import selectors, services
from membership.idempotency import idempotency_key_valid, idempotent_reply, request_fingerprint
from membership.serializers import (
    CostQuerySerializer,
    LedgerEntrySerializer,
    PurchaseInputSerializer,
    TierSerializer,
    TopupInputSerializer,
    VipSerializer,
    money,
)

IDEMPOTENCY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                      description="The same key twice charges once and replays the first reply.")


def _vip(user: User, *, with_balance: bool) -> dict:
    """The tier in force, and the balance if asked: one query (the tier comes from the tier table)."""
    now = timezone.now()
    if with_balance:
        membership, balance = selectors.membership_with_balance(user)
    else:
        membership, balance = selectors.membership_of(user), None
    return VipSerializer({"tier": selectors.effective_tier(membership, now),
                          "expires_at": selectors.effective_expiry(membership, now), "balance": balance}).data


def _idempotent(request: Request, key: str, data: dict, produce, *, operation: str, target: Any) -> Response:
    # The request as a fingerprint: what it does to whom, with which values; not its spelling (a retry may
    # write the login name in other letters, or add the trailing slash).
    fingerprint = request_fingerprint(operation=f"{operation}:{target.pk}", data=data)
    status, body = idempotent_reply(user=signed_in(request), key=key, fingerprint=fingerprint, produce=produce)
    return Response(body, status=status)


class VipViewSet(PolicyMixin, viewsets.GenericViewSet):
    """/vip/{loginname}: the member's tier (anyone), its price, buying it, the ledger and top-ups."""

    lookup_field, lookup_value_regex = "loginname", "[^/]+"
    operations = {"retrieve": Op.PUBLIC_READ, "tiers": Op.PUBLIC_READ, "cost": Op.BILLING_READ,
                  "update": Op.PURCHASE, "ledger": Op.BILLING_READ, "topup": Op.WALLET_TOPUP}

    def member(self, loginname: str) -> Any:
        """The member the path names, if the caller may do this action's operation to them."""
        return user_acted_on(loginname, self.caller(), op=self.operations[self.action], seen_with=Op.BILLING_READ)

    @extend_schema(responses=TierSerializer(many=True), tags=["membership"])
    @action(detail=False, methods=["get"], authentication_classes=())
    def tiers(self, request: Request) -> Response:
        """Every plan with its yearly fee and limits, so a client can show them (anyone)."""
        return Response(TierSerializer(selectors.tiers(), many=True).data)

    @extend_schema(responses=VipSerializer, tags=["membership"])
    def retrieve(self, request: Request, loginname: str) -> Response:
        user = user_named(loginname, self.caller())
        return Response(_vip(user, with_balance=self.allows(Op.BILLING_READ, user)))

    @extend_schema(parameters=[CostQuerySerializer], responses={200: None}, tags=["membership"])
    @action(detail=True, methods=["get"])
    def cost(self, request: Request, loginname: str) -> Response:
        user = self.member(loginname)
        query = CostQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        cost = services.membership_cost(user=user, user_type=query.validated_data["type"],
                                        validity=query.validated_data["validity"])
        return Response({"cost": money(cost)})

    @extend_schema(request=PurchaseInputSerializer, responses=VipSerializer, parameters=[IDEMPOTENCY_HEADER],
                   tags=["membership"])
    def update(self, request: Request, loginname: str) -> Response:
        """Buys (renews, upgrades or changes to) a tier, paid from the member's wallet."""
        user = self.member(loginname)
        data = valid_input(PurchaseInputSerializer, request)
        key = idempotency_key_valid(request.headers.get("Idempotency-Key"))

        def produce() -> tuple[int, dict]:
            purchase = services.membership_purchase(
                user=user, user_type=data["userType"], validity=data["validity"], cost=data["cost"],
                actor=signed_in(request), idempotency_key=key, ip=client_ip(request),
            )
            reply = _vip(user, with_balance=True)
            reply.update(kind=purchase.quote.kind, cost=money(purchase.quote.cost),
                         credit=money(purchase.quote.credit), refund=money(purchase.quote.refund),
                         balance=money(purchase.balance))
            return 200, reply

        return _idempotent(request, key, data, produce, operation="purchase", target=user)

    @extend_schema(responses=LedgerEntrySerializer(many=True), tags=["membership"])
    @action(detail=True, methods=["get"])
    def ledger(self, request: Request, loginname: str) -> Response:
        user = self.member(loginname)
        return paginate(self, selectors.ledger_of(user), LedgerEntrySerializer)

    @extend_schema(request=TopupInputSerializer, responses=LedgerEntrySerializer, parameters=[IDEMPOTENCY_HEADER],
                   tags=["membership"])
    @action(detail=True, methods=["post"])
    def topup(self, request: Request, loginname: str) -> Response:
        user = self.member(loginname)
        data = valid_input(TopupInputSerializer, request)
        key = idempotency_key_valid(request.headers.get("Idempotency-Key"))

        def produce() -> tuple[int, dict]:
            entry = services.wallet_topup(user=user, amount=data["amount"], note=data["note"], actor=signed_in(request),
                                          idempotency_key=key, ip=client_ip(request))
            return 201, LedgerEntrySerializer(entry).data

        return _idempotent(request, key, data, produce, operation="topup", target=user)
