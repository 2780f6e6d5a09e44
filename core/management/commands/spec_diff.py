from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.contract import diff, generated_schema, load_spec, reference_problems


class Command(BaseCommand):
    help = "Show where the code's generated schema differs from openapi3_1.yml (and, with --reference, the reference contract)."

    def add_arguments(self, parser):
        parser.add_argument("--reference", type=Path, help="Also check compatibility with this reference contract.")

    def handle(self, *args, reference, **options):
        problems = diff(load_spec(), generated_schema())
        for line in problems:
            self.stdout.write(line)
        if reference:
            ref_problems = reference_problems(load_spec(reference), load_spec())
            for line in ref_problems:
                self.stdout.write(f"reference: {line}")
            problems += ref_problems
        if problems:
            raise CommandError(f"{len(problems)} difference(s).")
        self.stdout.write("openapi3_1.yml and the code agree.")
