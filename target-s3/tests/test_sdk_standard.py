"""The Singer SDK's standard target tests, against a local lake."""

from __future__ import annotations

import atexit
import shutil
import tempfile

from singer_sdk.testing import get_target_test_class
from target_s3.target import TargetS3

# The standard suite takes its config at class creation, before fixtures exist.
_LAKE = tempfile.mkdtemp(prefix="target-s3-sdk-tests-")
atexit.register(shutil.rmtree, _LAKE, ignore_errors=True)

TestTargetS3Standard = get_target_test_class(
    TargetS3, config={"local_path": _LAKE, "prefix": "raw"}
)
