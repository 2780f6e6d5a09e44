"""Query parameters are read and checked here, at the edge, with django-filter: one
FilterSet per list operation, its errors answered as the contract's 400 ErrorResponse."""

import django_filters
from django import forms
from rest_framework import serializers


def can_be_stored(value: str) -> bool:
    """No stored text holds a NUL character (PostgreSQL refuses one even in a comparison),
    so a query value with one matches nothing instead of reaching the database."""
    return "\x00" not in value


class StringListField(forms.Field):
    """Every value of a repeated query parameter (?tags=a&tags=b), as given."""

    widget = forms.SelectMultiple  # reads QueryDict.getlist, not only the last value

    def to_python(self, value):
        return [str(item) for item in value or []]


class AllOfFilter(django_filters.Filter):
    """Rows that match every one of the given values (a narrowing filter). Values are
    trimmed; blank values and repeats are ignored."""

    field_class = StringListField

    def filter(self, qs, value):
        values = list(dict.fromkeys(item.strip() for item in value or [] if item.strip()))
        if not all(can_be_stored(item) for item in values):
            return qs.none()
        for item in values:
            qs = qs.filter(**{self.field_name: item})
        return qs


class QueryFilterSet(django_filters.FilterSet):
    @classmethod
    def from_request(cls, request, queryset=None):
        """The FilterSet for this request's query string; a bad value is a 400."""
        filterset = cls(request.query_params, queryset=queryset, request=request)
        if not filterset.is_valid():
            raise serializers.ValidationError(filterset.errors)
        return filterset
