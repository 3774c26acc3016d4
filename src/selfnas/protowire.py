"""The protocol-buffer wire format that selfnas writes by hand (no `protobuf` dependency).

Both hand-written encoders need the same two pieces: the TensorBoard event writer
(`selfnas.tracking`) and the ONNX batch-dimension rewriter (`selfnas.benchmarks.onnx_batch`).
"""

from __future__ import annotations


def encode_varint(value: int) -> bytes:
    """Base-128 varint of `value`; a negative one as int64 two's complement, as protobuf does."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(number: int, payload: bytes) -> bytes:
    """Field `number` with wire type 2 (bytes, string or sub-message) holding `payload`."""
    return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload
