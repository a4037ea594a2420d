"""May this object write to or delete an Azure resource that already exists? (pure)

The operator writes to and deletes only resources that carry its own object's mark.
Taking over anything else is an explicit adoption (an annotation on the object), and
only of a resource nobody here owns: unmarked (made outside the operator, or by a build
before marks existed) or marked for an earlier object of the same name (deleted and
re-created, so with another uid). A resource marked for a live other object, or by
another cluster, is never taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .. import GROUP
from ..models.ownership import Owner
from ..models.reasons import Reason

ADOPT_ANNOTATION = f"{GROUP}/adopt"
ADOPT_HELP = (f'annotate the object with {ADOPT_ANNOTATION}="true" to adopt it '
              "(see docs/security.md)")


class Claim(Enum):
    OURS = "ours"
    ADOPT = "adopt"              # not ours yet; the adopt annotation asks to take it
    NOT_OWNED = "not-owned"      # no mark: made outside this operator
    EARLIER_OBJECT = "earlier"   # marked for an earlier object with this name
    OWNED_BY_ANOTHER = "another"


@dataclass(frozen=True)
class ClaimVerdict:
    claim: Claim
    reason: Reason | None = None  # None: ours, nothing to say
    message: str = ""

    @property
    def why(self) -> Reason:
        """The reason shown for a verdict other than plain "ours"."""
        assert self.reason is not None
        return self.reason

    @property
    def may_write(self) -> bool:
        return self.claim in (Claim.OURS, Claim.ADOPT)


def judge(me: Owner, found: Owner | None, *, what: str, adopt: bool) -> ClaimVerdict:
    """``what`` names the resource for messages (e.g. "Azure pool p1")."""
    if found is not None and found.same_object(me):
        return ClaimVerdict(Claim.OURS)
    if found is None:
        if adopt:
            return ClaimVerdict(Claim.ADOPT, Reason.ADOPTING, f"adopting {what} (not created here)")
        return ClaimVerdict(Claim.NOT_OWNED, Reason.EXISTS_NOT_OWNED, (
            f"{what} already exists and was not created by this operator; nothing is "
            f"written to it or deleted; {ADOPT_HELP}"))
    if found.same_name(me):
        if adopt:
            return ClaimVerdict(Claim.ADOPT, Reason.ADOPTING,
                                f"adopting {what} from an earlier object of this name")
        return ClaimVerdict(Claim.EARLIER_OBJECT, Reason.OWNED_BY_ANOTHER, (
            f"{what} belongs to an earlier {me.kind} of this name (uid {found.uid}); "
            f"nothing is written to it or deleted; {ADOPT_HELP}"))
    if found.cluster == me.cluster and found.namespace == me.namespace:
        owner = f"{found.kind or 'object'} {found.namespace}/{found.name}"
    elif found.cluster == me.cluster:
        owner = "an object in another namespace"  # never name another tenant's objects
    else:
        owner = "another cluster's operator"
    return ClaimVerdict(Claim.OWNED_BY_ANOTHER, Reason.OWNED_BY_ANOTHER, (
        f"{what} is owned by {owner}; nothing is written to it or deleted. Choose another "
        "name for it in this object's spec"))
