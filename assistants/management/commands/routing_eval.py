from django.core.management.base import BaseCommand

from assistants.evaluation import evaluate, format_table, read_cases
from operations.scope import assistant_scope


class Command(BaseCommand):
    help = "Runs a JSON-lines file of requests against the registered services (dry run: nothing is called)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        tools = assistant_scope().tools
        self.stdout.write(format_table(evaluate(read_cases(file), tools)))
