"""The repository operations, for API users (accountsite.schema)."""

from accountsite import errors
from accountsite.schema import Doc

_LIST = ("The caller's repositories, or with `?owner=name` that user's repositories the caller may see (public "
         "ones, and private ones for the owner and operators), one page at a time (`page`, `size`).")
_CREATE = ("Creates a repository owned by the caller, paid with one unit of the public or private repository "
           "quota (8008 when it is used up). Names are 1 to 100 of `A-Z a-z 0-9 . _ -` (not `.` or `..`), "
           "unique per owner whatever the case (8011). A private repository may carry a pull `secret`.")
_COMMIT = ("A commit, paid from the repository owner's storage quota (8008 past it). `size` (bytes) defaults to "
           "the content's UTF-8 length and may declare more, never less.")
_PAGE = (errors.InvalidParametersError,)
_LISTS = (errors.InvalidParametersError, errors.NotFoundError)  # `?owner=` names nobody the caller may see
_WRITE = (errors.InvalidParametersError, errors.QuotaExceededError)

OPERATIONS = {
    "repos_list": Doc("List repositories", _LIST, errors=_LISTS),
    "repo_list": Doc("List repositories (seed 000 alias)", _LIST + " The same as `GET /repos/`.", errors=_LISTS),
    "repos_create": Doc("Create a repository", _CREATE, errors=(*_WRITE, errors.RepositoryExistsError)),
    "repo_add_create": Doc("Create a repository (seed 000 alias)", _CREATE + " The same as `POST /repos/`.",
                           errors=(*_WRITE, errors.RepositoryExistsError)),
    "repos_retrieve": Doc(
        "Read a repository",
        "A public repository is readable by anyone, signed in or not; a private one only by its owner and "
        "operators (1009 for anyone else, as if it did not exist)."),
    "repos_partial_update": Doc(
        "Change a repository",
        "Any of `name`, `visibility`, `description`, `url` and `secret` (\"\" or null removes the secret). "
        "Switching visibility moves one unit between the public and private quotas (8008 when the other is used "
        "up). The owner, or an operator.", errors=(*_WRITE, errors.RepositoryExistsError)),
    "repos_destroy": Doc(
        "Delete a repository",
        "Deletes the repository and its commits and gives back its quota and storage. The owner, or an operator."),
    "repos_commits_list": Doc(
        "List a repository's commits",
        "Newest first, one page at a time; readable by whoever may read the repository.", errors=_PAGE),
    "repos_commits_create": Doc("Commit to a repository", _COMMIT + " The owner, or an operator.", errors=_WRITE),
    "commit_list": Doc("The caller's commits (seed 000)", "Every commit the caller made, newest first, one page at a "
                       "time.", errors=_PAGE),
    "commit_add_create": Doc("Commit to one of the caller's repositories (seed 000)",
                             _COMMIT + " The repository is named by `repo_name` among the caller's own.",
                             errors=(*_WRITE, errors.NotFoundError)),
    "repos_pull_create": Doc(
        "Pull a repository",
        "Records a pull, paid with one of the caller's pulls of the day (8008 past the daily limit). Needs a "
        "signed-in caller; a private repository's `secret` lets someone who may not read it pull it (wrong "
        "secrets are throttled: 1029). The reply has the pull and the caller's pulls of the day.",
        errors=(*_WRITE, errors.TooManyRequestsError)),
    "quota_repository_use_create": Doc(
        "Set repository use",
        "Sets the public and private repository counts (`usePublic`/`usePrivate`, or `public`/`private`): no "
        "lower than the repositories that exist (1007) and no higher than the limit (8008). The holder or an "
        "operator.", errors=(errors.InvalidParametersError, errors.QuotaExceededError)),
    "quota_deposit_use_create": Doc(
        "Add storage use",
        "Operators only: adds `use` in `unit` to the storage in use. A negative amount frees, down to what the "
        "account's commits store and no lower. Past the limit the reply is 8008 and nothing changes.",
        errors=(errors.InvalidParametersError, errors.QuotaExceededError)),
}
