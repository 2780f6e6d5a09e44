from django.core.management.base import BaseCommand, CommandError

from search.backend import SearchError
from search.maintenance import rebuild_index, resync_index

from ._common import selected_indexes


class Command(BaseCommand):
    help = "Rebuild Typesense from the database (all indexes, or --index NAME ...)."

    def add_arguments(self, parser):
        parser.add_argument("--index", "--collection", dest="index", action="append", help="Index name (repeatable).")
        parser.add_argument("--rebuild", action="store_true", help="Build a new collection and swap the alias.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, index, rebuild, batch_size, **options):
        run = rebuild_index if rebuild else resync_index
        for definition in selected_indexes(index):
            def progress(report):
                self.stdout.write(f"  {report.index}: {report.documents} documents copied")
                self.stdout.flush()

            try:
                report = run(definition, batch_size=batch_size, progress=progress)
            except SearchError as error:
                raise CommandError(f"{definition.name}: {error}") from error
            self.stdout.write(
                f"{report.index} -> {report.collection}: {report.documents} copied, {report.failed} failed, "
                f"{report.removed} removed, {report.requeued} requeued in {report.seconds:.1f}s"
            )
            if report.failed:
                raise CommandError(f"{report.failed} documents were rejected: {'; '.join(report.errors[:3])}")
