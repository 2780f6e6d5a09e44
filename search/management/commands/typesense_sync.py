import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from prometheus_client import start_http_server

from search.worker import Worker


class Command(BaseCommand):
    help = "Deliver the Typesense outbox: forever (a worker process) or --once (cron, tests)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Drain what is due, then exit.")
        parser.add_argument("--max-seconds", type=float, default=None, help="With --once: stop after this long.")
        parser.add_argument("--batch-size", type=int, default=None)
        parser.add_argument("--poll-seconds", type=float, default=0.5)
        parser.add_argument(
            "--metrics-address", default=settings.ENSEMBLE_WORKER_METRICS_ADDRESS,
            help="host:port to serve this worker's Prometheus metrics on (deliveries, repairs); "
                 "default ENSEMBLE_WORKER_METRICS_ADDRESS, empty = none. Bind it to a private address.",
        )

    def handle(self, *args, once, max_seconds, batch_size, poll_seconds, metrics_address, **options):
        worker = Worker(batch_size=batch_size)
        if metrics_address and not once:
            host, _, port = metrics_address.rpartition(":")
            if not port.isdigit():
                raise CommandError(f"--metrics-address {metrics_address!r} is not host:port.")
            start_http_server(int(port), addr=host or "127.0.0.1")
        if once:
            result = worker.drain(max_seconds=max_seconds)
            self.stdout.write(
                f"claimed={result.claimed} delivered={result.delivered} failed={result.failed} "
                f"requeued={result.requeued} typesense_unavailable={result.unavailable}"
            )
            return
        stopping = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stopping.append(True))
        self.stdout.write(f"{worker.name}: delivering the outbox (batch {worker.batch_size}); Ctrl-C stops.")
        self.stdout.flush()

        def report(step):
            if step.delivered or step.failed:
                self.stdout.write(f"delivered={step.delivered} failed={step.failed} requeued={step.requeued}")
                self.stdout.flush()

        worker.run_forever(poll_seconds=poll_seconds, stop=lambda: bool(stopping), on_step=report)
