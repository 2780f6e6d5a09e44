from django import template

from ..selectors import overview

register = template.Library()


@register.simple_tag
def control_overview():
    """The control room's overview for the admin index (a fixed number of queries)."""
    return overview()
