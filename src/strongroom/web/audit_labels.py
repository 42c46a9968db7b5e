"""Short, human labels for audit actions, as the access report and audit search show them.

The mapping lives in the audit domain (strongroom.audit.labels) because the chain-of-custody report
needs it too; the item and admin audit pages receive it as JSON in a `data-labels` attribute (no inline
script under our CSP) and fall back to the raw action only for an event newer than this code.
"""

from strongroom.audit.labels import ACTION_LABELS, action_label, labels_by_value

__all__ = ["ACTION_LABELS", "action_label", "labels_by_value"]
