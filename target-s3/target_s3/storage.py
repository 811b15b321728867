"""Where the raw layer lives: a local directory (dev default) or an S3 bucket.

Both implementations offer the same few operations the sink and the manifest
need: put a finished batch file (invisible until listed), tag files through
their lifecycle, and a compare-and-swap write for the manifest.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

STATUS_TEMP = "temp"
STATUS_FINAL = "final"
STATUS_OUTDATED = "outdated"

# S3 answers a failed precondition with 412; a racing conditional write with 409.
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class StorageError(Exception):
    """A storage problem that the user must fix (bucket, credentials, permissions)."""


@dataclass(frozen=True)
class Versioned:
    """A stored object's body and the token a conditional write must match."""

    body: bytes
    token: str


class Storage(abc.ABC):
    """The lake root: keys are '/'-separated paths relative to it."""

    @abc.abstractmethod
    def check(self, probe_key: str) -> None:
        """Fail fast (StorageError) when the lake cannot be written."""

    @abc.abstractmethod
    def put_file(self, key: str, source: IO[bytes]) -> None:
        """Store a finished file under `key`, still marked temporary (invisible)."""

    @abc.abstractmethod
    def set_status(self, keys: Sequence[str], status: str) -> list[str]:
        """Mark files `final` or `outdated` (drives the bucket lifecycle rules).

        Idempotent. Returns the keys that no longer exist (nothing left to tag).
        """

    @abc.abstractmethod
    def read(self, key: str) -> Versioned | None:
        """Read an object with its version token, or None when absent."""

    @abc.abstractmethod
    def write_if(self, key: str, body: bytes, expected: str | None) -> bool:
        """Write `body` only if the object is unchanged since `expected` was read.

        `expected=None` means "only if it does not exist yet". Returns False when
        another writer got there first (the caller re-reads and retries).
        """

    @contextlib.contextmanager
    def exclusive(self, key: str) -> Iterator[None]:
        """Serialize read-modify-write cycles on `key` where the store allows it."""
        yield

    @abc.abstractmethod
    def describe(self, key: str) -> str:
        """A human-readable location for logs (never contains credentials)."""


class LocalStorage(Storage):
    """A directory tree; a file is written under a temporary name then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def check(self, probe_key: str) -> None:
        probe = self.path(probe_key)
        try:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise StorageError(
                f"local_path '{self.root}' is not writable: {exc.strerror or exc}"
            ) from exc

    def _replace(self, key: str, write: Any) -> None:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        try:
            with temp.open("wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(final.parent)

    def put_file(self, key: str, source: IO[bytes]) -> None:
        self._replace(key, lambda out: shutil.copyfileobj(source, out, 1 << 20))

    def set_status(self, keys: Sequence[str], status: str) -> list[str]:
        """Local files carry no tags: visibility is the manifest alone."""
        return [key for key in keys if not self.path(key).is_file()]

    def read(self, key: str) -> Versioned | None:
        try:
            body = self.path(key).read_bytes()
        except FileNotFoundError:
            return None
        return Versioned(body, hashlib.sha256(body).hexdigest())

    def write_if(self, key: str, body: bytes, expected: str | None) -> bool:
        current = self.read(key)
        if (current.token if current else None) != expected:
            return False
        self._replace(key, lambda out: out.write(body))
        return True

    @contextlib.contextmanager
    def exclusive(self, key: str) -> Iterator[None]:
        lock_path = self.path(key).with_name(self.path(key).name + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def describe(self, key: str) -> str:
        return str(self.path(key))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class S3Settings:
    """Connection settings; secrets stay in here and never reach a log line."""

    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    max_retries: int = 5


class S3Storage(Storage):
    """An S3 bucket; objects carry a `status` tag that the lifecycle rules act on."""

    def __init__(self, settings: S3Settings, client: S3Client | None = None) -> None:
        self.bucket = settings.bucket
        self.client = client or make_s3_client(settings)

    def check(self, probe_key: str) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            # head_bucket passes for read-only identities: prove we may write and tag.
            self.client.put_object(
                Bucket=self.bucket, Key=probe_key, Body=b"", Tagging=f"status={STATUS_TEMP}"
            )
            self.client.delete_object(Bucket=self.bucket, Key=probe_key)
        except NoCredentialsError as exc:
            raise StorageError(
                "no AWS credentials found: set aws_access_key_id/aws_secret_access_key "
                "or configure the AWS credential chain"
            ) from exc
        except ClientError as exc:
            raise StorageError(self._explain(exc)) from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot reach S3 for bucket '{self.bucket}': {exc}") from exc

    def _explain(self, exc: ClientError) -> str:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        operation = exc.operation_name
        if code in {"404", "NoSuchBucket"}:
            return f"bucket '{self.bucket}' does not exist"
        if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}:
            return f"S3 rejected the credentials for bucket '{self.bucket}' ({code})"
        if code in {"403", "AccessDenied", "Forbidden"}:
            return (
                f"access denied on bucket '{self.bucket}' during {operation}: "
                "check the credentials and that they may read, write and tag objects"
            )
        return f"S3 error on bucket '{self.bucket}' during {operation}: {code}"

    def put_file(self, key: str, source: IO[bytes]) -> None:
        self.client.upload_fileobj(
            source, self.bucket, key, ExtraArgs={"Tagging": f"status={STATUS_TEMP}"}
        )

    def set_status(self, keys: Sequence[str], status: str) -> list[str]:
        missing = []
        for key in keys:
            try:
                self.client.put_object_tagging(
                    Bucket=self.bucket,
                    Key=key,
                    Tagging={"TagSet": [{"Key": "status", "Value": status}]},
                )
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) not in {"NoSuchKey", "404"}:
                    raise
                missing.append(key)
        return missing

    def read(self, key: str) -> Versioned | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in {"NoSuchKey", "404"}:
                return None
            raise
        return Versioned(response["Body"].read(), response["ETag"])

    def write_if(self, key: str, body: bytes, expected: str | None) -> bool:
        condition = {"IfNoneMatch": "*"} if expected is None else {"IfMatch": expected}
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                **condition,  # type: ignore[arg-type]  # IfMatch or IfNoneMatch: boto3-stubs cannot type a dict of either
            )
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in _CONFLICT_CODES:
                return False
            raise
        return True

    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def make_s3_client(settings: S3Settings) -> S3Client:
    """A boto3 client with bounded retries (standard mode backs off on throttling)."""
    session = boto3.session.Session(
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        aws_session_token=settings.session_token,
        region_name=settings.region,
    )
    return session.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        config=Config(
            retries={"max_attempts": settings.max_retries + 1, "mode": "standard"},
            s3={"addressing_style": "path"} if settings.endpoint_url else None,
            connect_timeout=10,
            read_timeout=60,
        ),
    )
