"""Built-in broken endpoints on 127.0.0.1, shipped like `trio.testing`: the test suite and `tlsdoctor demo`
start the very same servers.

    from tlsdoctor.testing import start_endpoint
    server = start_endpoint("expired")
    try:
        ...  # connect to server.host:server.port as server.servername, trusting server.ca_file
        assert diagnosis == server.expected
    finally:
        server.stop()
"""

from tlsdoctor.testing.base import FaultServer
from tlsdoctor.testing.certs import CertFiles, LeafSpec, Pki, shared_pki
from tlsdoctor.testing.endpoints import ENDPOINTS, EndpointSpec, running, start_endpoint
from tlsdoctor.testing.tlsservers import TlsServer

__all__ = [
    "ENDPOINTS",
    "CertFiles",
    "EndpointSpec",
    "FaultServer",
    "LeafSpec",
    "Pki",
    "TlsServer",
    "running",
    "shared_pki",
    "start_endpoint",
]
