"""Reading a Prometheus exposition back, for the tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name`` with ``labels`` (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0


def families(text: str) -> set[str]:
    """The names of the metric families in an exposition (counters without ``_total``)."""
    return {family.name for family in text_string_to_metric_families(text)}
