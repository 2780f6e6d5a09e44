import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from interactions.selectors import logs_for_export


def _moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not an ISO 8601 date or time (e.g. 2026-11-01 or 2026-11-01T12:00Z).") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Export interaction logs as JSON lines (one log per line, oldest first), with their service calls."

    def add_arguments(self, parser):
        parser.add_argument("--since", type=_moment, help="Only logs created at or after this time (UTC if no zone).")
        parser.add_argument("--until", type=_moment, help="Only logs created before this time.")
        parser.add_argument("--output", "-o", default="-", help="File to write (default: standard output).")

    def handle(self, *args, since, until, output, **options):
        stream = self.stdout if output == "-" else open(output, "w", encoding="utf-8")
        count = 0
        try:
            for entry in logs_for_export(since=since, until=until):
                stream.write(json.dumps(entry, ensure_ascii=False) + "\n")
                count += 1
        finally:
            if stream is not self.stdout:
                stream.close()
        self.stderr.write(f"Exported {count} log(s).")
