"""The /vip operations, for API users (accountsite.schema)."""

from accountsite import errors
from accountsite.schema import Doc

_TIER = {
    "userType": {"type": "integer", "example": 3, "description": "the tier's number"},
    "repoPub": {"type": "integer", "example": 30, "description": "public repositories (-1: unlimited)"},
    "repoPri": {"type": "integer", "example": 30, "description": "private repositories (-1: unlimited)"},
    "pullNum": {"type": "integer", "example": 500, "description": "pulls per day (-1: unlimited)"},
    "payWay": {"type": "integer", "example": 1, "description": "0 free, 1 prepaid, 2 postpaid"},
    "deposit": {"oneOf": [{"type": "string"}, {"type": "integer", "enum": [-1]}], "example": "2G",
                "description": "storage in its largest exact unit, -1 when unlimited"},
    "depositBytes": {"type": "integer", "example": 2147483648},
    "fee": {"type": "string", "example": "10000.00", "description": "the yearly fee, two decimals"},
}
_TIERS = {"type": "array", "items": {"type": "object", "properties": {
    **_TIER, "name": {"type": "string", "example": "gold"}}, "required": [*_TIER, "name"]}}
_VIP_PROPERTIES = {
    **_TIER,
    "invalidTime": {"type": "string", "format": "date-time", "nullable": True, "example": "2027-11-29T18:30:00Z",
                    "description": "when the paid tier ends; null for a tier that does not expire"},
    "balance": {"type": "string", "example": "10000.00",
                "description": "the wallet; only for the member and operators"},
}
_VIP = {"type": "object", "properties": _VIP_PROPERTIES, "required": [*_TIER, "invalidTime"]}
_PURCHASE = {"type": "object", "required": [*_TIER, "invalidTime", "kind", "cost", "credit", "refund",
                                            "balance"], "properties": {
    **_VIP_PROPERTIES,
    "kind": {"type": "string", "enum": ["renew", "upgrade", "change"], "example": "upgrade"},
    "cost": {"type": "string", "example": "10000.00", "description": "what was charged"},
    "credit": {"type": "string", "example": "0.00", "description": "the unused part of the previous tier, deducted"},
    "refund": {"type": "string", "example": "0.00",
               "description": "the part of the credit the new price did not use, returned to the wallet"},
}}
_PAYMENT = (errors.InvalidParametersError, errors.IdempotencyKeyReusedError)

OPERATIONS = {
    "vip_tiers_list": Doc(
        "List the tiers",
        "Every tier with its yearly fee and limits, in `userType` order, so a client can show the plans. No sign-in "
        "needed. Tier 2 is the operators' tier and is not for sale.", data=_TIERS),
    "vip_retrieve": Doc(
        "Read a member's tier",
        "The tier in force for the account the path names and its limits. A paid tier that has expired reads as "
        "tier 1 with `invalidTime: null`. The member and operators also see the wallet `balance`.", data=_VIP),
    "vip_cost_retrieve": Doc(
        "Quote a purchase",
        "What buying tier `type` for `validity` years (1 to 10) would cost now: the new fee minus the credit for "
        "the unused part of the paid period, counted to the second. It is exactly what `PUT /vip/{loginname}` "
        "charges at this moment. The member or an operator only; anyone else gets 1009.",
        errors=(errors.InvalidParametersError, errors.MembershipChangeError),
        data={"type": "object", "required": ["cost"],
              "properties": {"cost": {"type": "string", "example": "9972.60"}}}),
    "vip_update": Doc(
        "Buy a tier",
        "Renews, upgrades or changes the member's tier, paid from the wallet. Send the `cost` you were quoted: "
        "when the price has moved since, the reply is 8010 with the current price in `error.cost`. A cheaper tier "
        "while a paid one runs is 8009; too little money is 8007 (`error` has `balance` and `cost`). An "
        "`Idempotency-Key` header makes a retry safe: the same key replays the first successful reply.",
        errors=(*_PAYMENT, errors.MembershipChangeError, errors.CostMismatchError, errors.InsufficientBalanceError),
        data=_PURCHASE),
    "vip_ledger_list": Doc(
        "The wallet's ledger",
        "Every top-up, charge and refund of the member's wallet, newest first, one page at a time (`page`, "
        "`size`). `amount` is signed; `balance_after` is the balance after the row.",
        errors=(errors.InvalidParametersError,)),
    "vip_topup_create": Doc(
        "Top up a wallet",
        "An operator with the billing permission credits a member's wallet with `amount` (positive, two decimals "
        "at most). Nobody tops up their own wallet (7006). Answers 201 with the new ledger row; an "
        "`Idempotency-Key` header makes a retry safe.", errors=_PAYMENT, status=201),
}
