"""What an operation is about, in words, from its spec: its operationId, summary, path,
tags, description, inputs (names, descriptions, enum values), body fields, the fields of
its answer, and the aliases its spec declares (`x-ensemble-aliases`), each field with a
weight (a word in the operationId says more than one in the answer's fields). The
operations index (search_index.py) and the assistants' ranking read operations
through this one function, so both find an operation by the same words."""

from core.words import STOPWORDS, split_words

# How much a word says about the operation, by where the spec writes it.
WEIGHTS = {"operation_id": 3.0, "summary": 2.5, "path": 2.0, "aliases": 2.5, "tags": 1.0, "description": 1.0,
           "inputs": 0.6, "enums": 0.6, "answer": 0.3}


def _words(text: str) -> list[str]:
    return [w for w in split_words(text) if w not in STOPWORDS and len(w) > 1 and not w.isdigit()]


def operation_fields(op: dict) -> dict[str, list[str]]:
    """The operation's words by field (see WEIGHTS)."""
    inputs, enums = [], []
    for param in op.get("parameters", []):
        inputs += _words(param["name"]) + _words(param.get("description", ""))[:12]
        schema = param.get("schema") or {}
        enums += [w for value in (schema.get("enum") or (schema.get("items") or {}).get("enum") or [])[:30]
                  for w in _words(str(value))]
    body = (op.get("body") or {}).get("schema") or {}
    for name, sub in list((body.get("properties") or {}).items())[:40]:
        inputs += _words(name)
        enums += [w for value in ((sub or {}).get("enum") or [])[:30] for w in _words(str(value))]
    answer = []
    response = op.get("response") or {}
    for _ in range(3):  # the answer's fields, two levels down (through lists)
        while response.get("items"):
            response = response["items"]
        properties = response.get("properties") or {}
        answer += [w for name in list(properties)[:40] for w in _words(name)]
        response = next((sub for sub in properties.values() if isinstance(sub, dict) and (sub.get("properties") or sub.get("items"))), {})
    aliases = [w for word, others in (op.get("aliases") or {}).items() for w in _words(word) + _words(" ".join(others))]
    return {
        "operation_id": _words(op["operation_id"]),
        "summary": _words(op.get("summary", "")),
        "path": [w for segment in op["path"].split("/") if segment and not segment.startswith("{")
                 for w in _words(segment.split(".")[0])],
        "aliases": aliases,
        "tags": [w for tag in op.get("tags", []) for w in _words(tag)],
        "description": _words(op.get("description", ""))[:60],
        "inputs": inputs,
        "enums": enums,
        "answer": answer,
    }


def operation_terms(op: dict) -> dict[str, float]:
    """{word: weight}: each word's weight is that of the most telling field it is in,
    plus a little for each other field (a word in the name and the path says more)."""
    terms: dict[str, float] = {}
    for name, words in operation_fields(op).items():
        weight = WEIGHTS[name]
        for word in set(words):
            before = terms.get(word, 0.0)
            terms[word] = max(before, weight) + 0.2 * min(before, weight)
    return terms


def operation_text(op: dict) -> str:
    """The words of an operation as one text, the most telling first (for the index)."""
    fields = operation_fields(op)
    ordered = sorted(fields, key=lambda name: -WEIGHTS[name])
    seen, words = set(), []
    for name in ordered:
        for word in fields[name]:
            if word not in seen:
                seen.add(word)
                words.append(word)
    return " ".join(words)
