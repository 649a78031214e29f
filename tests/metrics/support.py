"""Reading /metrics: every sample of the Prometheus text, by name and labels."""

from __future__ import annotations

# First: it sets PROMETHEUS_MULTIPROC_DIR, which prometheus-client reads once, when first imported.
from core.metrics import DIRECTORY  # isort: skip  # noqa: I001
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 when the series does not exist (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    return [dict(labels) for (sample_name, labels) in samples if sample_name == name]


def process_samples() -> Samples:
    """What /metrics would show of the samples in this process's directory (the test process's)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(DIRECTORY))
    return parse(generate_latest(registry).decode())
