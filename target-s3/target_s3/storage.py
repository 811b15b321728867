"""Where the raw layer lives: a local directory (dev default) or an S3 bucket.

Both implementations offer the same few operations the sink, the manifest and
the lake lock need: put a finished batch file (invisible until listed), tag
files through their lifecycle (tags as target_s3.lake names them), and
compare-and-swap writes and deletes; the vacuum lists objects with their
creation times and deletes; readers of the lake (the run summary) also list
keys and write a plain document.
Every S3 failure surfaces as one StorageError line naming the bucket or key.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from typing_extensions import override

from target_s3.lake import STATUS_TAG, STATUS_TEMP, Status, status_tagging

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# S3 answers a failed precondition with 412; a racing conditional write with 409.
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_MISSING_CODES = {"NoSuchKey", "404"}

T = TypeVar("T")


class StorageError(Exception):
    """A storage problem that the user must fix (bucket, credentials, permissions)."""


@dataclass(frozen=True)
class Versioned:
    """A stored object's body and the token a conditional write must match."""

    body: bytes
    token: str


@dataclass(frozen=True)
class StoredObject:
    """A stored object's key and when it was written (S3 `LastModified`, a file's mtime)."""

    key: str
    written: dt.datetime


class Storage(abc.ABC):
    """The lake root: keys are '/'-separated paths relative to it."""

    @abc.abstractmethod
    def check(self, probe_key: str) -> None:
        """Fail fast (StorageError) when the lake cannot be written."""

    @abc.abstractmethod
    def put_file(self, key: str, source: IO[bytes]) -> None:
        """Store a finished file under `key`, still marked temporary (invisible)."""

    @abc.abstractmethod
    def set_status(self, keys: Sequence[str], status: Status) -> list[str]:
        """Tag files with a status (the bucket's lifecycle rules act on `temp`).

        Idempotent. Returns the keys that no longer exist (nothing left to tag).
        """

    def list_keys(self, prefix: str) -> list[str]:
        """The keys of the stored objects that start with `prefix`, sorted."""
        return [stored.key for stored in self.list_objects(prefix)]

    @abc.abstractmethod
    def list_objects(self, prefix: str) -> list[StoredObject]:
        """The stored objects whose keys start with `prefix`, sorted by key."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete an object; one already gone is no error (the vacuum only)."""

    @abc.abstractmethod
    def write(self, key: str, body: bytes) -> None:
        """Store a JSON document as it is, visible at once (never a batch file)."""

    @abc.abstractmethod
    def read(self, key: str) -> Versioned | None:
        """Read an object with its version token, or None when absent."""

    @abc.abstractmethod
    def write_if(self, key: str, body: bytes, expected: str | None) -> str | None:
        """Write `body` only if the object is unchanged since `expected` was read.

        `expected=None` means "only if it does not exist yet". Returns the new
        version token, or None when another writer got there first (the caller
        re-reads and retries).
        """

    @abc.abstractmethod
    def delete_if(self, key: str, expected: str) -> bool:
        """Delete the object only if it is still version `expected`; False otherwise."""

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

    @override
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

    def _replace(self, key: str, write: Any, *, create_only: bool = False) -> bool:
        """Write a temp file, then move it into place; False if `create_only` and taken."""
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(f"{_TEMP_MARK}{final.name}.{uuid.uuid4().hex}.tmp")
        try:
            with temp.open("wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            if create_only:
                try:
                    os.link(temp, final)  # atomic and exclusive, like O_EXCL, with content
                except FileExistsError:
                    return False
            else:
                os.replace(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        _fsync_dir(final.parent)
        return True

    @override
    def put_file(self, key: str, source: IO[bytes]) -> None:
        self._replace(key, lambda out: shutil.copyfileobj(source, out, 1 << 20))

    @override
    def set_status(self, keys: Sequence[str], status: Status) -> list[str]:
        """Local files carry no tags: visibility is the manifest alone."""
        return [key for key in keys if not self.path(key).is_file()]

    @override
    def list_objects(self, prefix: str) -> list[StoredObject]:
        """Files being written (hidden temp names) are not listed, as on S3."""
        folder = self.path(prefix.rsplit("/", 1)[0]) if "/" in prefix else self.root
        if not folder.is_dir():
            return []
        found = []
        for path in folder.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if path.name.startswith(_TEMP_MARK) or not key.startswith(prefix):
                continue
            try:
                if not path.is_file():
                    continue
                written = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
            except FileNotFoundError:
                continue  # deleted since the listing
            found.append(StoredObject(key, written))
        return sorted(found, key=lambda stored: stored.key)

    @override
    def delete(self, key: str) -> None:
        path = self.path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    @override
    def write(self, key: str, body: bytes) -> None:
        self._replace(key, lambda out: out.write(body))

    @override
    def read(self, key: str) -> Versioned | None:
        try:
            body = self.path(key).read_bytes()
        except FileNotFoundError:
            return None
        return Versioned(body, _sha256(body))

    @override
    def write_if(self, key: str, body: bytes, expected: str | None) -> str | None:
        """Create exclusively; an update is atomic only inside `exclusive(key)`."""
        if expected is None:
            created = self._replace(key, lambda out: out.write(body), create_only=True)
            return _sha256(body) if created else None
        current = self.read(key)
        if current is None or current.token != expected:
            return None
        self._replace(key, lambda out: out.write(body))
        return _sha256(body)

    @override
    def delete_if(self, key: str, expected: str) -> bool:
        """Atomic only inside `exclusive(key)`, like an update."""
        current = self.read(key)
        if current is None or current.token != expected:
            return False
        self.path(key).unlink()
        _fsync_dir(self.path(key).parent)
        return True

    @contextlib.contextmanager
    @override
    def exclusive(self, key: str) -> Iterator[None]:
        """An flock on the key's folder: no lock file is ever left in the lake."""
        folder = self.path(key).parent
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the flock

    @override
    def describe(self, key: str) -> str:
        return str(self.path(key))


_TEMP_MARK = "."  # a file being written is hidden until it is renamed into place


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


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

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> S3Settings:
        """From target-s3's settings (empty strings mean unset; no bucket: a local lake)."""
        return cls(
            bucket=config.get("bucket") or "",
            endpoint_url=config.get("endpoint_url") or None,
            region=config.get("region") or None,
            access_key_id=config.get("aws_access_key_id") or None,
            secret_access_key=config.get("aws_secret_access_key") or None,
            session_token=config.get("aws_session_token") or None,
            max_retries=int(config.get("max_retries", 5)),
        )


class S3Storage(Storage):
    """An S3 bucket; objects carry a `status` tag that the lifecycle rules act on."""

    def __init__(self, settings: S3Settings, client: S3Client | None = None) -> None:
        self.bucket = settings.bucket
        self.max_retries = settings.max_retries
        self.client = client or make_s3_client(settings)

    @override
    def check(self, probe_key: str) -> None:
        with self._failures(probe_key):
            self.client.head_bucket(Bucket=self.bucket)
            # head_bucket passes for read-only identities: prove we may write and tag.
            self.client.put_object(
                Bucket=self.bucket, Key=probe_key, Body=b"", Tagging=status_tagging(STATUS_TEMP)
            )
            self.client.delete_object(Bucket=self.bucket, Key=probe_key)

    @contextlib.contextmanager
    def _failures(self, key: str) -> Iterator[None]:
        """Turn whatever S3 or the network did into one StorageError line naming the key."""
        try:
            yield
        except NoCredentialsError as exc:
            raise StorageError(
                "no AWS credentials found: set aws_access_key_id/aws_secret_access_key "
                "or configure the AWS credential chain"
            ) from exc
        except ClientError as exc:
            raise StorageError(self._explain(exc, key)) from exc
        except S3UploadFailedError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError):
                raise StorageError(self._explain(cause, key)) from exc
            raise StorageError(f"upload to {self.describe(key)} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(
                f"cannot reach S3 for {self.describe(key)} (gave up after {self._retries}): {exc}"
            ) from exc

    @property
    def _retries(self) -> str:
        return f"{self.max_retries} {'retry' if self.max_retries == 1 else 'retries'}"

    def _explain(self, exc: ClientError, key: str) -> str:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        operation = exc.operation_name
        if code in {"404", "NoSuchBucket"}:
            return f"bucket '{self.bucket}' does not exist"
        if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}:
            return f"S3 rejected the credentials for bucket '{self.bucket}' ({code})"
        if code in {"403", "AccessDenied", "Forbidden"}:
            return (
                f"access denied ({code}) on {self.describe(key)} during {operation}: "
                "check that the credentials may read, write and tag objects there"
            )
        if exc.response.get("ResponseMetadata", {}).get("MaxAttemptsReached"):
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return (
                f"S3 kept failing for {self.describe(key)} during {operation} "
                f"({code}, HTTP {status}; gave up after {self._retries})"
            )
        return f"S3 error {code} on {self.describe(key)} during {operation}"

    @override
    def put_file(self, key: str, source: IO[bytes]) -> None:
        with self._failures(key):
            self.client.upload_fileobj(
                source, self.bucket, key, ExtraArgs={"Tagging": status_tagging(STATUS_TEMP)}
            )

    @override
    def set_status(self, keys: Sequence[str], status: Status) -> list[str]:
        missing = []
        for key in keys:
            tag = functools.partial(
                self.client.put_object_tagging,
                Bucket=self.bucket,
                Key=key,
                Tagging={"TagSet": [{"Key": STATUS_TAG, "Value": status}]},
            )
            with self._failures(key):
                if self._tolerating(_MISSING_CODES, tag) is None:
                    missing.append(key)
        return missing

    @override
    def list_objects(self, prefix: str) -> list[StoredObject]:
        with self._failures(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            found = [
                StoredObject(item["Key"], item["LastModified"].astimezone(dt.UTC))
                for page in pages
                for item in page.get("Contents", [])
            ]
            return sorted(found, key=lambda stored: stored.key)

    @override
    def delete(self, key: str) -> None:
        with self._failures(key):
            self.client.delete_object(Bucket=self.bucket, Key=key)  # absent: S3 answers 204

    @override
    def write(self, key: str, body: bytes) -> None:
        with self._failures(key):
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType="application/json"
            )

    @override
    def read(self, key: str) -> Versioned | None:
        with self._failures(key):
            response = self._tolerating(
                _MISSING_CODES, lambda: self.client.get_object(Bucket=self.bucket, Key=key)
            )
            if response is None:
                return None
            return Versioned(response["Body"].read(), response["ETag"])

    @override
    def write_if(self, key: str, body: bytes, expected: str | None) -> str | None:
        condition = {"IfNoneMatch": "*"} if expected is None else {"IfMatch": expected}
        # An update of an object deleted meanwhile is a conflict too.
        tolerated = _CONFLICT_CODES if expected is None else _CONFLICT_CODES | {"NoSuchKey"}
        with self._failures(key):
            response = self._tolerating(
                tolerated,
                lambda: self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/json",
                    **condition,  # type: ignore[arg-type]  # IfMatch or IfNoneMatch: boto3-stubs cannot type a dict of either
                ),
            )
            return None if response is None else response["ETag"]

    @override
    def delete_if(self, key: str, expected: str) -> bool:
        with self._failures(key):
            deleted = self._tolerating(
                _CONFLICT_CODES | _MISSING_CODES,
                lambda: self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=expected),
            )
            return deleted is not None

    @staticmethod
    def _tolerating(codes: set[str], call: Callable[[], T]) -> T | None:
        """`call()`, or None when S3 answers with one of the expected error `codes`."""
        try:
            return call()
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in codes:
                return None
            raise

    @override
    def describe(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def open_storage(config: Mapping[str, Any]) -> Storage:
    """The lake target-s3's settings name: the bucket, or else the local directory."""
    if not config.get("bucket"):
        return LocalStorage(Path(config["local_path"]).resolve())
    return S3Storage(S3Settings.from_config(config))


def make_s3_client(settings: S3Settings) -> S3Client:
    """A boto3 client with bounded retries (standard mode backs off on throttling).

    botocore's `max_attempts` counts retries, not attempts; `total_max_attempts`
    counts the first try too, so `max_retries` retries are exactly
    `max_retries + 1` attempts.
    """
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
            retries={"total_max_attempts": settings.max_retries + 1, "mode": "standard"},
            s3={"addressing_style": "path"} if settings.endpoint_url else None,
            connect_timeout=10,
            read_timeout=60,
        ),
    )
