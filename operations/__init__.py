"""A service operation as the assistants and MCP use it: its tool (tools.py), its
arguments checked and made safe (arguments.py), one call to it (calling.py), the
lexical ranking (ranking.py) and the scope of an interaction (scope.py)."""
