"""Reading a plain request: which operation it asks for, and the inputs it gives.

Generic rules over the spec, not over example sentences: operationIds split from
camelCase, path words, light stemming, a verb table that maps words to an operation
kind (get, list, create, update, delete), entity words followed by an id ("character
42", "script 3.", "#7"), ranges ("sequences 10 to 20"), quoted text, "named X",
"called X", "titled X", "by AUTHOR", `name=value`, and comment- or reason-like fields
filled from the request itself when the spec describes them that way.

The package reads in three steps: `reading` (the request and the operations, in the
words of `words`), `arguments` (the inputs an operation would get) and `choosing` (the
operation, or nothing).
"""

from .arguments import Filled, fill_arguments
from .choosing import Choice, Readers, choose, score_operation
from .reading import Request, mark_head, operation_words, read_request

__all__ = ["Choice", "Filled", "Readers", "Request", "choose", "fill_arguments", "mark_head", "operation_words",
           "read_request", "score_operation"]
