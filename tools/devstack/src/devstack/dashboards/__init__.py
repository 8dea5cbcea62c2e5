"""The chart's Grafana dashboards, written as code (grafana-foundation-sdk).

``catalogue`` says what each dashboard shows (pure data: titles, PromQL, units, and which panels
stay empty until something goes wrong); ``render`` turns it into the JSON files the chart ships
in ``charts/tds/files/dashboards``. ``make dashboards`` regenerates them; a unit test fails when
the committed files differ from what the code generates, and an end-to-end test runs every
panel's query against a real Prometheus scraping the stack.
"""
