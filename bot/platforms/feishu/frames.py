"""The long connection's wire format: lark-oapi's ``pbbp2.Frame`` (protobuf), by hand.

lark-oapi's pbbp2.proto (proto2), the whole framing of the long connection:
  message Header { required string key = 1; required string value = 2; }
  message Frame { required uint64 SeqID = 1; required uint64 LogID = 2;
    required int32 service = 3; required int32 method = 4; repeated Header headers = 5;
    optional string payload_encoding = 6; optional string payload_type = 7;
    optional bytes payload = 8; optional string LogIDNew = 9; }
Encoded by hand (varints, length-delimited fields), as protobuf does (fields in number
order, unknown ones kept and written last): two small messages are not worth protobuf
plus lark-oapi. tests/test_feishu_events.py checks the bytes against lark's pbbp2_pb2.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["CONTROL", "DATA", "Frame"]

CONTROL: Final = 0  # Frame.method
DATA: Final = 1

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_U64 = (1 << 64) - 1


@dataclass(frozen=True)
class Frame:
    """A ``pbbp2.Frame``. Optional fields are None when absent (proto2 presence)."""

    seq_id: int = 0
    log_id: int = 0
    service: int = 0
    method: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    payload_encoding: str | None = None
    payload_type: str | None = None
    payload: bytes | None = None
    log_id_new: str | None = None
    unknown: bytes = b""  # fields this schema does not know, as received

    def header(self, key: str) -> str | None:
        """The first header named `key` (lark's lookup), None if there is none."""
        return next((v for k, v in self.headers if k == key), None)

    def encode(self) -> bytes:
        if not 0 <= self.seq_id <= _U64 or not 0 <= self.log_id <= _U64:
            raise ValueError("SeqID and LogID are uint64")
        if not all(-(1 << 31) <= v < (1 << 31) for v in (self.service, self.method)):
            raise ValueError("service and method are int32")
        out = bytearray()
        for number, value in enumerate((self.seq_id, self.log_id), 1):
            out += _key(number, _VARINT) + _varint(value)
        for number, value in ((3, self.service), (4, self.method)):
            out += _key(number, _VARINT) + _varint(value & _U64)  # negative: 10 bytes
        for name, text in self.headers:
            out += _field(5, _field(1, name.encode()) + _field(2, text.encode()))
        for number, optional in ((6, self.payload_encoding), (7, self.payload_type)):
            if optional is not None:
                out += _field(number, optional.encode())
        if self.payload is not None:
            out += _field(8, self.payload)
        if self.log_id_new is not None:
            out += _field(9, self.log_id_new.encode())
        return bytes(out + self.unknown)

    @classmethod
    def decode(cls, data: bytes) -> Frame:
        """ValueError if `data` is not a frame."""
        values: dict[str, Any] = {}
        headers: list[tuple[str, str]] = []
        unknown = bytearray()
        for number, wire, value, raw in _fields(data):
            if number in (1, 2) and wire == _VARINT:
                values["seq_id" if number == 1 else "log_id"] = value & _U64
            elif number in (3, 4) and wire == _VARINT:
                signed = value & 0xFFFFFFFF  # int32: the low 32 bits, two's complement
                values["service" if number == 3 else "method"] = signed - (
                    (1 << 32) if signed >> 31 else 0
                )
            elif number == 5 and wire == _LEN:
                headers.append(_header(value))
            elif number in (6, 7, 9) and wire == _LEN:
                name = {6: "payload_encoding", 7: "payload_type", 9: "log_id_new"}[number]
                values[name] = value.decode("utf-8")
            elif number == 8 and wire == _LEN:
                values["payload"] = bytes(value)
            else:
                unknown += raw
        return cls(headers=tuple(headers), unknown=bytes(unknown), **values)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _field(number: int, value: bytes) -> bytes:
    return _key(number, _LEN) + _varint(len(value)) + value


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, Any, bytes]]:
    """(number, wire type, value, raw bytes) of each field: int for varints, bytes else."""
    pos = 0
    while pos < len(data):
        start = pos
        tag, pos = _read_varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("field number 0")
        value: int | bytes
        if wire == _VARINT:
            value, pos = _read_varint(data, pos)
        elif wire in (_I64, _I32):
            size = 8 if wire == _I64 else 4
            value, pos = data[pos : pos + size], pos + size
        elif wire == _LEN:
            size, pos = _read_varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported wire type {wire}")  # groups: not in this schema
        if pos > len(data):
            raise ValueError("truncated field")
        yield number, wire, value, data[start:pos]


def _header(data: bytes) -> tuple[str, str]:
    key = value = ""
    for number, wire, raw, _ in _fields(data):
        if number in (1, 2) and wire == _LEN:
            text = bytes(raw).decode("utf-8")
            key, value = (text, value) if number == 1 else (key, text)
    return key, value
