"""A three-node Typesense cluster, configured by TYPESENSE_URLS alone: the index stays
equal to the database when a node dies, through the nodes that remain."""

import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, TYPESENSE_KEY

sys.path.insert(0, str(ROOT / "scripts"))
import typesense_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _drain_until_empty(seconds: float):
    from search.models import SyncEntry
    from search.worker import Worker

    deadline = time.monotonic() + seconds
    while SyncEntry.objects.exists():
        assert time.monotonic() < deadline, list(SyncEntry.objects.values_list("object_id", "last_error")[:5])
        Worker().drain(max_seconds=10)
        time.sleep(0.3)


def test_a_three_node_cluster_keeps_the_index_when_a_node_dies(settings, tmp_path: Path):
    from registry import services
    from registry.search_index import SERVICES_INDEX
    from search.backend import TypesenseBackend
    from search.maintenance import compare_index
    from search.worker import Worker

    ports = []
    while len(ports) < 3:  # each node also peers on port + 1
        port = typesense_server.free_port_pair()
        if all(abs(port - other) > 1 for other in ports):
            ports.append(port)
    nodes = tmp_path / "nodes"
    nodes.write_text(",".join(f"127.0.0.1:{port + 1}:{port}" for port in ports))
    processes = [
        typesense_server.start(port=port, data_dir=tmp_path / f"node{i}", api_key=TYPESENSE_KEY, nodes_file=nodes, wait=False)
        for i, port in enumerate(ports)
    ]
    try:
        if not all(typesense_server.wait_healthy(port, 120) for port in ports):
            logs = {i: (tmp_path / f"node{i}" / "typesense.log").read_text(errors="replace")[-1500:] for i in range(3)}
            raise AssertionError(f"the cluster elected no leader; the nodes' logs end: {logs}")
        settings.TYPESENSE_URLS = [f"http://127.0.0.1:{port}" for port in ports]
        settings.TYPESENSE_COLLECTION_PREFIX = "cluster_"
        for i in range(20):
            services.service_register(id=f"before-{i:02d}", name="Before", description="", openapi_url="https://example.com/o.yml")
        _drain_until_empty(60)
        assert compare_index(SERVICES_INDEX).in_sync

        processes[0].kill()  # a node dies (perhaps the leader)
        processes[0].wait(timeout=30)
        for i in range(20):
            services.service_register(id=f"after-{i:02d}", name="After", description="", openapi_url="https://example.com/o.yml")
        for i in range(5):
            services.service_update(service_id=f"before-{i:02d}", name="Changed", description="", openapi_url="https://example.com/o.yml")
        for i in range(5, 8):
            services.service_delete(service_id=f"before-{i:02d}")
        _drain_until_empty(90)
        # What the worker's run_forever does once Typesense answers again after an outage
        # (a CI run once saw a delete missing on a survivor after the node died).
        Worker().repair("after an outage", only_if_counts_differ=False)
        _drain_until_empty(60)
        # Each survivor holds the same documents. Followers apply the leader's log
        # asynchronously, so each gets a moment to catch up.
        for port in ports[1:]:
            node = TypesenseBackend(urls=[f"http://127.0.0.1:{port}"], api_key=TYPESENSE_KEY, timeout=5, prefix="cluster_")
            deadline = time.monotonic() + 20
            report = compare_index(SERVICES_INDEX, backend=node)
            while not report.in_sync and time.monotonic() < deadline:
                time.sleep(0.5)
                report = compare_index(SERVICES_INDEX, backend=node)
            assert report.in_sync and report.in_index == 37, (port, report)
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=30)
