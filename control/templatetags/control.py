from django import template

from core import admin_display

from .. import labels
from ..selectors import overview

register = template.Library()


@register.simple_tag
def control_overview(user):
    """The control room's overview for the admin index, the parts `user` may see (a fixed
    number of queries)."""
    return overview(user)


@register.filter
def policy_label(policy):
    """allowed / needs approval / disabled: the one wording of a policy."""
    return labels.policy_label(policy)


@register.filter
def json_block(value):
    """The value (or a string holding JSON) pretty-printed in a block that scrolls."""
    return admin_display.json_block(value)


@register.filter
def breakable(text):
    """A path or URL that may wrap after each '/' in a narrow column."""
    return admin_display.breakable(str(text))
