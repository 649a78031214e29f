"""A local OTLP/HTTP trace receiver for tests: the collector's side of `POST /v1/traces`, decoding each
ExportTraceServiceRequest with opentelemetry-proto and keeping its spans."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

TRACES_PATH = "/v1/traces"


@dataclass
class Received:
    """Spans received so far, with the service.name of the resource each came with."""

    spans: list[tuple[str, Span]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
        with self.arrived:
            return self.arrived.wait_for(lambda: predicate(self.spans), timeout=timeout)


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, Received]]:
    """Yields the receiver's base URL (what OTEL_EXPORTER_OTLP_ENDPOINT is set to) and what it got."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != TRACES_PATH:
                self.send_error(404)
                return
            request = ExportTraceServiceRequest.FromString(body)
            with received.arrived:
                for resource_spans in request.resource_spans:
                    attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                    service = attributes.get("service.name", "")
                    for scope_spans in resource_spans.scope_spans:
                        received.spans.extend((service, span) for span in scope_spans.spans)
                received.arrived.notify_all()
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
