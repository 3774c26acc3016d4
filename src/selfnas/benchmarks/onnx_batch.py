"""Make an ONNX model's leading (batch) dimension symbolic, without the `onnx` package.

YAHPO Gym's NB301 surrogate declares its inputs and outputs as `[1, ...]`, so onnxruntime
refuses a batch. The model itself is a stack of per-row operations; only the declared
shapes pin the batch to 1. This rewrites, at the protobuf wire level, the first dimension
of every graph input, output and value-info shape from `dim_value: 1` to `dim_param: "N"`
(ModelProto.graph=7 -> GraphProto.input=11/output=12/value_info=13 -> ValueInfoProto.type=2
-> TypeProto.tensor_type=1 -> Tensor.shape=2 -> TensorShapeProto.dim=1). Callers check the
batched answers against one-row answers before trusting them.
"""

from __future__ import annotations

from selfnas.protowire import length_delimited


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(data: bytes) -> list[tuple[int, int, bytes]]:
    """(field number, wire type, raw bytes of the whole field incl. key) in order."""
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated field")
        out.append((field, wire, data[start:pos]))
    return out


def _payload(raw: bytes) -> bytes:
    _, pos = _varint(raw, 0)
    _, pos = _varint(raw, pos)
    return raw[pos:]


def _rewrite(data: bytes, path: tuple[tuple[int, ...], ...], leaf) -> bytes:
    """Rewrite the length-delimited fields along `path`; `leaf` maps the final payload."""
    if not path:
        return leaf(data)
    wanted, rest = path[0], path[1:]
    parts = []
    for field, wire, raw in _fields(data):
        if field in wanted and wire == 2:
            raw = length_delimited(field, _rewrite(_payload(raw), rest, leaf))
        parts.append(raw)
    return b"".join(parts)


def _symbolic_first_dim(shape: bytes, name: bytes = b"N") -> bytes:
    parts = []
    first = True
    for field, wire, raw in _fields(shape):
        if field == 1 and wire == 2 and first:
            first = False
            raw = length_delimited(1, length_delimited(2, name))  # Dimension { dim_param: "N" }
        parts.append(raw)
    return b"".join(parts)


def batchable(model: bytes) -> bytes:
    """The model with a symbolic batch dimension on every declared tensor shape."""
    path = ((7,), (11, 12, 13), (2,), (1,), (2,))
    return _rewrite(model, path, _symbolic_first_dim)
