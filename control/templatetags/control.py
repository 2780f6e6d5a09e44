from django import template

from ..selectors import overview

register = template.Library()


@register.simple_tag
def control_overview(user):
    """The control room's overview for the admin index, the parts `user` may see (a fixed
    number of queries)."""
    return overview(user)
