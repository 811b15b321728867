"""Singer output: msgspec serialization, flushed per batch instead of per record."""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage
from singer_sdk.singerlib.encoding.simple import Message
from typing_extensions import override


class BufferedMsgSpecWriter(MsgSpecWriter):
    """Like the SDK's MsgSpecWriter, without a flush (a syscall) after every RECORD.

    Every other message (SCHEMA, STATE, ACTIVATE_VERSION) still flushes, so the
    target never waits on a state or version that sits in our buffer.
    """

    @override
    def write_message(self, message: Message) -> None:
        """Write one message; flush unless it is a record."""
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
