from django.core.management.base import BaseCommand, CommandError

from assistants.evaluation import evaluate, format_table, format_totals, read_cases
from operations.scope import assistant_scope


class Command(BaseCommand):
    help = (
        "Runs JSON-lines files of requests ({\"input\", \"operation\"} or with a gold \"solution\" chain) through the "
        "offline assistant against the registered services, sending nothing: every call is answered as its spec "
        "describes. Prints each request's calls and, per file, the first call right, the whole chain right, wrong "
        "writes and requests where nothing was called."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--service", action="append", dest="services", metavar="SERVICE_ID",
                            help="Only these registered services (repeatable); default: all.")
        parser.add_argument("--totals", action="store_true", help="Only the totals line of each file.")

    def handle(self, *args, files, services, totals, **options):
        tools = assistant_scope(services).tools
        if not tools:
            raise CommandError("No registered service has a usable spec (manage.py refresh_specs fetches them).")
        for path in files:
            try:
                cases = read_cases(path)
            except (OSError, ValueError) as error:
                raise CommandError(f"{path}: {error}") from None
            rows = evaluate(cases, tools)
            self.stdout.write(f"== {path}")
            self.stdout.write(format_totals(rows) if totals else format_table(rows))
