"""The SeaweedFS test server, for the root tests: it lives in the test-only
package `seaweedfs_fixture` (tests/seaweedfs-fixture/), so that target-s3's
suite can load it on its own. The root conftest registers its fixtures."""

from seaweedfs_fixture import (
    PORT_FLAGS,
    Identity,
    S3FaultProxy,
    SeaweedFS,
    SeenRequest,
    free_ports,
    start_seaweedfs,
)

__all__ = [
    "PORT_FLAGS",
    "Identity",
    "S3FaultProxy",
    "SeaweedFS",
    "SeenRequest",
    "free_ports",
    "start_seaweedfs",
]
