from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Search (Typesense)"

    def ready(self):
        from core.metrics import register_scrape_collector

        from .metrics import SyncBacklogCollector

        register_scrape_collector(SyncBacklogCollector())
