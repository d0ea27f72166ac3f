"""``tlsdoctor exporter``: Prometheus scrapes a diagnosis (blackbox_exporter's multi-target pattern).

modules.py   the ``--config`` modules: the library API's keyword arguments, validated at start-up
paths.py     one target's diagnosis: the fast path (one handshake), then the full playbook
probe.py     one probe: the scrape's deadline, sharing between probes, the recent probes
metrics.py   a probe's answer in the Prometheus text format; the exporter's own metrics
page.py      ``/``: the recent probes, linked to their HTML reports
server.py    the aiohttp application: ``/probe``, ``/metrics``, ``/``, ``/report``
"""
