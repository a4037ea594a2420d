"""Every condition type and reason the operator writes, in one catalogue (pure).

Conditions, events, docs/troubleshooting.md and the Argo CD health scripts all take
their words from here; a test checks the docs' table and the Lua tables against it, and
mypy refuses a reason that is not in it.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class ConditionType(StrEnum):
    READY = "Ready"
    SOURCE_VALID = "SourceValid"
    PUBLISHED = "Published"
    DELETION_BLOCKED = "DeletionBlocked"
    PAUSED = "Paused"
    IMAGE_RESOLVED = "ImageResolved"
    WITHIN_LIMITS = "WithinLimits"
    SCALED = "Scaled"


class Severity(Enum):
    """What a reason asks of a person (after Azure Service Operator's Info/Warning/Error)."""

    INFO = "Info"        # normal: ready, or progressing on its own
    WARNING = "Warning"  # worth a look, but the operator goes on (it may resolve itself)
    ERROR = "Error"      # needs a human: retrying alone cannot fix it (Argo CD: Degraded)


class Reason(StrEnum):
    # --- progressing or fine -----------------------------------------------------------
    STEADY = "Steady"
    AT_TARGET = "AtTarget"
    IMAGE_READY = "ImageReady"
    PUBLISHED = "Published"
    WITHIN_LIMITS = "WithinLimits"
    SNAPSHOTS_FOUND = "SnapshotsFound"
    SNAPSHOTS_CAPTURED = "SnapshotsCaptured"
    SOURCE_CHECKED = "SourceChecked"
    IMAGE_ID = "ImageId"
    MARKETPLACE = "Marketplace"
    NOT_IN_USE = "NotInUse"
    CREATING = "Creating"
    UPDATING = "Updating"
    PROVISIONING = "Provisioning"
    PUBLISHING = "Publishing"
    REPLICATING = "Replicating"
    CAPTURING = "Capturing"
    WAITING_FOR_SNAPSHOTS = "WaitingForSnapshots"
    RESIZING = "Resizing"
    BELOW_TARGET = "BelowTarget"
    IMAGE_NOT_FOUND = "ImageNotFound"
    IMAGE_NOT_READY = "ImageNotReady"
    IMAGE_DELETING = "ImageDeleting"
    RECREATING = "Recreating"
    ADOPTING = "Adopting"
    IN_USE = "InUse"
    ANNOTATION = "Annotation"
    RESUMED = "Resumed"
    AZURE_ERROR = "AzureError"
    # --- events that report an action ----------------------------------------------------
    DELETING = "Deleting"
    PAUSED = "Paused"
    RETAINED = "Retained"
    SNAPSHOTTING = "Snapshotting"
    # --- worth a look ------------------------------------------------------------------
    NOT_RECOMMENDED = "NotRecommended"
    SHARED_IMAGE = "SharedImage"
    SNAPSHOT_RETAKEN = "SnapshotRetaken"
    AZURE_POOL_DISAPPEARED = "AzurePoolDisappeared"
    AZURE_IMAGE_DISAPPEARED = "AzureImageDisappeared"
    DELETION_BLOCKED = "DeletionBlocked"
    LEFT_IN_AZURE = "LeftInAzure"
    # --- a human must act --------------------------------------------------------------
    INVALID_SPEC = "InvalidSpec"
    IMMUTABLE_FIELD_CHANGED = "ImmutableFieldChanged"
    NOT_ALLOWED = "NotAllowed"
    CREDENTIAL_ERROR = "CredentialError"
    AZURE_AUTH_ERROR = "AzureAuthError"
    AZURE_REQUEST_REJECTED = "AzureRequestRejected"
    EXISTS_NOT_OWNED = "ExistsNotOwned"
    OWNED_BY_ANOTHER = "OwnedByAnother"
    LIMIT_EXCEEDED = "LimitExceeded"
    QUOTA_EXCEEDED = "QuotaExceeded"
    PROVISIONING_FAILED = "ProvisioningFailed"
    PUBLISH_BLOCKED = "PublishBlocked"
    IMAGE_MISSING = "ImageMissing"
    RESIZE_ATTEMPTS_EXHAUSTED = "ResizeAttemptsExhausted"
    RESIZE_STOPPED = "ResizeStopped"
    UNUSABLE_NODES = "UnusableNodes"
    SOURCE_INVALID = "SourceInvalid"
    SOURCE_NOT_FOUND = "SourceNotFound"
    SNAPSHOT_NOT_FOUND = "SnapshotNotFound"
    SNAPSHOT_FAILED = "SnapshotFailed"
    REGION_MISMATCH = "RegionMismatch"
    PURCHASE_PLAN = "PurchasePlan"
    UNMANAGED_DISKS = "UnmanagedDisks"
    EXTENSIONS_INSTALLED = "ExtensionsInstalled"
    OS_DISK_ENCRYPTED = "OsDiskEncrypted"
    BASE_IMAGE_NOT_MARKETPLACE = "BaseImageNotMarketplace"
    UNSUPPORTED_BASE_IMAGE = "UnsupportedBaseImage"


_ERROR_FROM = Reason.INVALID_SPEC
_WARNING = frozenset({Reason.NOT_RECOMMENDED, Reason.SHARED_IMAGE, Reason.SNAPSHOT_RETAKEN,
                      Reason.AZURE_POOL_DISAPPEARED, Reason.AZURE_IMAGE_DISAPPEARED,
                      Reason.DELETION_BLOCKED, Reason.LEFT_IN_AZURE, Reason.AZURE_ERROR})


def severity(reason: Reason) -> Severity:
    members = list(Reason)
    if members.index(reason) >= members.index(_ERROR_FROM):
        return Severity.ERROR
    return Severity.WARNING if reason in _WARNING else Severity.INFO


NEEDS_HUMAN = frozenset(r for r in Reason if severity(r) is Severity.ERROR)
