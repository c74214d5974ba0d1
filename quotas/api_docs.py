"""The /quota operations, for API users (accountsite.schema)."""

from accountsite import errors
from accountsite.schema import Doc

_READ = ("Read {what}", "{What} of the account the path names. The holder and operators who may view quotas "
         "read it; anyone else gets 1009, as for an unknown name. An app's token needs the `read` scope.")
_CREATE = ("Create {what}", "Operators only. Every account has its quota records from registration, so this "
           "answers 8006 unless the record lost a row outside the service; limits not given default to the account's "
           "tier. {Input}")
_UPDATE = ("Change {what}", "Operators only: sets the limits given and keeps the use. {Input}")
_INPUT = {
    "repository": "`quotaPublic` and `quotaPrivate` (or `public` and `private`): repository counts, -1 for unlimited.",
    "deposit": "`quota` in `unit` (`K`, `M`, `G`, `T`, binary; `M` by default), -1 for unlimited.",
    "pullnum": "`quota`: pulls per day, -1 for unlimited.",
}
_WHAT = {"repository": "the repository quota", "deposit": "the storage quota", "pullnum": "the daily pull quota"}
_LIMITS = (errors.InvalidParametersError,)


def _record(kind: str) -> dict[str, Doc]:
    what, words = _WHAT[kind], {"what": _WHAT[kind], "What": _WHAT[kind].capitalize(), "Input": _INPUT[kind]}
    return {
        f"quota_{kind}_retrieve": Doc(_READ[0].format(what=what), _READ[1].format(**words)),
        f"quota_{kind}_create": Doc(_CREATE[0].format(what=what), _CREATE[1].format(**words),
                                    errors=(*_LIMITS, errors.QuotaExistsError)),
        f"quota_{kind}_update": Doc(_UPDATE[0].format(what=what), _UPDATE[1].format(**words), errors=_LIMITS),
    }


OPERATIONS = {
    **_record("repository"), **_record("deposit"), **_record("pullnum"),
    "quota_pullnum_use_create": Doc(
        "Add pulls",
        "Operators only: adds `use` pulls to today's count. Past the daily limit the reply is 8008 and nothing "
        "changes.", errors=(errors.InvalidParametersError, errors.QuotaExceededError)),
}
