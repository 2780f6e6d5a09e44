"""The control room's words for an operation's policy, one wording wherever it shows
(the policy menus, the operations table, the playground)."""

from prompts.policies import ALLOWED, DISABLED, NEEDS_APPROVAL

POLICY_LABELS = {ALLOWED: "allowed", NEEDS_APPROVAL: "needs approval", DISABLED: "disabled"}
POLICY_CHOICES = list(POLICY_LABELS.items())


def policy_label(policy: str) -> str:
    return POLICY_LABELS.get(policy, policy)
