"""Reading an exec's multiplexed output: frames split anyhow, truncated streams, UTF-8 across frames."""
from __future__ import annotations

import io

from harness.nodes.execstream import HEADER, STDERR, STDOUT, collect, frames


def frame(kind: int, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


class Trickle(io.RawIOBase):
    """A response body that hands out at most `step` bytes per read, like a slow socket."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step = data, step

    def read(self, size: int = -1) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


STREAM = frame(STDOUT, b"644\n") + frame(STDERR, b"warning\n") + frame(STDOUT, b"") \
    + frame(STDOUT, b"done\n")


def test_frames_whole_or_trickled_give_the_same_payloads():
    expected = [(STDOUT, b"644\n"), (STDERR, b"warning\n"), (STDOUT, b""), (STDOUT, b"done\n")]
    for step in (1, 3, 7, len(STREAM)):
        assert list(frames(Trickle(STREAM, step))) == expected


def test_a_stream_cut_short_ends_without_an_error():
    assert list(frames(io.BytesIO(STREAM[:5]))) == []
    assert list(frames(io.BytesIO(frame(STDOUT, b"abcdef")[:-2]))) == [(STDOUT, b"abcd")]
    assert list(frames(io.BytesIO(b""))) == []


def test_collect_keeps_utf8_split_across_frames_and_streams_whole_lines():
    text = "café\nnaïve\nend"
    data = text.encode()
    cut = data.index("é".encode()) + 1  # inside the two bytes of é
    lines: list[str] = []
    assert collect([data[:cut], data[cut:]], lines.append) == text
    assert lines == ["café", "naïve", "end"]
    assert collect([b"\xff ok"], None) == "\ufffd ok"
