import json

from django.core.management.base import BaseCommand, CommandError

from outbound.http import OutboundError
from prompts.checking import spec_check
from prompts.parsing import SpecError


class Command(BaseCommand):
    # It reads one document and touches no model or URL: the system checks (which import
    # the URLconf and every view) would be most of its run time.
    requires_system_checks = []
    help = ("Parse an OpenAPI document (file or URL) the way registration does and print its version, "
            "operations, warnings and prompt size in tokens.")

    def add_arguments(self, parser):
        parser.add_argument("source", help="A file path or an http(s) URL.")
        parser.add_argument("--json", dest="as_json", action="store_true", help="One JSON object instead of text.")

    def handle(self, *args, source, as_json: bool, **options):
        try:
            report = spec_check(source)
        except (SpecError, OSError) as error:
            raise CommandError(f"{source}: {error}") from None
        except OutboundError as error:
            raise CommandError(f"{source}: {error.message}") from None
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{report.title} {report.api_version} ({report.spec_version})")
        self.stdout.write(f"Base URL: {report.base_url or '-'}")
        self.stdout.write(f"{len(report.operations)} operations:")
        for op in report.operations:
            self.stdout.write(f"  {op['method']:7} {op['path']}  {op['operation_id']}")
        self.stdout.write(f"{len(report.warnings)} warnings:")
        for warning in report.warnings:
            self.stdout.write(f"  {warning}")
        self.stdout.write(f"Prompt: about {report.prompt_tokens} tokens")

