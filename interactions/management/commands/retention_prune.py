from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apikeys.ratelimit import rate_limit_prune
from interactions.selectors import logs_prunable
from interactions.services import logs_prune


class Command(BaseCommand):
    help = (
        "Apply the retention policy: delete interaction logs older than ENSEMBLE_LOG_RETENTION_DAYS "
        "(or --days), and whole conversations whose latest turn is older, with their Typesense documents (through the sync worker), and expired "
        "rate-limit counters. Run it daily (cron, a scheduled job); export first if you keep archives."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="Keep this many days of logs (default: the setting).")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args, days, dry_run, **options):
        days = settings.ENSEMBLE_LOG_RETENTION_DAYS if days is None else days
        if days is None or days <= 0:
            raise CommandError("No retention period: set ENSEMBLE_LOG_RETENTION_DAYS or pass --days N (N ≥ 1).")
        cutoff = timezone.now() - timedelta(days=days)
        if dry_run:
            count = logs_prunable(older_than=cutoff).count()
            self.stdout.write(f"{count} log(s) older than {cutoff:%Y-%m-%d %H:%M} UTC would be deleted.")
            return
        deleted = logs_prune(older_than=cutoff)
        counters = rate_limit_prune()
        self.stdout.write(
            f"Deleted {deleted} log(s) older than {cutoff:%Y-%m-%d %H:%M} UTC and {counters} expired rate-limit counter(s)."
        )
