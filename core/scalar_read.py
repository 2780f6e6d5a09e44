"""One value read from the database as a scalar subquery, which another statement can
carry: the request's key lookup (apikeys) reads, in its own statement, the values that
tell a view whether its cached answer is current (the registry's revision for
`GET /services`) and the address's failed authentications. One round trip instead of
one per value: under gunicorn's threads each query lets go of the GIL a few times, and a
thread that lets go of it waits for the others to hand it back."""

from typing import NamedTuple

from django.db import connection


def quoted(name: str) -> str:
    """A table or column name as standard SQL quotes it (double quotes), which both
    databases the service runs on (SQLite, PostgreSQL) read, without asking a database
    connection: a view's authenticator, and the reads it carries, are built by the
    schema generator too, where (in the image's build) no database is configured."""
    return '"' + name.replace('"', '""') + '"'


class ScalarRead(NamedTuple):
    sql: str  # a parenthesized subquery with one column and at most one row, e.g. "(SELECT token FROM t WHERE id = 1)"
    params: tuple = ()

    def value(self):
        """The value read on its own (None when the subquery finds no row)."""
        return read_together((self,))[0]


def read_together(reads) -> tuple:
    """The values of `reads`, in their order, from one statement (one round trip; plain
    SQL, no ORM compiling)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(read.sql for read in reads), [param for read in reads for param in read.params])
        return tuple(cursor.fetchone())
