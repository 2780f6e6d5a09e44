from django.core.management.base import BaseCommand

from interactions.assistants.evaluation import evaluate, format_table, read_cases
from interactions.services import _services_in_scope
from interactions.tools import build_tools


class Command(BaseCommand):
    help = "Runs a JSON-lines file of requests against the registered services (dry run: nothing is called)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        tools = build_tools(_services_in_scope())
        self.stdout.write(format_table(evaluate(read_cases(file), tools)))
