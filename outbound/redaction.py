"""Redaction of secrets from whatever a service sends back, in every form they take.

One function, `redact`, over the set of secret values a request carried (the API key,
the basic `user:password`, its base64 and the password alone, a bearer token, an OAuth
client secret, access and refresh tokens). Services echo what they received in many
shapes, so each value is matched with the usual transformations, alone and combined:

- URL and form encoding (`quote` with and without `/` kept, `quote_plus`);
- JSON string escaping, with `\\/` for `/` as Java and PHP write it, with non-ASCII as
  `\\uXXXX` or kept, and twice over (JSON text inside a JSON string);
- HTML escaping;
- any letter case (a service that lower-cases or upper-cases what it echoes, or the
  hex digits of a percent-encoding).

A value shorter than MIN_LENGTH characters is not redacted: replacing every "ab" of an
answer would destroy it, and such a value is not a secret worth the name.
"""

import html
import json
import re
from functools import lru_cache
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_LENGTH = 4


def _json_forms(text: str) -> set[str]:
    escaped = json.dumps(text)[1:-1]
    kept = json.dumps(text, ensure_ascii=False)[1:-1]
    return {escaped, kept, escaped.replace("/", "\\/"), kept.replace("/", "\\/")}


def secret_variants(value: str) -> set[str]:
    """`value` and its transformations, as they may appear in a service's answer."""
    if not value or len(value) < MIN_LENGTH:
        return set()
    # Case is matched by lower-casing both sides; the percent-encoding or \u escape of a
    # lower- or upper-cased non-ASCII letter is another string, so those start here too.
    encoded = set()
    for cased in {value, value.lower(), value.upper()}:
        encoded |= {cased, quote(cased, safe=""), quote(cased, safe="/"), quote_plus(cased), quote_plus(cased, safe="/")}
    forms = set(encoded)
    for form in encoded:
        for once in _json_forms(form):
            forms.add(once)
            forms.update(_json_forms(once))  # JSON text inside a JSON string
        forms.add(html.escape(form))
    return {form for form in forms if len(form) >= MIN_LENGTH}


@lru_cache(maxsize=64)
def _forms(values: frozenset[str]) -> tuple[str, ...]:
    """Every variant of every value, lower-cased (matching ignores case)."""
    forms = set()
    for value in values:
        forms |= {variant.lower() for variant in secret_variants(value)}
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, secrets) -> str:
    """`text` with every form of every value in `secrets` replaced by [redacted]
    (overlapping matches become one)."""
    if not text:
        return text
    forms = _forms(frozenset(s for s in secrets if s))
    if not forms:
        return text
    lowered = text.lower()
    if len(lowered) != len(text):  # a character whose lower case is longer (İ): match with a regex instead
        pattern = re.compile("|".join(re.escape(form) for form in forms), re.IGNORECASE)
        return pattern.sub(REDACTED, text)
    # str.find per form is C-speed; one case-insensitive alternation regex was 200x slower on 250 KB.
    spans = []
    for form in forms:
        start = lowered.find(form)
        while start != -1:
            spans.append((start, start + len(form)))
            start = lowered.find(form, start + 1)
    if not spans:
        return text
    spans.sort()
    parts, kept_until = [], 0
    merged_start, merged_end = spans[0]
    for begin, end in spans[1:]:
        if begin <= merged_end:
            merged_end = max(merged_end, end)
            continue
        parts += [text[kept_until:merged_start], REDACTED]
        kept_until, merged_start, merged_end = merged_end, begin, end
    parts += [text[kept_until:merged_start], REDACTED, text[merged_end:]]
    return "".join(parts)
